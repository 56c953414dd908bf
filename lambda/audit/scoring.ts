import {
  type AuditStatus,
  type ClusterResult,
  type FindingState,
  type NodeCoverage,
  type RuleId,
  SEVERITIES,
  type Severity,
  severityRank,
} from './model.js';

/**
 * Cluster health score, 0–100 (100 = healthy). Deterministic; the same text is in docs/rules.md.
 *
 * 1. Each finding costs points by severity (SEVERITY_COST). A rule counts once, at its worst severity: that is
 *    the cap per rule (at most 40 points, a CRITICAL).
 * 2. The worst finding caps the score (SEVERITY_CEILING): one HIGH finding alone means at most 70, whatever else.
 * 3. score = max(0, min(ceiling of the worst finding, 100 − sum of costs)).
 * 4. Findings in state RESOLVED, SUPPRESSED or UNKNOWN cost nothing: resolved and accepted risks are not
 *    health problems, and UNKNOWN (earlier finding, evidence missing now) is reported, not guessed. Rules that
 *    could not be evaluated cost nothing either; they are listed in `notEvaluated`.
 * 5. Coverage counts through AUDIT-COVERAGE like any rule: unseen nodes are not assumed healthy, so a PARTIAL
 *    audit scores at most 97 (LOW) or 90 (MEDIUM, ≥ 25 % of nodes uncovered).
 * 6. A cluster that could not be audited (AUDIT-FAILED) has score null, never a number.
 *
 * A worse signal never raises the score: it can only raise a finding's severity or add a finding, and both the
 * cost and the ceiling are monotonic in severity.
 */
export const SEVERITY_COST: Readonly<Record<Severity, number>> = {
  CRITICAL: 40,
  HIGH: 20,
  MEDIUM: 8,
  LOW: 3,
  INFO: 0,
};

/** The highest score a cluster can have while its worst finding has this severity. */
export const SEVERITY_CEILING: Readonly<Record<Severity, number>> = {
  CRITICAL: 40,
  HIGH: 70,
  MEDIUM: 90,
  LOW: 97,
  INFO: 100,
};

/** Finding states that cost nothing. */
export const FREE_STATES: ReadonlyArray<FindingState> = ['RESOLVED', 'SUPPRESSED', 'UNKNOWN'];

/** Whether a finding in this state costs nothing (a finding without a state costs). */
function isFree(state: FindingState | undefined): boolean {
  return state !== undefined && FREE_STATES.includes(state);
}

/** What scoring needs of a finding. Without `ruleId` every finding counts on its own. */
export interface ScoredFinding {
  severity: Severity;
  state?: FindingState;
  ruleId?: RuleId;
}

/** The findings that cost points, at most one per rule (its worst). */
function costedFindings(findings: ReadonlyArray<Severity | ScoredFinding>): Severity[] {
  const perRule = new Map<string, Severity>();
  const loose: Severity[] = [];
  for (const entry of findings) {
    const finding = typeof entry === 'string' ? { severity: entry } : entry;
    if (isFree(finding.state)) continue;
    if (!finding.ruleId) {
      loose.push(finding.severity);
      continue;
    }
    const seen = perRule.get(finding.ruleId);
    if (!seen || severityRank(finding.severity) > severityRank(seen)) perRule.set(finding.ruleId, finding.severity);
  }
  return [...perRule.values(), ...loose];
}

/** Cluster score (see above); null when the cluster could not be audited at all. */
export function scoreCluster(findings: ReadonlyArray<Severity | ScoredFinding>, audited: boolean): number | null {
  if (!audited) return null;
  const severities = costedFindings(findings);
  const cost = severities.reduce((sum, severity) => sum + SEVERITY_COST[severity], 0);
  const ceiling = Math.min(100, ...severities.map((s) => SEVERITY_CEILING[s]));
  return Math.max(0, Math.min(ceiling, 100 - cost));
}

/** A cluster as the fleet roll-up reads it (a ClusterResult fits). */
export type FleetMember = Pick<ClusterResult, 'account' | 'region' | 'name' | 'status' | 'score' | 'nodes'> & {
  findings: ReadonlyArray<ScoredFinding>;
};

export interface FleetScore {
  /** node-weighted mean of the audited clusters' scores, rounded down; null when no cluster was audited */
  score: number | null;
  /** the lowest-scoring audited cluster (ties: first by account/region/name) */
  worst: { account: string | null; region: string | null; name: string; score: number } | null;
  clusters: number;
  /** clusters with a score / with score null (AUDIT-FAILED) */
  audited: number;
  unaudited: number;
  byStatus: Record<AuditStatus, number>;
  /** findings that cost points (not RESOLVED/SUPPRESSED/UNKNOWN), by severity */
  findingsBySeverity: Record<Severity, number>;
  unknownFindings: number;
  suppressedFindings: number;
  nodes: NodeCoverage;
}

/**
 * Fleet roll-up. The fleet score weights each audited cluster's score by its expected node count (at least 1, so
 * an empty cluster still counts) and rounds down, so the fleet shows 100 only when every audited cluster does.
 * Unaudited clusters do not enter the mean; they are counted, and the fleet's findings include their AUDIT-FAILED.
 */
export function scoreFleet(clusters: ReadonlyArray<FleetMember>): FleetScore {
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const byStatus: Record<AuditStatus, number> = { COMPLETE: 0, PARTIAL: 0, FAILED: 0 };
  const nodes: NodeCoverage = { expected: 0, reached: 0, unreachable: 0, failed: 0 };
  let weighted = 0;
  let weights = 0;
  let unknownFindings = 0;
  let suppressedFindings = 0;
  let worst: FleetScore['worst'] = null;
  const key = (c: { account: string | null; region: string | null; name: string }) =>
    `${c.account ?? ''}/${c.region ?? ''}/${c.name}`;
  for (const cluster of clusters) {
    byStatus[cluster.status] += 1;
    nodes.expected += cluster.nodes.expected;
    nodes.reached += cluster.nodes.reached;
    nodes.unreachable += cluster.nodes.unreachable;
    nodes.failed += cluster.nodes.failed;
    for (const finding of cluster.findings) {
      if (finding.state === 'UNKNOWN') unknownFindings += 1;
      else if (finding.state === 'SUPPRESSED') suppressedFindings += 1;
      else if (!isFree(finding.state)) bySeverity[finding.severity] += 1;
    }
    if (cluster.score === null) continue;
    const weight = Math.max(1, cluster.nodes.expected);
    weighted += cluster.score * weight;
    weights += weight;
    if (worst === null || cluster.score < worst.score || (cluster.score === worst.score && key(cluster) < key(worst))) {
      worst = { account: cluster.account, region: cluster.region, name: cluster.name, score: cluster.score };
    }
  }
  const audited = clusters.filter((c) => c.score !== null).length;
  return {
    score: weights > 0 ? Math.floor(weighted / weights) : null,
    worst,
    clusters: clusters.length,
    audited,
    unaudited: clusters.length - audited,
    byStatus,
    findingsBySeverity: bySeverity,
    unknownFindings,
    suppressedFindings,
    nodes,
  };
}
