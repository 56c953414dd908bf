import type { MetricAggregate } from './aggregate.js';
import { coverageOf, reportedNodes } from './coverage.js';
import { clusterMeasures } from './measures.js';
import { clusterMetrics, type NodeMetric } from './metrics.js';
import {
  type AuditStatus,
  type ClusterEvidence,
  type ClusterMeasures,
  type Evidence,
  fingerprintOf,
  mostSevereFirst,
  type NodeCoverage,
  type NotEvaluated,
  type Remediation,
  type RuleId,
  type Severity,
} from './model.js';
import { auditFailed } from './rules/audit-failed.js';
import { CATALOGUE } from './rules/catalogue.js';
import { restoreFailureSum } from './rules/facts.js';
import type { Rule, RuleContext } from './rules/rule.js';
import { scoreCluster } from './scoring.js';
import type { Thresholds } from './thresholds.js';

/** A rule that fired in this run, before the lifecycle gives it a state. */
export interface Detection {
  ruleId: RuleId;
  severity: Severity;
  title: string;
  evidence: Evidence;
  remediation: Remediation;
  fingerprint: string;
}

/** The verdict on one cluster's evidence. */
export interface ClusterAssessment {
  status: AuditStatus;
  score: number | null;
  nodes: NodeCoverage;
  /** most severe first, then in catalogue order */
  detections: Detection[];
  notEvaluated: NotEvaluated[];
  /** trend inputs stored with the snapshot */
  serviceCount: number | null;
  restoreFailures: number | null;
  /** p50/p95/max of each node metric over the reached nodes, per cluster and per node group */
  metrics: Record<NodeMetric, MetricAggregate>;
  /** what the HTML report's charts draw */
  measures: ClusterMeasures;
}

/**
 * Runs every rule of the catalogue over one cluster's evidence and scores the result. When AUDIT-FAILED fires
 * (discovery failed, or no node report could be read) it replaces every other rule: status FAILED, score null,
 * and every other rule is listed as not evaluated.
 */
export function assessCluster(evidence: ClusterEvidence, thresholds: Thresholds): ClusterAssessment {
  const coverage = coverageOf(evidence);
  const context = ruleContext(evidence, thresholds);
  const { nodes, metrics } = context;
  const trend = {
    serviceCount: metrics.services.cluster.p50,
    restoreFailures: restoreFailureSum(nodes),
    metrics,
    measures: clusterMeasures(evidence, context),
  };
  const failed = auditFailed.evaluate(context);
  if (failed.kind === 'fired') {
    return {
      status: 'FAILED',
      score: scoreCluster([], false),
      nodes: coverage,
      detections: [detectionOf(auditFailed, failed, evidence)],
      notEvaluated: CATALOGUE.filter((r) => r.id !== auditFailed.id).map((r) => ({
        ruleId: r.id,
        reason: 'the cluster could not be audited',
      })),
      ...trend,
    };
  }
  const detections: Detection[] = [];
  const notEvaluated: NotEvaluated[] = [];
  for (const rule of CATALOGUE) {
    if (rule.id === auditFailed.id) continue;
    const outcome = rule.evaluate(context);
    if (outcome.kind === 'fired') detections.push(detectionOf(rule, outcome, evidence));
    else if (outcome.kind === 'not-evaluated') notEvaluated.push({ ruleId: rule.id, reason: outcome.reason });
  }
  // Array.prototype.sort is stable: equal severities keep catalogue order.
  detections.sort(mostSevereFirst);
  // Nothing measured: no rule that judges the nodes' evidence found any of it (AUDIT-COVERAGE only counts reports).
  // Such a cluster is not healthy, it is unknown: score null, as for a cluster that could not be audited.
  const judged = CATALOGUE.filter((r) => r.id !== auditFailed.id && r.id !== 'AUDIT-COVERAGE').length;
  const measured = detections.length > 0 || notEvaluated.length < judged;
  return {
    status: coverage.reached === coverage.expected ? 'COMPLETE' : 'PARTIAL',
    score: scoreCluster(detections, measured),
    nodes: coverage,
    detections,
    notEvaluated,
    ...trend,
  };
}

/** What every rule sees for one cluster: its reached nodes and their metrics, aggregated once. */
export function ruleContext(evidence: ClusterEvidence, thresholds: Thresholds): RuleContext {
  const nodes = reportedNodes(evidence);
  return { evidence, nodes, thresholds, metrics: clusterMetrics(nodes) };
}

function detectionOf(
  rule: Rule,
  outcome: Extract<ReturnType<Rule['evaluate']>, { kind: 'fired' }>,
  evidence: ClusterEvidence,
): Detection {
  return {
    ruleId: rule.id,
    severity: outcome.severity,
    title: outcome.title ?? rule.title,
    evidence: outcome.evidence,
    remediation: outcome.remediation,
    fingerprint: fingerprintOf(evidence.cluster, rule.id),
  };
}
