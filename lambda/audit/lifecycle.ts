import type { Detection } from './assess.js';
import { missingSources, NOT_APPLICABLE, RULE_SOURCES, type SourceStates } from './evidence-sources.js';
import {
  type AuditStatus,
  type ClusterRef,
  type Finding,
  type NotEvaluated,
  type RuleId,
  type Severity,
  severityRank,
} from './model.js';
import { activeSuppression, endedSuppression, type Suppression } from './suppressions.js';

/** This run's verdict on a cluster, as the lifecycle needs it. */
export interface CurrentAudit {
  cluster: ClusterRef;
  status: AuditStatus;
  detections: ReadonlyArray<Detection>;
  notEvaluated: ReadonlyArray<NotEvaluated>;
  /** what each evidence source delivered this run */
  sources: SourceStates;
  /** why the cluster could not be audited at all (status FAILED), e.g. its account's ListClusters failed */
  auditError: string | null;
}

/**
 * Gives each finding its state against the previous run's findings (docs/rules.md, finding states):
 *
 * - fired now, not open before → NEW; open before → WORSENED when the severity rose, else ONGOING;
 * - open before, not fired now → RESOLVED only when this run could have seen it: the cluster was audited, the rule
 *   was evaluated (or its evidence shows it no longer applies, NOT_APPLICABLE), and every source the rule reads
 *   (RULE_SOURCES) was PRESENT. Otherwise UNKNOWN with the reason,
 *   carried with its last evidence. A cluster can be COMPLETE while its log query failed: the source decides,
 *   not the cluster;
 * - an active suppression turns a fired finding into SUPPRESSED (it stays listed, it is never alerted); a finding
 *   SUPPRESSED before that fires once its suppression has ended (or was removed) is NEW again, with the reason, so it
 *   is alerted: nobody was told of it while it was silenced.
 *
 * Every finding records the sources its rule reads (`sources`). `previous` is null when the cluster has no
 * earlier run. RESOLVED findings are not carried into the next run.
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
    const sources = [...RULE_SOURCES[detection.ruleId]];
    if (activeSuppression(current.cluster, detection.ruleId, suppressions, now)) {
      return { ...detection, state: 'SUPPRESSED', sources };
    }
    // Nobody was told of a suppressed finding while it was silenced: when its suppression ends it is news again.
    if (!before || before.state === 'SUPPRESSED') {
      const ended = before ? endedSuppression(current.cluster, detection.ruleId, suppressions, now) : undefined;
      return {
        ...detection,
        state: 'NEW',
        sources,
        ...(before && {
          stateReason: ended ? `its suppression ended: ${describeEnded(ended)}` : 'no longer suppressed',
        }),
      };
    }
    return { ...detection, state: rose(before.severity, detection.severity) ? 'WORSENED' : 'ONGOING', sources };
  });
  const firedNow = new Set(current.detections.map((d) => d.fingerprint));
  const notEvaluated = new Map(current.notEvaluated.map((n) => [n.ruleId, n.reason]));
  for (const before of open.values()) {
    if (firedNow.has(before.fingerprint)) continue;
    const { stateReason: _previousReason, ...carried } = before;
    const reason = unseenReason(current, before.ruleId, notEvaluated);
    const sources = [...RULE_SOURCES[before.ruleId]];
    // resolved while not evaluated: only for a NOT_APPLICABLE reason, which unseenReason lets through
    const inapplicable = notEvaluated.get(before.ruleId);
    findings.push(
      reason === null
        ? {
            ...carried,
            state: 'RESOLVED',
            sources,
            ...(inapplicable === undefined ? {} : { stateReason: `no longer applies: ${inapplicable}` }),
          }
        : { ...carried, state: 'UNKNOWN', sources, stateReason: reason },
    );
  }
  return findings;
}

/** Why this run cannot tell whether an open finding went away; null when it can (the finding is RESOLVED). */
function unseenReason(current: CurrentAudit, ruleId: RuleId, notEvaluated: ReadonlyMap<RuleId, string>): string | null {
  if (current.status === 'FAILED') {
    return `the cluster was not audited: ${current.auditError ?? 'no node report could be read'}`;
  }
  const skipped = notEvaluated.get(ruleId);
  if (skipped !== undefined && skipped !== NOT_APPLICABLE[ruleId]) return `the rule was not evaluated: ${skipped}`;
  const missing = missingSources(ruleId, current.sources);
  return missing.length > 0 ? missing.join('; ') : null;
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

function describeEnded(s: Suppression): string {
  return `${s.expiresAt.slice(0, 10)} (${s.owner}: ${s.reason})`;
}
