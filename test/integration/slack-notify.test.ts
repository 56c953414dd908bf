import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DigestPayloadSchema, digestPartPayload } from '#audit/render/digest-payload.js';
import type { SlackBlock } from '#audit/render/slack.js';
import { createSlackNotifier, RATE_LIMIT_RETRIES, SECRET_TTL_MS } from '#handlers/slack-notify.js';
import { openLocalFleet } from '#sim/local-fleet.js';
import { runAudit } from '#workflow/audit-run.js';

/**
 * The Slack notifier against a real incoming-webhook stand-in on loopback (node:http), with the digest the real
 * local run published to the simulator's SNS topic. Secrets Manager is mocked at the SDK client
 * (aws-sdk-client-mock): the simulator does not serve it yet.
 */

interface Received {
  body: { text?: string; blocks?: SlackBlock[] };
  status: number;
}

/** The webhook stand-in: answers each POST with the next planned status (then 200), recording what it got. */
class Webhook {
  readonly received: Received[] = [];
  plan: Array<{ status: number; retryAfter?: string }> = [];
  #server: Server;
  url = '';

  constructor() {
    this.#server = createServer((request: IncomingMessage, response: ServerResponse) => {
      let text = '';
      request.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      request.on('end', () => {
        const next = this.plan.shift() ?? { status: 200 };
        this.received.push({ body: JSON.parse(text), status: next.status });
        response.writeHead(next.status, {
          'content-type': 'text/plain',
          ...(next.retryAfter !== undefined && { 'retry-after': next.retryAfter }),
        });
        response.end(next.status === 200 ? 'ok' : next.status === 429 ? 'rate_limited' : 'internal_error');
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/services/T000/B000/XXXX`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const snsEvent = (message: string, subject: string | null = null): SNSEvent =>
  ({
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: 'arn:aws:sns:eu-west-1:111111111111:alerts:sub',
        Sns: { MessageId: 'm-1', Message: message, Subject: subject, Type: 'Notification' },
      },
    ],
  }) as unknown as SNSEvent;

describe('the Slack notifier', () => {
  /** Part `part` of `parts` of the night's digest, as its `lambda` part */
  const partMessage = (part: number, parts: number) => {
    const payload = DigestPayloadSchema.parse(JSON.parse(digest));
    return JSON.stringify(
      part === 1 ? { ...payload, parts } : digestPartPayload(payload.runId, payload.digestId, part, parts),
    );
  };
  const webhook = new Webhook();
  const secrets = mockClient(SecretsManagerClient);
  let digest: string;
  let waits: number[];
  let failures: string[];
  let clock: number;

  const notifier = () =>
    createSlackNotifier({
      secretId: 'fleet-audit/slack-webhook',
      secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
      sleep: async (ms) => {
        waits.push(ms);
      },
      now: () => clock,
      serverErrorRetries: 2,
      onFailure: (reason) => failures.push(reason),
    });

  beforeAll(async () => {
    await webhook.start();
    // the night's digest as the real run publishes it: the `lambda` part is what a Lambda subscriber gets
    const stateDir = await mkdtemp(join(tmpdir(), 'fa-slack-'));
    const fleet = await openLocalFleet({ scenario: 'default', stateDir, fresh: true, clusters: [] });
    try {
      await runAudit(fleet.deps, { pollIntervalMs: fleet.pollIntervalMs });
      const part = fleet.simulator.outbox[0]?.parts?.lambda;
      if (!part) throw new Error('the run published no digest with a lambda part');
      digest = part;
    } finally {
      await fleet.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 120_000);
  afterAll(async () => {
    secrets.restore();
    await webhook.close();
  });
  beforeEach(() => {
    webhook.received.length = 0;
    webhook.plan = [];
    waits = [];
    failures = [];
    clock = 0;
    secrets.reset();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: webhook.url });
  });

  it('posts the night’s digest as one Block Kit message within Slack’s limits', async () => {
    // Act
    const outcome = await notifier()(snsEvent(digest));

    // Assert
    const payload = DigestPayloadSchema.parse(JSON.parse(digest));
    expect(outcome).toEqual({ posted: 1, failed: 0 });
    expect(webhook.received).toHaveLength(1);
    const blocks = webhook.received[0]?.body.blocks ?? [];
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: expect.stringMatching(/new/) } });
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(payload.findings.length).toBeGreaterThan(0);
    const first = payload.findings[0];
    expect(JSON.stringify(blocks)).toContain(`\`${first?.ruleId}\` on ${first?.cluster}`);
    expect(blocks.at(-1)).toMatchObject({ type: 'context' });
    expect(JSON.stringify(blocks.at(-1))).toContain(payload.runId);
  });

