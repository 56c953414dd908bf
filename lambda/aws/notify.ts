import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { awsCall } from './errors.js';
import type { AlertMessage, AlertPublisher } from './ports.js';
import { sdkClientConfig } from './sdk-config.js';

/** SNS subjects must be shorter than 100 characters, on one line. */
export const SUBJECT_MAX = 99;

/**
 * SNS Publish: "Messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not 262,144
 * characters)", and with `MessageStructure: 'json'` every protocol's value shares it ("Values have a maximum length
 * bounded by the overall message size (so, including multiple protocols may limit message sizes)",
 * https://docs.aws.amazon.com/sns/latest/api/API_Publish.html); message attributes count too ("All parts of the
 * message attribute, including name, type, and value, are included in the message size restriction, which is
 * currently 256 KB (262,144 bytes)", https://docs.aws.amazon.com/sns/latest/api/API_MessageAttributeValue.html).
 * The digest is split into messages that fit ({@link snsPublishBytes}); a message that still does not fit has its
 * email text cut at a line.
 */
export const SNS_MESSAGE_MAX_BYTES = 262_144;

export interface SnsAlertPublisherOptions {
  topicArn: string;
  sns?: SNSClient;
}

/**
 * {@link AlertPublisher} over SNS. One message carries every audience (`MessageStructure: 'json'`: "a separate
 * message for each protocol", keys such as `email` and `lambda`, `default` for the others; API_Publish): email
 * subscriptions get the `email` part (plain text), Lambda subscriptions (the Slack notifier) the `lambda` part (the
 * digest as data), and every other protocol `default`, the AWS Chatbot custom notification JSON that Chatbot (an
 * HTTPS subscription) reads. The message attributes let subscriptions filter by severity, account or cluster.
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
          Message: snsMessage(
            JSON.stringify(message.chatbot),
            message.text,
            SNS_MESSAGE_MAX_BYTES - envelopeBytes(message),
            message.payload && JSON.stringify(message.payload),
          ),
          MessageAttributes: messageAttributes(message.attributes),
        }),
      );
      if (!messageId) throw new Error('Publish returned no MessageId');
      return messageId;
    });
  }
}

/**
 * The MessageStructure json body, at most {@link SNS_MESSAGE_MAX_BYTES}: an email text that would not fit keeps
 * its first lines and says how many were left out and where the whole run is.
 */
export function snsMessage(chatbot: string, text: string, maxBytes = SNS_MESSAGE_MAX_BYTES, lambda?: string): string {
  const body = (email: string) => JSON.stringify({ default: chatbot, email, ...(lambda !== undefined && { lambda }) });
  const whole = body(text);
  if (Buffer.byteLength(whole) <= maxBytes) return whole;
  const lines = text.split('\n');
  const note = (left: number) => `\n… ${left} more lines: the whole run is in \`fleet-audit report\``;
  // each line costs its JSON-escaped bytes plus the newline's two ("\n")
  let budget = maxBytes - Buffer.byteLength(body(note(lines.length)));
  let kept = 0;
  for (const line of lines) {
    const cost = Buffer.byteLength(JSON.stringify(line)) - 2 + 2;
    if (cost > budget) break;
    budget -= cost;
    kept++;
  }
  return body(lines.slice(0, kept).join('\n') + note(lines.length - kept));
}

/** A subject SNS accepts: one line, no control characters, shorter than 100 characters. */
export function snsSubject(subject: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what SNS rejects
  const line = subject.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length <= SUBJECT_MAX ? line : `${line.slice(0, SUBJECT_MAX - 3).trimEnd()}...`;
}

/**
 * What SNS counts of a message against {@link SNS_MESSAGE_MAX_BYTES}, in UTF-8 bytes: the MessageStructure json
 * body with every part, and each attribute's name, type and value. The subject is counted too, though the
 * documentation does not say it is, so that a message this accepts is never refused for it.
 */
export function snsPublishBytes(message: AlertMessage): number {
  const body = snsMessage(
    JSON.stringify(message.chatbot),
    message.text,
    Number.POSITIVE_INFINITY,
    message.payload && JSON.stringify(message.payload),
  );
  return Buffer.byteLength(body) + envelopeBytes(message);
}

/** The attributes' and the subject's bytes: what a message costs besides its body. */
function envelopeBytes(message: AlertMessage): number {
  const attributes = Object.entries(messageAttributes(message.attributes)).reduce(
    (sum, [name, value]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(value.DataType) + Buffer.byteLength(value.StringValue),
    0,
  );
  return attributes + Buffer.byteLength(snsSubject(message.subject));
}

/**
 * Attributes for subscription filter policies (a digest's part numbers as Number, the rest String); SNS rejects
 * empty values, so empty ones are left out.
 */
function messageAttributes(attributes: AlertMessage['attributes']) {
  return Object.fromEntries(
    Object.entries(attributes)
      .filter(([, value]) => value !== '' && value !== undefined)
      .map(([name, value]) => [
        name,
        { DataType: typeof value === 'number' ? 'Number' : 'String', StringValue: String(value) },
      ]),
  );
}
