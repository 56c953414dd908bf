/**
 * Aggregates across nodes. Nearest-rank percentiles over the non-null values (docs/rules.md):
 * the p-th percentile of n sorted values is the value at rank ceil(p/100 × n).
 */
export function percentile(values: ReadonlyArray<number | null | undefined>, p: number): number | null {
  const known = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (known.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * known.length));
  return known[rank - 1] ?? null;
}

export const p50 = (values: ReadonlyArray<number | null | undefined>) => percentile(values, 50);
export const p95 = (values: ReadonlyArray<number | null | undefined>) => percentile(values, 95);
export const max = (values: ReadonlyArray<number | null | undefined>) => percentile(values, 100);

/** p50/p95/max of one metric over the nodes that reported it; `nodes` counts those nodes. */
export interface Aggregate {
  nodes: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export function aggregate(values: ReadonlyArray<number | null | undefined>): Aggregate {
  return {
    nodes: values.filter((v) => typeof v === 'number' && Number.isFinite(v)).length,
    p50: p50(values),
    p95: p95(values),
    max: max(values),
  };
}

/** The name aggregates use for nodes without a node group (self-managed, unknown). */
export const NO_NODEGROUP = '(no node group)';

/** One metric over the whole cluster and per node group (groups where no node reported it are left out). */
export interface MetricAggregate {
  cluster: Aggregate;
  byNodegroup: Record<string, Aggregate>;
}

export function aggregateByNodegroup<T extends { nodegroup: string | null }>(
  nodes: ReadonlyArray<T>,
  pick: (node: T) => number | null | undefined,
): MetricAggregate {
  const groups = new Map<string, Array<number | null | undefined>>();
  for (const node of nodes) {
    const key = node.nodegroup ?? NO_NODEGROUP;
    const list = groups.get(key) ?? [];
    list.push(pick(node));
    groups.set(key, list);
  }
  const byNodegroup: Record<string, Aggregate> = {};
  for (const key of [...groups.keys()].sort()) {
    const summary = aggregate(groups.get(key) ?? []);
    if (summary.nodes > 0) byNodegroup[key] = summary;
  }
  return { cluster: aggregate(nodes.map(pick)), byNodegroup };
}
