import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { awsCall } from './errors.js';
import type { AlertMessage, AlertPublisher } from './ports.js';
import { sdkClientConfig } from './sdk-config.js';

/** SNS subjects must be shorter than 100 characters, on one line. */
export const SUBJECT_MAX = 99;

/**
 * SNS Publish: "Messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not 262,144
 * characters)" (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). The digest's email text grows with
 * the findings of a run, so it is cut to fit; the Chatbot part is capped by its renderer.
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
            SNS_MESSAGE_MAX_BYTES,
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

/** String attributes for subscription filter policies; SNS rejects empty values, so empty ones are left out. */
function messageAttributes(attributes: AlertMessage['attributes']) {
  return Object.fromEntries(
    Object.entries(attributes)
      .filter(([, value]) => value !== '')
      .map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}
