import { p50 } from './aggregate.js';
import {
  type AuditStatus,
  type ClusterEvidence,
  type Evidence,
  fingerprintOf,
  type NodeCoverage,
  type NotEvaluated,
  type Remediation,
  type RuleId,
  type Severity,
  severityRank,
} from './model.js';
import { CATALOGUE } from './rules/catalogue.js';
import type { ReportedNode, RuleContext } from './rules/rule.js';
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
  detections: Detection[];
  notEvaluated: NotEvaluated[];
  /** trend inputs stored with the snapshot */
  serviceCount: number | null;
  restoreFailures: number | null;
}

export function coverageOf(evidence: ClusterEvidence): NodeCoverage {
  const count = (reach: string) => evidence.nodes.filter((n) => n.reach === reach).length;
  return {
    expected: evidence.nodes.length,
    reached: count('REACHED'),
    unreachable: count('UNREACHABLE'),
    failed: count('FAILED'),
  };
}

export function reportedNodes(evidence: ClusterEvidence): ReportedNode[] {
  return evidence.nodes.flatMap((n) =>
    n.reach === 'REACHED' && n.report ? [{ instanceId: n.instanceId, nodegroup: n.nodegroup, report: n.report }] : [],
  );
}

/** Runs every rule of the catalogue over one cluster's evidence and scores the result. */
export function assessCluster(evidence: ClusterEvidence, thresholds: Thresholds): ClusterAssessment {
  const nodes = reportedNodes(evidence);
  const coverage = coverageOf(evidence);
  const trend = trendInputs(nodes);
  if (evidence.auditError !== null || coverage.reached === 0) {
    const reason = evidence.auditError ?? `no node of ${coverage.expected} could be read`;
    return {
      status: 'FAILED',
      score: null,
      nodes: coverage,
      detections: [auditFailed(evidence, reason)],
      notEvaluated: CATALOGUE.filter((r) => r.id !== 'AUDIT-FAILED').map((r) => ({
        ruleId: r.id,
        reason: 'the cluster could not be audited',
      })),
      ...trend,
    };
  }
  const context: RuleContext = { evidence, nodes, thresholds };
  const detections: Detection[] = [];
  const notEvaluated: NotEvaluated[] = [];
  for (const rule of CATALOGUE) {
    const outcome = rule.evaluate(context);
    if (outcome.kind === 'fired') {
      detections.push({
        ruleId: rule.id,
        severity: outcome.severity,
        title: outcome.title ?? rule.title,
        evidence: outcome.evidence,
        remediation: outcome.remediation,
        fingerprint: fingerprintOf(evidence.cluster, rule.id),
      });
    } else if (outcome.kind === 'not-evaluated') {
      notEvaluated.push({ ruleId: rule.id, reason: outcome.reason });
    }
  }
  detections.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  return {
    status: coverage.reached === coverage.expected ? 'COMPLETE' : 'PARTIAL',
    score: scoreCluster(
      detections.map((d) => d.severity),
      true,
    ),
    nodes: coverage,
    detections,
    notEvaluated,
    ...trend,
  };
}

function trendInputs(nodes: ReadonlyArray<ReportedNode>) {
  const iptablesNodes = nodes.filter((n) => n.report.kubeProxy?.mode === 'iptables');
  const failures = nodes.map((n) => n.report.kubeProxy?.restoreFailures).filter((v): v is number => v != null);
  return {
    serviceCount: p50(iptablesNodes.map((n) => n.report.iptables?.kubeServiceChains)),
    restoreFailures: failures.length > 0 ? failures.reduce((a, b) => a + b, 0) : null,
  };
}

function auditFailed(evidence: ClusterEvidence, reason: string): Detection {
  return {
    ruleId: 'AUDIT-FAILED',
    severity: 'HIGH',
    title: 'The cluster could not be audited',
    evidence: { summary: reason, values: { expectedNodes: evidence.nodes.length }, nodes: [], moreNodes: 0 },
    remediation: {
      summary:
        'Check that the audit role can be assumed in this account and region, that nodes run the SSM agent with ' +
        'AmazonSSMManagedInstanceCore, and that the collector document exists in the region.',
      configurationValues: null,
      command: null,
      links: ['https://docs.aws.amazon.com/systems-manager/latest/userguide/troubleshooting-managed-nodes.html'],
    },
    fingerprint: fingerprintOf(evidence.cluster, 'AUDIT-FAILED'),
  };
}
