import { describe, expect, it } from 'vitest';
import { crossingOf, median, projectAt, serviceTrend, theilSen } from '#audit/trend.js';

describe('median', () => {
  it.each([
    [[], null],
    [[3], 3],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])('of %j is %s', (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

describe('theilSen', () => {
  it('fits a straight line exactly', () => {
    expect(theilSen([0, 1, 2, 3].map((x) => ({ x, y: 5 + 2 * x })))).toEqual({ slope: 2, intercept: 5 });
  });

  it('ignores a minority of outliers', () => {
    const points = [0, 1, 2, 3, 4, 5, 6].map((x) => ({ x, y: x === 3 ? 1000 : 10 + x }));
    expect(theilSen(points)).toEqual({ slope: 1, intercept: 10 });
  });

  it('has no fit when every point has the same x', () => {
    expect(
      theilSen([
        { x: 1, y: 1 },
        { x: 1, y: 2 },
      ]),
    ).toBeNull();
  });
});

describe('serviceTrend and crossingOf', () => {
  const NOW = '2026-06-01T00:00:00.000Z';

  it('places earlier samples in days before now, skips unknown counts, bad times and later times, and fits through now', () => {
    // Act
    const trend = serviceTrend(
      [
        { at: '2026-05-30T00:00:00.000Z', services: 400 },
        { at: '2026-05-31T00:00:00.000Z', services: null },
        { at: 'yesterday', services: 1 },
        { at: '2026-06-02T00:00:00.000Z', services: 9999 },
        { at: '2026-05-31T00:00:00.000Z', services: 450 },
      ],
      500,
      NOW,
    );

    // Assert
    expect(trend?.earlier).toEqual([
      { x: -2, y: 400 },
      { x: -1, y: 450 },
    ]);
    expect(trend?.fit).toEqual({ slope: 50, intercept: 500 });
    expect(trend?.now).toBe(Date.parse(NOW));
  });

  it('is null when now is not a time', () => {
    expect(serviceTrend([], 1, 'not a time')).toBeNull();
  });

  it('dates the day a growing line passes a threshold, 0 days when it is already above, never for a flat line', () => {
    // Arrange
    const now = Date.parse(NOW);

    // Act / Assert
    expect(crossingOf({ slope: 50, intercept: 500 }, 1000, now)).toEqual({ days: 10, date: '2026-06-11' });
    expect(crossingOf({ slope: 50, intercept: 500 }, 1001, now)).toEqual({ days: 11, date: '2026-06-12' });
    expect(crossingOf({ slope: 50, intercept: 1200 }, 1000, now)).toEqual({ days: 0, date: '2026-06-01' });
    expect(crossingOf({ slope: 0, intercept: 500 }, 1000, now)).toBeNull();
    expect(projectAt({ slope: 50, intercept: 500 }, 30)).toBe(2000);
  });
});
