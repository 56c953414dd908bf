import { describe, expect, it } from 'vitest';
import { aggregate, aggregateByNodegroup, NO_NODEGROUP, percentile } from '#audit/aggregate.js';
import { reportedNodes } from '#audit/coverage.js';
import { clusterMetrics } from '#audit/metrics.js';
import { clusterEvidence, reached } from './evidence-builders.js';

describe('percentile (nearest rank)', () => {
  it.each([
    [[15, 20, 35, 40, 50], 50, 35],
    [[15, 20, 35, 40, 50], 95, 50],
    [[15, 20, 35, 40, 50], 5, 15],
    [[1, 2, 3, 4], 50, 2],
    [[null, 7, undefined, Number.NaN], 50, 7],
    [[null], 50, null],
  ])('of %j at p%i is %s', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('summarises p50/p95/max and counts only known values', () => {
    expect(aggregate([3, null, 1, 2])).toEqual({ nodes: 3, p50: 2, p95: 3, max: 3 });
  });
});

describe('aggregateByNodegroup', () => {
  it('groups by node group, sorted, leaving out groups without values', () => {
    const nodes = [
      { nodegroup: 'b', v: 10 },
      { nodegroup: 'a', v: 1 },
      { nodegroup: null, v: 5 },
      { nodegroup: 'a', v: 3 },
      { nodegroup: 'c', v: null },
    ];
    const result = aggregateByNodegroup(nodes, (n) => n.v);
    expect(Object.keys(result.byNodegroup)).toEqual([NO_NODEGROUP, 'a', 'b']);
    expect(result.byNodegroup.a).toEqual({ nodes: 2, p50: 1, p95: 3, max: 3 });
    expect(result.cluster).toEqual({ nodes: 4, p50: 3, p95: 10, max: 10 });
  });
});

describe('clusterMetrics', () => {
  it('aggregates every node metric, per cluster and node group', () => {
    const evidence = clusterEvidence({
      nodes: [
        reached('i-1', { iptables: { kubeServiceChains: 700 }, lock: { samples: 20, busy: 5 } }, 'ng-a'),
        reached('i-2', { iptables: { kubeServiceChains: 900 }, kubeProxy: { mode: 'ipvs' } }, 'ng-b'),
      ],
    });
    const metrics = clusterMetrics(reportedNodes(evidence));
    expect(metrics.services.cluster).toEqual({ nodes: 1, p50: 700, p95: 700, max: 700 });
    expect(metrics.lockBusyShare.byNodegroup).toEqual({
      'ng-a': { nodes: 1, p50: 0.25, p95: 0.25, max: 0.25 },
      'ng-b': { nodes: 1, p50: 0, p95: 0, max: 0 },
    });
  });
});
