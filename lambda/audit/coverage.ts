import type { ClusterEvidence, NodeCoverage } from './model.js';
import type { ReportedNode } from './rules/rule.js';

/** How many of the cluster's nodes the audit expected, reached, could not reach, and failed on. */
export function coverageOf(evidence: ClusterEvidence): NodeCoverage {
  const count = (reach: string) => evidence.nodes.filter((n) => n.reach === reach).length;
  return {
    expected: evidence.nodes.length,
    reached: count('REACHED'),
    unreachable: count('UNREACHABLE'),
    failed: count('FAILED'),
  };
}

/** The reached nodes whose report was read: what node-level rules look at. */
export function reportedNodes(evidence: ClusterEvidence): ReportedNode[] {
  return evidence.nodes.flatMap((n) =>
    n.reach === 'REACHED' && n.report ? [{ instanceId: n.instanceId, nodegroup: n.nodegroup, report: n.report }] : [],
  );
}
