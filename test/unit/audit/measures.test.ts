import { describe, expect, it } from 'vitest';
import { assessCluster } from '#audit/assess.js';
import { ClusterResultSchema } from '#audit/model.js';
import { DEFAULT_THRESHOLDS, loadThresholds } from '#audit/thresholds.js';
import {
  clusterEvidence,
  failedNode,
  historyPoint,
  OBSERVED_AT,
  reached,
  reachedNodes,
  unreachable,
} from './evidence-builders.js';

describe('the measures the report charts draw', () => {
  it('counts nodes per sync-p99 bucket and per lock-wait decile, from the same facts the rules judge', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [
        ...reachedNodes(2, { kubeProxy: { syncP99Seconds: 2.048, syncP99LowerSeconds: 1.024 } }, 'a'),
        reached('i-b01', { kubeProxy: { syncP99Seconds: null, syncP99LowerSeconds: 16.384 } }),
        reached('i-b02', { kubeProxy: { syncP99Seconds: null, syncP99LowerSeconds: null } }),
        reached('i-c01', { lock: { samples: 20, waited: 2 } }),
        reached('i-c02', { lock: { samples: 20, waited: 1 } }),
        reached('i-c03', { lock: { samples: 20, waited: 20 } }),
        reached('i-c04', { lock: { applicable: false } }),
        reached('i-c05', { lock: { samples: 0, waited: null } }),
        unreachable('i-d01'),
      ],
    });

    // Act
    const { measures } = assessCluster(evidence, DEFAULT_THRESHOLDS);

    // Assert
    expect(measures.syncP99).toEqual({
      buckets: [
        { atLeastSeconds: 0.064, nodes: 5 },
        { atLeastSeconds: 1.024, nodes: 2 },
        { atLeastSeconds: 16.384, nodes: 1 },
      ],
      unknown: 1,
    });
    // 2/20 = 10 % is HIGH (≥ lockWaitedShareHigh), so it lands in [10 %, 20 %), not below the line
    expect(measures.lockWaits).toEqual({
      none: 4,
      deciles: [1, 1, 0, 0, 0, 0, 0, 0, 0, 1],
      notApplicable: 1,
      unknown: 1,
    });
  });

  it('keeps the Service counts of earlier runs and this one, and the thresholds the rules used', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: reachedNodes(3, { iptables: { kubeServiceChains: 640 } }),
      history: [historyPoint(3, 500), historyPoint(2, null), historyPoint(1, 600)],
    });
    const thresholds = loadThresholds({ servicesMedium: 600, servicesHigh: 900 });

    // Act
    const { measures } = assessCluster(evidence, thresholds);

    // Assert
    expect(measures.services).toBe(640);
    expect(measures.serviceHistory).toEqual([
      { at: historyPoint(3, 500).at, services: 500 },
      { at: historyPoint(1, 600).at, services: 600 },
      { at: OBSERVED_AT, services: 640 },
    ]);
    expect(measures.limits.servicesMedium).toBe(600);
    expect(measures.limits.servicesHigh).toBe(900);
    expect(measures.saveMsP95).toEqual({ legacy: 40, nft: null });
  });

  it('has nothing to draw for a cluster whose nodes were all out of reach', () => {
    // Act
    const { measures } = assessCluster(
      clusterEvidence({ nodes: [unreachable('i-1'), failedNode('i-2')], history: [historyPoint(1, 300)] }),
      DEFAULT_THRESHOLDS,
    );

    // Assert
    expect(measures.services).toBeNull();
    expect(measures.syncP99).toEqual({ buckets: [], unknown: 0 });
    expect(measures.serviceHistory).toEqual([{ at: historyPoint(1, 300).at, services: 300 }]);
  });

  it('reads a stored cluster result of a version before the charts (no measures) as it was', () => {
    // Arrange
    const stored = {
      account: '1',
      region: 'r',
      name: 'old',
      status: 'COMPLETE',
      score: 100,
      nodes: { expected: 1, reached: 1, unreachable: 0, failed: 0 },
      findings: [],
      notEvaluated: [],
    };

    // Act
    const parsed = ClusterResultSchema.parse(stored);

    // Assert
    expect(parsed).toEqual(stored);
    expect(parsed.measures).toBeUndefined();
  });
});