  it('posts a digest sent in parts once: parts 2..N, which carry only their part number, post nothing', async () => {
    // Arrange: the night's digest as part 1 of 3, and the lambda parts of parts 2 and 3
    const parts = { Records: [1, 2, 3].flatMap((part) => snsEvent(partMessage(part, 3)).Records) } as SNSEvent;

    // Act
    const outcome = await notifier()(parts);

    // Assert
    expect(outcome).toEqual({ posted: 1, failed: 0 });
    expect(webhook.received).toHaveLength(1);
    expect(webhook.received[0]?.body.blocks?.[0]).toMatchObject({ type: 'header' });
  });

  it('waits out 429s for their Retry-After and posts once', async () => {
    // Arrange
    webhook.plan = [
      { status: 429, retryAfter: '2' },
      { status: 429, retryAfter: '1' },
    ];

    // Act
    const outcome = await notifier()(snsEvent(digest));

    // Assert
    expect(outcome).toEqual({ posted: 1, failed: 0 });
    expect(webhook.received.map((r) => r.status)).toEqual([429, 429, 200]);
    expect(waits).toEqual([2000, 1000]);
  });

  it('gives up on a webhook that keeps answering 429, counts the failure, and does not throw', async () => {
    // Arrange
    webhook.plan = Array.from({ length: 10 }, () => ({ status: 429, retryAfter: '120' }));

    // Act
    const outcome = await notifier()(snsEvent(digest));

    // Assert: each wait capped at 30 s, and a bounded number of them
    expect(outcome).toEqual({ posted: 0, failed: 1 });
    expect(webhook.received).toHaveLength(RATE_LIMIT_RETRIES + 1);
    expect(waits).toEqual(Array.from({ length: RATE_LIMIT_RETRIES }, () => 30_000));
    expect(failures).toEqual([expect.stringMatching(/429/)]);
  });

  it('retries a 500 twice, then counts the failure', async () => {
    // Arrange
    webhook.plan = Array.from({ length: 5 }, () => ({ status: 500 }));

    // Act
    const outcome = await notifier()(snsEvent(digest));

    // Assert
    expect(outcome).toEqual({ posted: 0, failed: 1 });
    expect(webhook.received.map((r) => r.status)).toEqual([500, 500, 500]);
    expect(failures).toEqual([expect.stringMatching(/500/)]);
  });

  it('reads the secret once while it is fresh, and again after five minutes', async () => {
    // Arrange
    const handler = notifier();

    // Act
    await handler(snsEvent(digest));
    clock = SECRET_TTL_MS - 1;
    await handler(snsEvent(digest));
    clock = SECRET_TTL_MS + 1;
    await handler(snsEvent(digest));

    // Assert
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(webhook.received).toHaveLength(3);
  });

  it('refuses a webhook URL that is not https, posting nothing', async () => {
    // Arrange
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'http://hooks.example.com/services/x' });

    // Act
    const outcome = await notifier()(snsEvent(digest));

    // Assert
    expect(outcome).toEqual({ posted: 0, failed: 1 });
    expect(failures).toEqual(['Error: the webhook URL must use https, not http:']);
    expect(webhook.received).toHaveLength(0);
  });

  it('takes the URL from a JSON secret, and posts a CloudWatch alarm as a notice', async () => {
    // Arrange
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ url: webhook.url }) });
    const alarm = JSON.stringify({
      AlarmName: 'FleetAuditorHub-NoSuccessfulRun',
      NewStateValue: 'ALARM',
      NewStateReason: 'no successful run for 36 hours',
    });

    // Act
    const outcome = await notifier()(snsEvent(alarm, 'ALARM: "NoSuccessfulRun"'));

    // Assert
    expect(outcome).toEqual({ posted: 1, failed: 0 });
    expect(webhook.received[0]?.body.text).toBe('ALARM: FleetAuditorHub-NoSuccessfulRun');
  });
});
