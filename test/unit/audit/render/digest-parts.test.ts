import { describe, expect, it } from 'vitest';
import { type ClusterResult, type Finding, RULE_IDS, type RunResult, SEVERITIES, severityRank } from '#audit/model.js';
import { type AlertMessage, type DigestChange, renderDigestParts } from '#audit/render/digest.js';
import {
  DIGEST_PAYLOAD_FINDINGS,
  DIGEST_PAYLOAD_MAX_BYTES,
  DigestPartPayloadSchema,
  DigestPayloadSchema,
} from '#audit/render/digest-payload.js';
import { SNS_MESSAGE_MAX_BYTES, snsPublishBytes } from '#aws/notify.js';
import { finding } from './run-fixture.js';

const RUN_ID = '20261201T020000-0a1b2c3d';
/** 200 clusters × 10 rules: a first night of 2,000 NEW findings, severities mixed, evidence of a realistic length */
const CLUSTERS = 200;
const RULES = RULE_IDS.filter((id) => id !== 'AUDIT-FAILED');

function night(): { run: RunResult; changes: DigestChange[] } {
  const clusters: ClusterResult[] = [];
  const changes: DigestChange[] = [];
  for (let c = 0; c < CLUSTERS; c++) {
    const place = { account: String(100000000000 + (c % 7)), region: 'eu-west-1', name: `cluster-${c}` };
    const findings: Finding[] = RULES.map((ruleId, r) =>
      finding(place, ruleId, {
        severity: SEVERITIES[(c + r) % SEVERITIES.length] ?? 'INFO',
        evidence: {
          summary: `${ruleId} on ${place.name}: ${'kube-proxy waited for the xtables lock; '.repeat(6)}`,
          values: {},
          nodes: [],
          moreNodes: 0,
        },
        remediation: {
          summary: `Set CLUSTER_ENDPOINT on aws-node and move kube-proxy to nftables mode. ${'x'.repeat(200)}`,
          configurationValues: null,
          command: null,
          links: [],
        },
      }),
    );
    const cluster: ClusterResult = {
      ...place,
      status: 'COMPLETE',
      score: 40,
      nodes: { expected: 20, reached: 20, unreachable: 0, failed: 0 },
      findings,
      notEvaluated: [],
    };
    clusters.push(cluster);
    for (const f of findings) changes.push({ id: `${RUN_ID}/${f.fingerprint}`, cluster, finding: f });
  }
  const run: RunResult = {
    runId: RUN_ID,
    status: 'COMPLETE',
    startedAt: '2026-12-01T02:00:00.000Z',
    finishedAt: '2026-12-01T02:09:00.000Z',
    clusters,
  };
  return { run, changes };
}

const fits = (message: AlertMessage) => snsPublishBytes(message) <= SNS_MESSAGE_MAX_BYTES;
const notes = { digestId: RUN_ID, earlierChanges: 0, droppedChanges: 0, repeatedPart: null };

/** The changes an e-mail part lists, as `cluster/RULE STATE SEVERITY`, in the order it lists them. */
function changesIn(text: string): string[] {
  const listed: string[] = [];
  let cluster = '';
  for (const line of text.split('\n')) {
    const header = /^(\S+\/\S+\/\S+) — score /.exec(line);
    if (header?.[1]) cluster = header[1];
    const change = /^ {2}(NEW|WORSENED|RESOLVED) (\S+) (\S+):/.exec(line);
    if (change) listed.push(`${cluster}/${change[3]} ${change[1]} ${change[2]}`);
  }
  return listed;
}

