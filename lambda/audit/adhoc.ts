import type { ClusterAssessment } from './assess.js';
import type { ClusterEvidence, ClusterResult, FindingState } from './model.js';
import type { NodeReport } from './node-report.js';

/** A collector report read from a file, with the name it came from. */
export interface ReportSource {
  /** the file name (without directories), used as the instance id when the report has none */
  name: string;
  report: NodeReport;
}

/**
 * Evidence for `fleet-audit score`: the reports as one cluster of REACHED nodes, nothing known from AWS
 * (account, region, versions, endpoint, add-ons, logs and history are null or empty).
 */
export function adhocEvidence(name: string, sources: ReadonlyArray<ReportSource>, observedAt: string): ClusterEvidence {
  return {
    cluster: { account: null, region: null, name },
    kubernetesVersion: null,
    endpoint: null,
    addons: { vpcCni: null, kubeProxy: null },
    nodes: sources.map((s) => ({
      instanceId: s.report.node?.instanceId ?? s.name,
      nodegroup: null,
      reach: 'REACHED' as const,
      reason: null,
      report: s.report,
    })),
    logs: null,
    history: [],
    auditError: null,
    observedAt,
  };
}

/** An assessment as the ClusterResult of the `--json` output, every finding in `state`. */
export function clusterResultOf(
  evidence: ClusterEvidence,
  assessment: ClusterAssessment,
  state: FindingState,
): ClusterResult {
  return {
    ...evidence.cluster,
    status: assessment.status,
    score: assessment.score,
    nodes: assessment.nodes,
    findings: assessment.detections.map((d) => ({
      ruleId: d.ruleId,
      severity: d.severity,
      title: d.title,
      state,
      evidence: d.evidence,
      remediation: d.remediation,
      fingerprint: d.fingerprint,
    })),
    notEvaluated: assessment.notEvaluated,
  };
}
