import { type AuditStatus, FINDING_STATES, type FindingState, type Severity } from '#audit/model.js';
import { scoreFleet } from '#audit/scoring.js';
import type { ReportOutput } from '#workflow/report.js';

/** What the report function returns to the state machine: counts, not the whole run result. */
export interface RunSummary {
  runId: string;
  status: AuditStatus;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  clusters: number;
  clustersByStatus: Record<AuditStatus, number>;
  findingsByState: Record<FindingState, number>;
  /** findings still open (NEW, ONGOING, WORSENED), by severity */
  openFindingsBySeverity: Record<Severity, number>;
  alertMessageId: string | null;
  alertProblem: string | null;
  /** with securityHubImport: findings imported into Security Hub, and those that were not */
  securityHub?: { imported: number; notImported: number };
}

const zeroes = <K extends string>(keys: ReadonlyArray<K>) =>
  Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;

/** Counts a run's clusters and findings. */
export function summarizeRun(output: ReportOutput): RunSummary {
  const { result } = output;
  // open = not RESOLVED/SUPPRESSED/UNKNOWN: exactly the findings the fleet roll-up counts by severity
  const fleet = scoreFleet(result.clusters);
  const findingsByState = zeroes(FINDING_STATES);
  for (const cluster of result.clusters) {
    for (const finding of cluster.findings) findingsByState[finding.state]++;
  }
  const duration = (Date.parse(result.finishedAt) - Date.parse(result.startedAt)) / 1000;
  return {
    runId: result.runId,
    status: result.status,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    durationSeconds: Number.isFinite(duration) ? Math.max(0, Math.round(duration)) : 0,
    clusters: result.clusters.length,
    clustersByStatus: fleet.byStatus,
    findingsByState,
    openFindingsBySeverity: fleet.findingsBySeverity,
    alertMessageId: output.alertMessageId,
    alertProblem: output.alertProblem,
    ...(output.securityHub && {
      securityHub: { imported: output.securityHub.imported, notImported: output.securityHub.notImported },
    }),
  };
}
