import { describe, expect, it } from 'vitest';
import { median, theilSen } from '#audit/trend.js';

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
