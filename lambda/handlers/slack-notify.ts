import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { IncomingWebhook } from '@slack/webhook';
import type { SNSEvent } from 'aws-lambda';
import { DigestPartPayloadSchema, DigestPayloadSchema } from '#audit/render/digest-payload.js';
import { renderSlackDigest, renderSlackNotice, type SlackMessage } from '#audit/render/slack.js';
import { sdkClientConfig } from '#aws/sdk-config.js';
import { logger, metrics, SLACK_METRICS } from './observability.js';

/**
 * The Slack notifier, subscribed to the alerts topic: each digest (the message's `lambda` part, the digest as data)
 * becomes one Block Kit message on an incoming webhook; anything else on the topic (the stack's CloudWatch alarms)
 * a short notice. The webhook URL is a secret the user creates (its name in `cdk.json`), read from Secrets Manager
 * and kept for {@link SECRET_TTL_MS}.
 *
 * Posting uses @slack/webhook's IncomingWebhook, which retries 5xx and network errors (its retryConfig) but fails a
 * 429 at once without its Retry-After; so its fetch is wrapped to wait out a 429's Retry-After ("HTTP 429 Too Many
 * Requests ... a Retry-After HTTP header containing the number of seconds until you can retry",
 * https://docs.slack.dev/apis/web-api/rate-limits) a bounded number of times. A post that still fails is logged
 * and counted (SLACK_METRICS.postFailed, alarmed by the stack) and the invocation succeeds: Lambda does not retry
 * it, so a digest is never posted twice and a broken webhook is never retried forever.
 */

export const SECRET_TTL_MS = 5 * 60_000;
/** 429 answers waited out per post, and the longest one wait may be. */
export const RATE_LIMIT_RETRIES = 3;
export const RETRY_AFTER_MAX_SECONDS = 30;

export interface SlackNotifierDeps {
  /** the secret's name or ARN */
  secretId: string;
  secrets: Pick<SecretsManagerClient, 'send'>;
  fetch?: typeof globalThis.fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** IncomingWebhook's retries of 5xx and network errors */
  serverErrorRetries?: number;
  onFailure?: (reason: string) => void;
}

/** The webhook URL from the secret: the SecretString itself, or its `url` (or `webhookUrl`) field when it is JSON. */
export function webhookUrlOf(secret: string): string {
  let value = secret.trim();
  if (value.startsWith('{')) {
    const parsed = JSON.parse(value) as { url?: unknown; webhookUrl?: unknown };
    const url = parsed.url ?? parsed.webhookUrl;
    if (typeof url !== 'string') throw new Error('the secret is JSON without a "url" field');
    value = url.trim();
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('the secret is not a URL (expected https://hooks.slack.com/services/…)');
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new Error(`the webhook URL must use https, not ${url.protocol}`);
  }
  return url.href;
}

/** A fetch that waits out 429 answers (Retry-After seconds, bounded) before giving the answer to the client. */
export function rateLimitedFetch(
  inner: typeof globalThis.fetch,
  sleep: (ms: number) => Promise<void>,
): typeof globalThis.fetch {
  return async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      const response = await inner(input, init);
      if (response.status !== 429 || attempt >= RATE_LIMIT_RETRIES) return response;
      const seconds = Number(response.headers.get('retry-after'));
      const wait = Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, RETRY_AFTER_MAX_SECONDS) : 1;
      await response.body?.cancel();
      await sleep(wait * 1000);
    }
  };
}

export function createSlackNotifier(deps: SlackNotifierDeps) {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? Date.now;
  let cached: { url: string; until: number } | null = null;

  async function webhookUrl(): Promise<string> {
    if (cached && cached.until > now()) return cached.url;
    const out = await deps.secrets.send(new GetSecretValueCommand({ SecretId: deps.secretId }));
    if (typeof out.SecretString !== 'string') throw new Error(`secret ${deps.secretId} holds no SecretString`);
    cached = { url: webhookUrlOf(out.SecretString), until: now() + SECRET_TTL_MS };
    return cached.url;
  }

  async function post(message: SlackMessage): Promise<void> {
    const webhook = new IncomingWebhook(await webhookUrl(), {
      fetch: rateLimitedFetch(deps.fetch ?? globalThis.fetch, sleep),
      timeout: 10_000,
      retryConfig: { retries: deps.serverErrorRetries ?? 2, minTimeout: 500, factor: 2 },
    });
    await webhook.send({ text: message.text, blocks: message.blocks });
  }

  return async function handler(event: SNSEvent): Promise<{ posted: number; failed: number }> {
    let posted = 0;
    let failed = 0;
    for (const record of event.Records) {
      const { Message: body, Subject: subject, MessageId: messageId } = record.Sns;
      const message = messageFor(subject ?? null, body);
      if (message === null) continue;
      try {
        await post(message);
        posted += 1;
      } catch (error) {
        failed += 1;
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        logger.error('Slack post failed; not retried', { messageId, reason });
        deps.onFailure?.(reason);
      }
    }
    return { posted, failed };
  };
}

/**
 * A digest's blocks when the message is one (the `lambda` part), else a notice; null for parts 2..N of a digest
 * sent in parts: its first part carried the digest as data, and Slack gets one message per digest.
 */
function messageFor(subject: string | null, body: string): SlackMessage | null {
  let data: unknown = null;
  try {
    data = JSON.parse(body);
  } catch {
    // not JSON: a notice
  }
  if (DigestPartPayloadSchema.safeParse(data).success) return null;
  const digest = DigestPayloadSchema.safeParse(data);
  return digest.success ? renderSlackDigest(digest.data) : renderSlackNotice(subject, body);
}

/** The deployed function: the secret from SLACK_WEBHOOK_SECRET (set by lib/constructs/slack-notifier.ts). */
export const handler = createSlackNotifier({
  secretId: process.env.SLACK_WEBHOOK_SECRET ?? '',
  secrets: new SecretsManagerClient(sdkClientConfig()),
  onFailure: () => {
    metrics.addMetric(SLACK_METRICS.postFailed, 'Count', 1);
    metrics.publishStoredMetrics();
  },
});
