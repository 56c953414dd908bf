/**
 * Aggregates across nodes. Nearest-rank percentiles over the non-null values (ARCHITECTURE §7):
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
