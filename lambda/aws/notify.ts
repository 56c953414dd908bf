import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { awsCall } from './errors.js';
import type { AlertMessage, AlertPublisher } from './ports.js';
import { sdkClientConfig } from './sdk-config.js';

/** SNS subjects must be shorter than 100 characters, on one line. */
export const SUBJECT_MAX = 99;

export interface SnsAlertPublisherOptions {
  topicArn: string;
  sns?: SNSClient;
}

/**
 * {@link AlertPublisher} over SNS. One message carries both audiences (`MessageStructure: 'json'`): email
 * subscriptions get the `email` part (plain text); every other protocol gets `default`, the AWS Chatbot custom
 * notification JSON, which Chatbot (an HTTPS subscription) and the Slack Lambda read. The message attributes let
 * subscriptions filter by severity, account or cluster.
 */
export class SnsAlertPublisher implements AlertPublisher {
  readonly #sns: SNSClient;
  readonly #topicArn: string;

  constructor(options: SnsAlertPublisherOptions) {
    this.#topicArn = options.topicArn;
    this.#sns = options.sns ?? new SNSClient(sdkClientConfig());
  }

  publish(message: AlertMessage): Promise<string> {
    const subject = snsSubject(message.subject);
    return awsCall('sns:Publish', `to ${this.#topicArn}`, async () => {
      const { MessageId: messageId } = await this.#sns.send(
        new PublishCommand({
          TopicArn: this.#topicArn,
          ...(subject !== '' && { Subject: subject }),
          MessageStructure: 'json',
          Message: JSON.stringify({ default: JSON.stringify(message.chatbot), email: message.text }),
          MessageAttributes: messageAttributes(message.attributes),
        }),
      );
      if (!messageId) throw new Error('Publish returned no MessageId');
      return messageId;
    });
  }
}

/** A subject SNS accepts: one line, no control characters, shorter than 100 characters. */
export function snsSubject(subject: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what SNS rejects
  const line = subject.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length <= SUBJECT_MAX ? line : `${line.slice(0, SUBJECT_MAX - 3).trimEnd()}...`;
}

/** String attributes for subscription filter policies; SNS rejects empty values, so empty ones are left out. */
function messageAttributes(attributes: AlertMessage['attributes']) {
  return Object.fromEntries(
    Object.entries(attributes)
      .filter(([, value]) => value !== '')
      .map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}
