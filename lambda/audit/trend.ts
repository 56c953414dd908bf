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

const DAY_MS = 86_400_000;

/** A Service count at a time, as history points and the report's charts hold it. */
export interface ServiceSample {
  at: string;
  services: number | null;
}

/** The Service count trend of one cluster: what SCALE-GROWTH judges and the report's growth chart draws. */
export interface ServiceTrend {
  /** epoch ms of "now" (x = 0) */
  now: number;
  /** earlier samples with a count and a time before now, as (days before now, Services) */
  earlier: TrendPoint[];
  /** the Theil–Sen line through the earlier points and (0, current); null with no two points at different times */
  fit: Trend | null;
}

/**
 * The trend of `earlier` samples and the `current` count at `observedAt`; samples with a null count, an
 * unparsable time or a time not before now are left out. null when `observedAt` is not a time.
 */
export function serviceTrend(
  earlier: ReadonlyArray<ServiceSample>,
  current: number,
  observedAt: string,
): ServiceTrend | null {
  const now = Date.parse(observedAt);
  if (!Number.isFinite(now)) return null;
  const points = earlier.flatMap((p) => {
    const at = Date.parse(p.at);
    return p.services !== null && Number.isFinite(at) && at < now ? [{ x: (at - now) / DAY_MS, y: p.services }] : [];
  });
  return { now, earlier: points, fit: theilSen([...points, { x: 0, y: current }]) };
}

/** The line's value `days` from now. */
export function projectAt(fit: Trend, days: number): number {
  return fit.intercept + fit.slope * days;
}

/**
 * When a growing line passes `threshold`: whole days from now (0 when it is already above) and that day's date
 * (yyyy-mm-dd, UTC); null when the line does not grow.
 */
export function crossingOf(fit: Trend, threshold: number, now: number): { days: number; date: string } | null {
  if (fit.slope <= 0) return null;
  const days = Math.max(0, Math.ceil((threshold - fit.intercept) / fit.slope));
  return { days, date: new Date(now + days * DAY_MS).toISOString().slice(0, 10) };
}
