import type { Detection } from './assess.js';
import {
  type AuditStatus,
  type ClusterRef,
  type Finding,
  type NotEvaluated,
  type Severity,
  severityRank,
} from './model.js';
import { activeSuppression, type Suppression } from './suppressions.js';

/** This run's verdict on a cluster, as the lifecycle needs it. */
export interface CurrentAudit {
  cluster: ClusterRef;
  status: AuditStatus;
  detections: ReadonlyArray<Detection>;
  notEvaluated: ReadonlyArray<NotEvaluated>;
  /** instance ids expected but not read this run */
  uncoveredNodes: ReadonlyArray<string>;
}

/**
 * Gives each finding its state against the previous run's findings (ARCHITECTURE §7–8):
 *
 * - fired now, not open before → NEW; open before → WORSENED when the severity rose, else ONGOING;
 * - open before, not fired now → RESOLVED only when this run could have seen it: the cluster was audited, the rule
 *   was evaluated, and no node the finding named went unread; otherwise UNKNOWN, carried with its last evidence;
 * - an active suppression turns a fired finding into SUPPRESSED (it stays listed, it is never alerted).
 *
 * `previous` is null when the cluster has no earlier run. RESOLVED findings are not carried into the next run.
 */
export function applyLifecycle(
  current: CurrentAudit,
  previous: ReadonlyArray<Finding> | null,
  suppressions: ReadonlyArray<Suppression>,
  now: string,
): Finding[] {
  const open = new Map((previous ?? []).filter((f) => f.state !== 'RESOLVED').map((f) => [f.fingerprint, f]));
  const findings: Finding[] = current.detections.map((detection) => {
    const before = open.get(detection.fingerprint);
    const state = activeSuppression(current.cluster, detection.ruleId, suppressions, now)
      ? 'SUPPRESSED'
      : !before
        ? 'NEW'
        : rose(before.severity, detection.severity)
          ? 'WORSENED'
          : 'ONGOING';
    return { ...detection, state };
  });
  const firedNow = new Set(current.detections.map((d) => d.fingerprint));
  const notEvaluated = new Set(current.notEvaluated.map((n) => n.ruleId));
  const uncovered = new Set(current.uncoveredNodes);
  for (const before of open.values()) {
    if (firedNow.has(before.fingerprint)) continue;
    const unseen =
      current.status === 'FAILED' ||
      notEvaluated.has(before.ruleId) ||
      (uncovered.size > 0 &&
        (before.evidence.moreNodes > 0 || before.evidence.nodes.some((node) => uncovered.has(node))));
    findings.push({ ...before, state: unseen ? 'UNKNOWN' : 'RESOLVED' });
  }
  return findings;
}

function rose(before: Severity, now: Severity): boolean {
  return severityRank(now) > severityRank(before);
}

/** Findings worth an alert: NEW or WORSENED at or above `minSeverity`, and every RESOLVED one. */
export function alertable(findings: ReadonlyArray<Finding>, minSeverity: Severity): Finding[] {
  return findings.filter(
    (f) =>
      f.state === 'RESOLVED' ||
      ((f.state === 'NEW' || f.state === 'WORSENED') && severityRank(f.severity) >= severityRank(minSeverity)),
  );
}
