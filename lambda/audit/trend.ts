/** A point of a time series: `x` in days (relative to now), `y` the value. */
export interface TrendPoint {
  x: number;
  y: number;
}

/** A fitted line y = intercept + slope × x. */
export interface Trend {
  slope: number;
  intercept: number;
}

/** The median; the mean of the two middle values for an even count; null for none. */
export function median(values: ReadonlyArray<number>): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? 0) + upper) / 2;
}

/**
 * Theil–Sen fit: the slope is the median of the slopes between every two points with different x, the
 * intercept the median of y − slope × x. Robust: up to ~29 % of the points can be outliers (a night with half
 * the nodes in another mode) without pulling the line. null when no two points differ in x.
 */
export function theilSen(points: ReadonlyArray<TrendPoint>): Trend | null {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const a = points[i];
      const b = points[j];
      if (a && b && a.x !== b.x) slopes.push((b.y - a.y) / (b.x - a.x));
    }
  }
  const slope = median(slopes);
  if (slope === null) return null;
  const intercept = median(points.map((p) => p.y - slope * p.x)) ?? 0;
  return { slope, intercept };
}
