import type { ClusterEvidence, NodeCoverage, NodeObservation } from './model.js';
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

/** The nodes the audit did not read (unreachable or failed), in evidence order. */
export function uncoveredNodes(evidence: ClusterEvidence): NodeObservation[] {
  return evidence.nodes.filter((n) => n.reach !== 'REACHED');
}

/** Why a node was not read, one line. */
export function uncoveredReason(node: NodeObservation): string {
  return node.reason ?? (node.reach === 'UNREACHABLE' ? 'unreachable' : 'collection failed');
}

/** The most common lines with their counts, most common first: `a (3); b (1); 2 more`. */
export function topReasons(lines: ReadonlyArray<string>, limit: number): string {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  const sorted = [...counts.entries()].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const shown = sorted.slice(0, limit).map(([line, count]) => `${line} (${count})`);
  if (sorted.length > limit) shown.push(`${sorted.length - limit} more`);
  return shown.join('; ');
}
