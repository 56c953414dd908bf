import { NotFoundException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SNS_MESSAGE_MAX_BYTES, SnsAlertPublisher, snsMessage, snsPublishBytes, snsSubject } from '#aws/notify.js';
import type { AlertMessage } from '#aws/ports.js';

const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:eu-west-1:111111111111:fleet-audit-alerts';
const publisher = () => new SnsAlertPublisher({ topicArn: TOPIC, sns: new SNSClient({ region: 'eu-west-1' }) });

const MESSAGE: AlertMessage = {
  subject: 'fleet-audit: 2 new findings',
  text: 'checkout-prod: XT-LOCK-CONTENTION HIGH',
  chatbot: { version: '1.0', source: 'custom', content: { title: '2 new findings', description: 'checkout-prod' } },
  attributes: { severity: 'HIGH', account: '111111111111', cluster: 'checkout-prod' },
};

describe('SnsAlertPublisher', () => {
  beforeEach(() => {
    sns.reset();
  });

  it('publishes one json-structured message: Chatbot JSON by default, plain text for email, with filterable attributes', async () => {
    // Arrange
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });

    // Act
    const messageId = await publisher().publish(MESSAGE);

    // Assert
    expect(messageId).toBe('m-1');
    expect(sns).toHaveReceivedCommandExactlyOnceWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: 'fleet-audit: 2 new findings',
      MessageStructure: 'json',
      Message: JSON.stringify({
        default: JSON.stringify(MESSAGE.chatbot),
        email: 'checkout-prod: XT-LOCK-CONTENTION HIGH',
      }),
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'HIGH' },
        account: { DataType: 'String', StringValue: '111111111111' },
        cluster: { DataType: 'String', StringValue: 'checkout-prod' },
      },
    });
  });

  it('leaves out empty attributes, which SNS would reject', async () => {
    // Arrange
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });

    // Act
    await publisher().publish({ ...MESSAGE, attributes: { severity: 'HIGH', account: '', cluster: '' } });

    // Assert
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      MessageAttributes: { severity: { DataType: 'String', StringValue: 'HIGH' } },
    });
  });

  it('sends a digest part’s number and count as Number attributes, and counts what SNS counts of the message', async () => {
    // Arrange
    sns.on(PublishCommand).resolves({ MessageId: 'm-3' });
    const part: AlertMessage = {
      ...MESSAGE,
      attributes: { ...MESSAGE.attributes, digest: 'run-1', part: 2, parts: 3 },
    };

    // Act
    await publisher().publish(part);

    // Assert: the body, every attribute's name, type and value, and the subject, in UTF-8 bytes
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.MessageAttributes).toMatchObject({
      digest: { DataType: 'String', StringValue: 'run-1' },
      part: { DataType: 'Number', StringValue: '2' },
      parts: { DataType: 'Number', StringValue: '3' },
    });
    const attributes = Object.entries(input?.MessageAttributes ?? {}).reduce(
      (sum, [name, a]) => sum + Buffer.byteLength(name + (a.DataType ?? '') + (a.StringValue ?? '')),
      0,
    );
    expect(snsPublishBytes(part)).toBe(
      Buffer.byteLength(input?.Message ?? '') + attributes + Buffer.byteLength(input?.Subject ?? ''),
    );
  });

  it('says a missing topic is not found', async () => {
    // Arrange
    sns.on(PublishCommand).rejects(new NotFoundException({ message: 'Topic does not exist', $metadata: {} }));

    // Act
    const error = await publisher()
      .publish(MESSAGE)
      .catch((e: unknown) => e);

    // Assert
    expect(error).toMatchObject({ name: 'AwsCallError', code: 'NotFoundException', notFound: true });
  });
});

describe('snsSubject', () => {
  it('keeps a short subject as it is', () => {
    expect(snsSubject('fleet-audit: all clear')).toBe('fleet-audit: all clear');
  });

  it('joins lines and cuts a long subject to 99 characters', () => {
    // Act
    const subject = snsSubject(`first line\nsecond ${'x'.repeat(200)}`);

    // Assert
    expect(subject).toHaveLength(99);
    expect(subject.startsWith('first line second xxx')).toBe(true);
    expect(subject.endsWith('x...')).toBe(true);
  });
});

describe('snsMessage', () => {
  it('keeps a digest under SNS’s 256 KB by cutting the email text at a line and saying how much is left out', () => {
    // Arrange: 5,000 lines of 80 characters ≈ 400 KB, with a non-ASCII dash counted in bytes
    const lines = Array.from({ length: 5000 }, (_, i) => `cluster-${i} — NEW HIGH KP-IPTABLES-SCALE`.padEnd(80, '.'));

    // Act
    const body = snsMessage('{"version":"1.0"}', lines.join('\n'));
    const email = (JSON.parse(body) as { email: string }).email;

    // Assert
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(SNS_MESSAGE_MAX_BYTES);
    expect(Buffer.byteLength(body)).toBeGreaterThan(SNS_MESSAGE_MAX_BYTES - 200);
    const kept = email.split('\n').length - 1;
    expect(email.split('\n').at(-1)).toBe(`… ${5000 - kept} more lines: the whole run is in \`fleet-audit report\``);
    expect(email.split('\n').slice(0, kept)).toEqual(lines.slice(0, kept));
  });

  it('leaves a digest that fits as it is', () => {
    expect(snsMessage('{}', 'one line')).toBe(JSON.stringify({ default: '{}', email: 'one line' }));
  });
});