describe('a digest split into parts', () => {
  it('carries a 2,000-change night in parts that each fit SNS, every change once, most severe first', () => {
    // Arrange
    const { run, changes } = night();

    // Act
    const { messages, boundaries } = renderDigestParts(run, changes, notes, { fits });

    // Assert: several parts, each within SNS's size (all parts and attributes) and subject limits
    const total = messages.length;
    expect(total).toBeGreaterThan(2);
    expect(boundaries).toHaveLength(total);
    for (const [i, message] of messages.entries()) {
      expect(snsPublishBytes(message)).toBeLessThanOrEqual(SNS_MESSAGE_MAX_BYTES);
      expect(message.subject.length).toBeLessThan(100);
      expect(message.subject).toBe(`EKS fleet audit: 2000 new (200 clusters) (part ${i + 1} of ${total})`);
      expect(message.attributes).toMatchObject({ digest: RUN_ID, part: i + 1, parts: total });
      const content = message.chatbot.content as { description: string };
      expect(content.description.length).toBeLessThanOrEqual(3500);
      expect(message.chatbot.metadata).toEqual({ threadId: `fleet-audit-${RUN_ID}`, summary: message.subject });
      expect(message.text.split('\n')[0]).toBe(
        `Run ${RUN_ID} (COMPLETE), 200 clusters audited. Digest ${RUN_ID}, part ${i + 1} of ${total}.`,
      );
    }
    // every change exactly once, in order of severity across the parts
    const listed = messages.flatMap((m) => changesIn(m.text));
    expect(listed).toHaveLength(2000);
    expect(new Set(listed.map((l) => l.split(' ')[0])).size).toBe(2000);
    const ranks = listed.map((l) => severityRank((l.split(' ')[2] ?? 'INFO') as Finding['severity']));
    for (const [i, message] of messages.entries()) {
      const own = changesIn(message.text).map((l) => severityRank(l.split(' ')[2] as Finding['severity']));
      const next = messages[i + 1] ? changesIn(messages[i + 1]?.text ?? '') : [];
      if (next.length > 0) {
        expect(Math.min(...own)).toBeGreaterThanOrEqual(severityRank(next[0]?.split(' ')[2] as Finding['severity']));
      }
    }
    expect(ranks[0]).toBe(severityRank('CRITICAL'));
    // part 1 opens with the fleet summary; the last part points at the whole report
    expect(messages[0]?.text.split('\n').slice(1, 3)).toEqual([
      'Fleet score 40 (200 of 200 clusters audited), 4000/4000 nodes read.',
      'Changes: 2000 new (new or worse: 400 CRITICAL, 400 HIGH, 400 MEDIUM, 400 LOW, 400 INFO).',
    ]);
    expect(messages.at(-1)?.text.split('\n').at(-1)).toBe(
      `The whole run, every finding with its evidence and remediation: fleet-audit report --run ${RUN_ID} --table <TableName> --format html`,
    );
    expect(messages[0]?.attributes.severity).toBe('CRITICAL');
  });

  it('gives the digest as data to part 1 only, bounded, and a part marker to the others', () => {
    // Arrange
    const { run, changes } = night();

    // Act
    const { messages } = renderDigestParts(run, changes, notes, { fits });

    // Assert
    const first = DigestPayloadSchema.parse(messages[0]?.payload);
    expect(first.parts).toBe(messages.length);
    expect(first.changes).toEqual({ new: 2000, worsened: 0, resolved: 0 });
    expect(first.findings).toHaveLength(DIGEST_PAYLOAD_FINDINGS);
    expect(first.findings.every((f) => f.severity === 'CRITICAL')).toBe(true);
    expect(first.omitted).toBe(2000 - DIGEST_PAYLOAD_FINDINGS);
    expect(Buffer.byteLength(JSON.stringify(first))).toBeLessThanOrEqual(DIGEST_PAYLOAD_MAX_BYTES);
    for (const [i, message] of messages.slice(1).entries()) {
      expect(DigestPartPayloadSchema.parse(message.payload)).toEqual({
        schema: 'fleet-audit.digest-part/v1',
        runId: RUN_ID,
        digestId: RUN_ID,
        part: i + 2,
        parts: messages.length,
      });
    }
  });

  it('sends the same parts again from the recorded boundaries, marking only the part that may be a repeat', () => {
    // Arrange
    const { run, changes } = night();
    const first = renderDigestParts(run, changes, notes, { fits });

    // Act: a retried step; one change of part 2 is gone meanwhile
    const gone = changesIn(first.messages[1]?.text ?? '')[0]?.split(' ')[0];
    const left = changes.filter(
      (c) => `${c.cluster.account}/${c.cluster.region}/${c.cluster.name}/${c.finding.ruleId}` !== gone,
    );
    const again = renderDigestParts(run, left, { ...notes, repeatedPart: 2 }, { fits, boundaries: first.boundaries });

    // Assert
    expect(again.boundaries).toEqual(first.boundaries);
    // the same changes in each part (a cluster whose first change is gone may be listed later within its part)
    expect(again.messages.map((m) => changesIn(m.text).sort())).toEqual(
      first.messages.map((m) =>
        changesIn(m.text)
          .filter((l) => l.split(' ')[0] !== gone)
          .sort(),
      ),
    );
    const repeated = again.messages.map((m) => m.text.includes('may have been delivered before'));
    expect(repeated).toEqual(again.messages.map((_, i) => i === 2));
    for (const message of again.messages) expect(fits(message)).toBe(true);
  });

  it('keeps a digest that fits in one message as one message, as before parts', () => {
    // Arrange
    const { run, changes } = night();

    // Act
    const { messages } = renderDigestParts(run, changes.slice(0, 30), notes, { fits });

    // Assert
    expect(messages).toHaveLength(1);
    expect(messages[0]?.subject).toBe('EKS fleet audit: 30 new (3 clusters)');
    expect(messages[0]?.text.split('\n')[0]).toBe(`Run ${RUN_ID} (COMPLETE), 200 clusters audited. Digest ${RUN_ID}.`);
    expect(DigestPayloadSchema.parse(messages[0]?.payload).parts).toBe(1);
  });
});
