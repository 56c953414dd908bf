import type { Severity } from './model.js';

/** What one finding of each severity costs a cluster's score of 100. */
export const SEVERITY_COST: Readonly<Record<Severity, number>> = {
  CRITICAL: 40,
  HIGH: 25,
  MEDIUM: 10,
  LOW: 3,
  INFO: 0,
};

/**
 * Cluster score, 0–100 (100 = healthy): 100 minus the cost of each finding's severity, floored at 0.
 * null when the cluster could not be audited at all.
 */
export function scoreCluster(severities: ReadonlyArray<Severity>, audited: boolean): number | null {
  if (!audited) return null;
  const cost = severities.reduce((sum, severity) => sum + SEVERITY_COST[severity], 0);
  return Math.max(0, 100 - cost);
}
