import { z } from 'zod';
import {
  type Finding,
  FindingStateSchema,
  RuleIdSchema,
  type RunResult,
  SeveritySchema,
  severityRank,
} from '../model.js';
import { scoreFleet } from '../scoring.js';
import type { DigestEntry, DigestNotes } from './digest.js';
import { truncate } from './escape.js';
import { clusterLabel } from './labels.js';

/**
 * The digest as data, for programs subscribed to the alerts topic (the Slack notifier): the SNS message's `lambda`
 * part. It carries the fleet summary and the most important changes, not all of them, so its size does not grow
 * with the fleet; the email part and the stored report carry the rest.
 */
export const DIGEST_PAYLOAD_SCHEMA = 'fleet-audit.digest/v1';

/** The changes a payload carries at most (Slack shows fewer: 50 blocks a message). */
export const DIGEST_PAYLOAD_FINDINGS = 40;

/**
 * The payload's JSON at most, in UTF-8 bytes: a quarter of an SNS message (256 KB with every protocol's part and
 * the attributes, https://docs.aws.amazon.com/sns/latest/api/API_Publish.html), however long the texts or wide
 * their characters, so the e-mail part of the digest's first message keeps most of the room.
 */
export const DIGEST_PAYLOAD_MAX_BYTES = 64 * 1024;

const TEXT_MAX = 600;

export const DigestPayloadSchema = z.object({
  schema: z.literal(DIGEST_PAYLOAD_SCHEMA),
  runId: z.string(),
  digestId: z.string(),
  status: z.string(),
  startedAt: z.string(),
  fleet: z.object({
    clusters: z.number().int(),
    audited: z.number().int(),
    score: z.number().nullable(),
    nodesExpected: z.number().int(),
    nodesReached: z.number().int(),
  }),
  changes: z.object({ new: z.number().int(), worsened: z.number().int(), resolved: z.number().int() }),
  /** the most important changes first: NEW and WORSENED by severity, then RESOLVED */
  findings: z.array(
    z.object({
      cluster: z.string(),
      state: FindingStateSchema,
      severity: SeveritySchema,
      ruleId: RuleIdSchema,
      title: z.string(),
      evidence: z.string(),
      fix: z.string().nullable(),
    }),
  ),
  /** changes left out of `findings` */
  omitted: z.number().int(),
  notes: z.array(z.string()),
  /** how many SNS messages the digest came in (this payload rides on the first; the others carry a part marker);
   * absent: one */
  parts: z.number().int().positive().optional(),
});
export type DigestPayload = z.infer<typeof DigestPayloadSchema>;

export const DIGEST_PART_SCHEMA = 'fleet-audit.digest-part/v1';

/**
 * The `lambda` part of a digest's messages 2..N: which part of which digest it is, no changes. The first message
 * carried the digest as data; a subscriber that posts one message per digest (the Slack notifier) skips these.
 */
export const DigestPartPayloadSchema = z.object({
  schema: z.literal(DIGEST_PART_SCHEMA),
  runId: z.string(),
  digestId: z.string(),
  part: z.number().int().min(2),
  parts: z.number().int().min(2),
});
export type DigestPartPayload = z.infer<typeof DigestPartPayloadSchema>;

export function digestPartPayload(runId: string, digestId: string, part: number, parts: number): DigestPartPayload {
  return { schema: DIGEST_PART_SCHEMA, runId, digestId, part, parts };
}

const cut = (text: string, max = TEXT_MAX) => truncate(text, max);

const importance = (f: Finding) => (f.state === 'RESOLVED' ? 0 : 10) + severityRank(f.severity);

/** The payload of one digest: `entries` are the changes it carries, `delivery` its notes on earlier digests. */
export function digestPayload(
  run: RunResult,
  entries: ReadonlyArray<DigestEntry>,
  notes: DigestNotes,
  delivery: ReadonlyArray<string>,
): DigestPayload {
  const changes = entries
    .flatMap(({ cluster, findings }) => findings.map((finding) => ({ label: clusterLabel(cluster), finding })))
    .sort((a, b) => importance(b.finding) - importance(a.finding));
  const count = (state: Finding['state']) => changes.filter((c) => c.finding.state === state).length;
  const fleet = scoreFleet(run.clusters);
  const shown = changes.slice(0, DIGEST_PAYLOAD_FINDINGS);
  const payload: DigestPayload = {
    schema: DIGEST_PAYLOAD_SCHEMA,
    runId: run.runId,
    digestId: notes.digestId,
    status: run.status,
    startedAt: run.startedAt,
    fleet: {
      clusters: fleet.clusters,
      audited: fleet.audited,
      score: fleet.score,
      nodesExpected: fleet.nodes.expected,
      nodesReached: fleet.nodes.reached,
    },
    changes: { new: count('NEW'), worsened: count('WORSENED'), resolved: count('RESOLVED') },
    findings: shown.map(({ label, finding }) => ({
      cluster: label,
      state: finding.state,
      severity: finding.severity,
      ruleId: finding.ruleId,
      title: cut(finding.title, 200),
      evidence: cut(finding.evidence.summary),
      fix: finding.state === 'RESOLVED' ? null : cut(finding.remediation.summary),
    })),
    omitted: changes.length - shown.length,
    notes: [...delivery],
    parts: 1,
  };
  // wide characters in long texts: fewer changes rather than a payload that crowds out the e-mail part
  while (payload.findings.length > 0 && Buffer.byteLength(JSON.stringify(payload)) > DIGEST_PAYLOAD_MAX_BYTES) {
    payload.findings.pop();
    payload.omitted += 1;
  }
  return payload;
}
