import { aggregateByNodegroup, type MetricAggregate } from './aggregate.js';
import type { NodeReport } from './node-report.js';
import {
  awsNodeRestartsInWindow,
  lockBusyShare,
  lockWaitedShare,
  nodeServices,
  saveBackend,
  syncP99Lower,
} from './rules/facts.js';
import type { ReportedNode } from './rules/rule.js';

/** The per-node numbers the audit aggregates (p50/p95/max, per cluster and per node group). */
export const NODE_METRICS = {
  /** KUBE-SVC chains on iptables-mode nodes (the rules' "services") */
  services: nodeServices,
  iptablesRules: (r: NodeReport) => r.iptables?.rules?.total ?? null,
  saveMs: (r: NodeReport) => r.iptables?.saveMs ?? null,
  /** iptables-save time on nodes whose save was iptables-legacy's (legacy and mixed nodes) */
  saveMsLegacy: (r: NodeReport) => (saveBackend(r) === 'legacy' ? (r.iptables?.saveMs ?? null) : null),
  /** iptables-save time on iptables-nft nodes */
  saveMsNft: (r: NodeReport) => (saveBackend(r) === 'nft' ? (r.iptables?.saveMs ?? null) : null),
  syncP99Seconds: (r: NodeReport) => r.kubeProxy?.syncP99Seconds ?? null,
  /** the lower bound of the sync p99's bucket */
  syncP99LowerSeconds: syncP99Lower,
  lastSyncAgeSeconds: (r: NodeReport) => r.kubeProxy?.lastSyncAgeSeconds ?? null,
  lockBusyShare,
  lockWaitedShare,
  restoreFailures: (r: NodeReport) => r.kubeProxy?.restoreFailures ?? null,
  awsNodeRestarts: (r: NodeReport) => r.restarts?.awsNode ?? null,
  awsNodeRestartsInWindow,
} as const satisfies Record<string, (report: NodeReport) => number | null>;

export type NodeMetric = keyof typeof NODE_METRICS;

/** Every NODE_METRICS entry aggregated over the reached nodes. */
export function clusterMetrics(nodes: ReadonlyArray<ReportedNode>): Record<NodeMetric, MetricAggregate> {
  const entries = Object.entries(NODE_METRICS).map(([name, pick]) => [
    name,
    aggregateByNodegroup(nodes, (n) => pick(n.report)),
  ]);
  return Object.fromEntries(entries) as Record<NodeMetric, MetricAggregate>;
}
