import type { MetricAggregate } from '../aggregate.js';
import type { NodeMetric } from '../metrics.js';
import type { ClusterEvidence, Evidence, Remediation, RuleId, Severity } from '../model.js';
import type { NodeReport } from '../node-report.js';
import type { ThresholdName, Thresholds } from '../thresholds.js';

/** A node whose collector report was read, with the name findings use for it. */
export interface ReportedNode {
  instanceId: string;
  nodegroup: string | null;
  report: NodeReport;
}

/**
 * What a rule sees: the cluster's evidence, its reached nodes, the configured thresholds, and every node metric
 * aggregated over those nodes (computed once per cluster, see `ruleContext` in assess.ts).
 */
export interface RuleContext {
  evidence: ClusterEvidence;
  nodes: ReadonlyArray<ReportedNode>;
  thresholds: Thresholds;
  metrics: Record<NodeMetric, MetricAggregate>;
}

/** A rule's verdict for one cluster. */
export type RuleOutcome =
  | { kind: 'fired'; severity: Severity; evidence: Evidence; remediation: Remediation; title?: string }
  | { kind: 'passed' }
  | { kind: 'not-evaluated'; reason: string };

/** One entry of the catalogue (docs/rules.md): documentation plus a pure evaluation. */
export interface Rule {
  id: RuleId;
  title: string;
  /** why this matters, one paragraph */
  why: string;
  /** the severities it can raise, most severe first */
  severities: ReadonlyArray<Severity>;
  /** which aggregate over nodes it judges, and how each severity is reached (for docs/rules.md) */
  judges: string;
  /** the thresholds it reads (their defaults are listed in docs/rules.md) */
  thresholds: ReadonlyArray<ThresholdName>;
  /** when it reports not-evaluated instead of a verdict */
  notEvaluatedWhen: string;
  /** what it recommends, and how the recommendation depends on the cluster's evidence */
  remediation: string;
  links: ReadonlyArray<string>;
  evaluate(context: RuleContext): RuleOutcome;
}

/** Names up to ten affected nodes (sorted) and counts the rest. */
export function affectedNodes(instanceIds: ReadonlyArray<string>): Pick<Evidence, 'nodes' | 'moreNodes'> {
  const sorted = [...new Set(instanceIds)].sort();
  return { nodes: sorted.slice(0, 10), moreNodes: Math.max(0, sorted.length - 10) };
}
