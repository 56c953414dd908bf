import { describe, expect, it } from 'vitest';
import { DIGEST_PAYLOAD_SCHEMA, type DigestPayload } from '#audit/render/digest-payload.js';
import {
  renderSlackDigest,
  renderSlackNotice,
  SLACK_HEADER_MAX,
  SLACK_MAX_BLOCKS,
  SLACK_SECTION_MAX,
  SLACK_TEXT_BUDGET,
  type SlackBlock,
} from '#audit/render/slack.js';

type Change = DigestPayload['findings'][number];

const change = (i: number, over: Partial<Change> = {}): Change => ({
  cluster: `111111111111/eu-west-1/cluster-${i}`,
  state: 'NEW',
  severity: 'HIGH',
  ruleId: 'XT-LOCK-CONTENTION',
  title: 'kube-proxy and aws-node wait for the xtables lock',
  evidence: `On ${i} of 20 nodes a writer queued behind the lock (kube-proxy/iptables-restor).`,
  fix: 'Move kube-proxy to nftables mode (Kubernetes 1.33+, VPC CNI v1.23.0+).',
  ...over,
});

const payload = (findings: Change[], over: Partial<DigestPayload> = {}): DigestPayload => ({
  schema: DIGEST_PAYLOAD_SCHEMA,
  runId: '20261207T020000-ab12cd34',
  digestId: '20261207T020000-ab12cd34',
  status: 'COMPLETE',
  startedAt: '2026-12-07T02:00:00.000Z',
  fleet: { clusters: 12, audited: 11, score: 64, nodesExpected: 240, nodesReached: 236 },
  changes: {
    new: findings.filter((f) => f.state === 'NEW').length,
    worsened: findings.filter((f) => f.state === 'WORSENED').length,
    resolved: findings.filter((f) => f.state === 'RESOLVED').length,
  },
  findings,
  omitted: 0,
  notes: [],
  ...over,
});

const texts = (blocks: SlackBlock[]) =>
  blocks.flatMap((b) =>
    b.type === 'header' || b.type === 'section'
      ? [b.text.text]
      : b.type === 'context'
        ? b.elements.map((e) => e.text)
        : [],
  );

describe('a digest in Slack Block Kit', () => {
  it('has a header, the fleet summary, one section a change with evidence and fix, and the run id', () => {
    // Act
    const message = renderSlackDigest(
      payload([change(1), change(2, { state: 'RESOLVED', severity: 'MEDIUM', fix: null })]),
    );

    // Assert
    expect(message.text).toBe('EKS fleet audit: 1 new, 1 resolved');
    expect(message.blocks.map((b) => b.type)).toEqual([
      'header',
      'section',
      'divider',
      'section',
      'section',
      'context',
    ]);
    const [header, summary, first, second, context] = texts(message.blocks);
    expect(header).toBe('EKS fleet audit: 1 new, 1 resolved');
    expect(summary).toBe('*Fleet score 64* · 11 clusters audited of 12 · 236/240 nodes read · run COMPLETE');
    expect(first).toContain('*NEW HIGH* `XT-LOCK-CONTENTION` on 111111111111/eu-west-1/cluster-1');
    expect(first).toContain('_Fix:_ Move kube-proxy to nftables mode');
    expect(second).not.toContain('Fix');
    expect(context).toContain('Run 20261207T020000-ab12cd34');
    expect(context).toContain('--table &lt;TableName&gt;');
  });

  it('stays within 50 blocks and its text budget, and says how many changes it left out', () => {
    // Arrange: 40 carried in the payload, 160 more left out of it
    const findings = Array.from({ length: 40 }, (_, i) => change(i, { evidence: 'x'.repeat(2000) }));

    // Act
    const message = renderSlackDigest(payload(findings, { omitted: 160 }));

    // Assert
    const sections = message.blocks.filter((b) => b.type === 'section');
    const shown = sections.filter((b) => b.text.text.includes('`XT-LOCK-CONTENTION`')).length;
    expect(message.blocks.length).toBeLessThanOrEqual(SLACK_MAX_BLOCKS);
    expect(texts(message.blocks).join('').length).toBeLessThanOrEqual(SLACK_TEXT_BUDGET + 300);
    expect(sections.every((b) => b.text.text.length <= SLACK_SECTION_MAX)).toBe(true);
    expect(shown).toBeGreaterThan(5);
    expect(texts(message.blocks)).toContain(`…and ${200 - shown} more changes: see the run's report.`);
  });

  it('shows at most 45 changes of short ones, in 50 blocks', () => {
    // Act
    const message = renderSlackDigest(
      payload(
        Array.from({ length: 40 }, (_, i) => change(i, { evidence: 'short' })),
        { omitted: 30 },
      ),
    );

    // Assert
    expect(message.blocks).toHaveLength(40 + 5);
    expect(texts(message.blocks)).toContain("…and 30 more changes: see the run's report.");
  });

  it('cuts a long header to 150 characters', () => {
    // Act
    const message = renderSlackNotice(`ALARM ${'x'.repeat(300)}`, 'body');

    // Assert
    const header = message.blocks[0];
    expect(header?.type === 'header' && header.text.text.length).toBe(SLACK_HEADER_MAX);
  });
});

describe('data in Slack mrkdwn', () => {
  it('leaves no link, mention or control character from a hostile cluster, evidence or fix in any block', () => {
    // Arrange
    const hostile = '<!here> <@U123> <https://x.example|y> \u001b]8;;https://x\u0007link\u001b]8;;\u0007';

    // Act
    const message = renderSlackDigest(
      payload([change(1, { cluster: hostile, evidence: hostile, fix: hostile, title: hostile })], {
        notes: [hostile],
      }),
    );

    // Assert: the only < > are the renderer's own escapes
    for (const text of texts(message.blocks)) {
      expect(text).not.toMatch(/[<>]/);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
      expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    }
  });
});

describe('a notice for what else the topic carries', () => {
  it('names a CloudWatch alarm by its state and name, with its reason', () => {
    // Act
    const message = renderSlackNotice(
      'ALARM: "RunFailed" in EU (Ireland)',
      JSON.stringify({
        AlarmName: 'FleetAuditorHub-RunFailed',
        NewStateValue: 'ALARM',
        NewStateReason: 'Threshold Crossed: 1 datapoint [1.0] was >= 1.0',
      }),
    );

    // Assert
    expect(texts(message.blocks)).toEqual([
      'ALARM: FleetAuditorHub-RunFailed',
      'Threshold Crossed: 1 datapoint [1.0] was &gt;= 1.0',
    ]);
  });

  it('shows any other message under its subject', () => {
    expect(texts(renderSlackNotice('Hello', 'plain <text>').blocks)).toEqual(['Hello', 'plain &lt;text&gt;']);
  });
});
