import { z } from 'zod';
import { topReasons, uncoveredReason } from './coverage.js';
import type { EvidenceSource, NodeObservation, RuleId } from './model.js';
import { readErrors } from './rules/audit-coverage.js';
import { plural } from './rules/facts.js';

/**
 * What each evidence source delivered in one run of one cluster, so the lifecycle can tell "the problem is gone"
 * from "we could not look" per source, not per cluster (a cluster whose log query failed is still COMPLETE).
 *
 * - PRESENT: every part of it was read;
 * - PARTIAL: some of it was read (some nodes unread, or reports listing read errors);
 * - FAILED: it was asked for and the call failed, or nothing of it could be read;
 * - MISSING: it does not exist (the log group is gone, no earlier complete run to compare with).
 */
export const SOURCE_STATES = ['PRESENT', 'PARTIAL', 'FAILED', 'MISSING'] as const;
export const SourceStateSchema = z.object({ state: z.enum(SOURCE_STATES), reason: z.string().nullable() });
export type SourceState = z.infer<typeof SourceStateSchema>;

export const SourceStatesSchema = z.object({
  nodes: SourceStateSchema,
  logs: SourceStateSchema,
  addons: SourceStateSchema,
  history: SourceStateSchema,
});
export type SourceStates = z.infer<typeof SourceStatesSchema>;

/**
 * The sources each rule reads, i.e. what must be present for "the rule did not fire" to mean "resolved". A rule
 * that reads a source only for its remediation text is not listed against it. test/unit/audit/evidence-sources.test.ts
 * checks every entry against the rules themselves: a source not listed here cannot change a rule's verdict, and
 * each listed one can.
 *
 * AUDIT-COVERAGE and AUDIT-FAILED need nothing beyond the cluster being audited: whenever nodes go unread,
 * AUDIT-COVERAGE fires itself, and AUDIT-FAILED cannot fire on a cluster with a node read.
 */
export const RULE_SOURCES: Readonly<Record<RuleId, ReadonlyArray<EvidenceSource>>> = {
  'KP-IPTABLES-SCALE': ['nodes'],
  'XT-LOCK-CONTENTION': ['nodes', 'logs'],
  'IPT-SLOW-SYNC': ['nodes', 'logs'],
  'KP-SYNC-FAILING': ['nodes', 'logs', 'history'],
  'CNI-RESTARTS': ['nodes', 'logs'],
  'CNI-API-DEPENDENCY': ['nodes'],
  'IPT-MIXED-BACKEND': ['nodes'],
  'ADDON-VERSION-RISK': ['nodes', 'addons'],
  'SCALE-GROWTH': ['nodes', 'history'],
  'AUDIT-COVERAGE': [],
  'AUDIT-FAILED': [],
};

const SOURCE_LABEL: Readonly<Record<EvidenceSource, string>> = {
  nodes: 'node reports',
  logs: 'the CloudWatch log query',
  addons: 'the EKS add-on data',
  history: 'the history of earlier runs',
};

const PRESENT: SourceState = { state: 'PRESENT', reason: null };

/**
 * The node-report source: PRESENT when every node the collector can run on was read and no report lists a read
 * error. Nodes on a platform it can never run on (`unsupported`: Windows, Bottlerocket) do not count: they are
 * equally unseen in every run, so they cannot make a finding look resolved.
 */
export function nodeSource(nodes: ReadonlyArray<NodeObservation>, unsupported: ReadonlySet<string>): SourceState {
  const considered = nodes.filter((n) => !unsupported.has(n.instanceId));
  const unread = considered.filter((n) => n.reach !== 'REACHED' || n.report === null);
  const reached = considered.length - unread.length;
  if (considered.length === 0) return { state: 'MISSING', reason: 'no node the collector can run on' };
  if (reached === 0) {
    return { state: 'FAILED', reason: `no node report was read (${topReasons(unread.map(uncoveredReason), 3)})` };
  }
  const incomplete = considered.flatMap((n) => (n.report ? readErrors(n.report) : []));
  const incompleteNodes = considered.filter((n) => n.report && readErrors(n.report).length > 0).length;
  const parts = [
    unread.length > 0
      ? `${unread.length} of ${plural(considered.length, 'node')} not read (${topReasons(unread.map(uncoveredReason), 3)})`
      : null,
    incompleteNodes > 0
      ? `${incompleteNodes} of ${plural(reached, 'report')} incomplete (${topReasons(incomplete, 3)})`
      : null,
  ].filter((p): p is string => p !== null);
  return parts.length === 0 ? PRESENT : { state: 'PARTIAL', reason: parts.join('; ') };
}

/** What the workflow learnt about the non-node sources while gathering evidence; null: the source was read. */
export interface SourceProblems {
  logs: SourceState | null;
  addons: SourceState | null;
  history: SourceState | null;
}

/** Every source's state for a cluster whose nodes were observed. */
export function sourceStates(
  nodes: ReadonlyArray<NodeObservation>,
  unsupported: ReadonlySet<string>,
  problems: SourceProblems,
): SourceStates {
  return {
    nodes: nodeSource(nodes, unsupported),
    logs: problems.logs ?? PRESENT,
    addons: problems.addons ?? PRESENT,
    history: problems.history ?? PRESENT,
  };
}

/** Every source FAILED for the same reason: a cluster that could not be audited at all. */
export function allSourcesFailed(reason: string): SourceStates {
  const failed: SourceState = { state: 'FAILED', reason };
  return { nodes: failed, logs: failed, addons: failed, history: failed };
}

/**
 * Whether a source in this state leaves a rule unable to tell "gone" from "not seen". History MISSING (no earlier
 * complete audit) does not: a comparison between runs does not exist yet, so it cannot be what hides a finding,
 * and a rule that cannot judge at all without earlier runs says so itself (SCALE-GROWTH is then not evaluated).
 * History that could not be read (FAILED) does block.
 */
function blocks(source: EvidenceSource, state: SourceState['state']): boolean {
  if (state === 'PRESENT') return false;
  return !(source === 'history' && state === 'MISSING');
}

/** The sources a rule needs that this run lacked, as one line each; empty when the rule could see everything. */
export function missingSources(ruleId: RuleId, states: SourceStates): string[] {
  return RULE_SOURCES[ruleId]
    .filter((source) => blocks(source, states[source].state))
    .map((source) => {
      const { state, reason } = states[source];
      return `${SOURCE_LABEL[source]} ${state.toLowerCase()}${reason ? `: ${reason}` : ''}`;
    });
}

/** XT-LOCK-CONTENTION's reason on clusters whose nodes all run iptables-nft. */
export const NO_XTABLES_LOCK = 'iptables-nft does not use the xtables lock';

/**
 * Not-evaluated reasons that mean the rule does not apply to the cluster any more, as its evidence shows (not that
 * evidence is missing): an open finding of that rule is RESOLVED, not UNKNOWN. A cluster whose nodes all moved to
 * iptables-nft (e.g. to Amazon Linux 2023) has no xtables lock to contend for.
 */
export const NOT_APPLICABLE: Readonly<Partial<Record<RuleId, string>>> = {
  'XT-LOCK-CONTENTION': NO_XTABLES_LOCK,
};
