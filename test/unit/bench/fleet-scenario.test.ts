import { describe, expect, it } from 'vitest';
import { largeFleet, scaledOverrides } from '#bench/fleet-scenario.js';
import { loadScenario } from '#sim/scenario.js';

describe('the benchmark fleet', () => {
  it('keeps each single-node override in proportion when a group shrinks, the first of two on one node', () => {
    // Act
    const scaled = scaledOverrides({ '0': 'a', '5': 'b', '6': 'c', '9': 'd' }, 10, 4);

    // Assert
    expect(scaled).toEqual({ '0': 'a', '2': 'b', '3': 'd' });
  });

  it('spreads the overrides in proportion when a group grows too', () => {
    // Assert
    expect(scaledOverrides({ '1': 'a', '3': 'b' }, 4, 40)).toEqual({ '10': 'a', '30': 'b' });
  });

  it.each([1, 7, 100])('builds exactly %i clusters, dealt over the account-regions', (clusters) => {
    // Act
    const fleet = largeFleet(loadScenario('default'), clusters, 5);

    // Assert
    const perRegion = fleet.accounts.flatMap((a) => a.regions.map((r) => r.clusters.length));
    expect(perRegion.reduce((sum, n) => sum + n, 0)).toBe(clusters);
    expect(Math.max(...perRegion) - Math.min(...perRegion)).toBeLessThanOrEqual(1);
  });

  it.each([4, 12, 60])(
    'builds a valid fleet of small clusters (%i nodes), with the default scenario’s odd nodes',
    (nodes) => {
      // Act
      const fleet = largeFleet(loadScenario('default'), 6, nodes);

      // Assert: it parsed, and the groups that had overrides still have some
      const groups = fleet.accounts.flatMap((a) => a.regions.flatMap((r) => r.clusters.flatMap((c) => c.nodes)));
      expect(groups.some((g) => Object.keys(g.overrides).length > 0)).toBe(true);
      for (const group of groups) {
        for (const index of Object.keys(group.overrides)) expect(Number(index)).toBeLessThan(group.count);
      }
    },
  );
});
