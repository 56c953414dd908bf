import { describe, expect, it } from 'vitest';
import { assessCluster } from '#audit/assess.js';
import { RULE_IDS } from '#audit/model.js';
import { DEFAULT_THRESHOLDS } from '#audit/thresholds.js';
import {
  clusterEvidence,
  emptyReport,
  failedNode,
  historyPoint,
  reached,
  reachedNodes,
  unreachable,
} from './evidence-builders.js';

describe('assessCluster', () => {
  it('scores a healthy cluster 100 and says which rules it could not evaluate', () => {
    // Act
    const assessment = assessCluster(clusterEvidence({ nodes: reachedNodes(3) }), DEFAULT_THRESHOLDS);

    // Assert
    expect(assessment.status).toBe('COMPLETE');
    expect(assessment.score).toBe(100);
    expect(assessment.detections).toEqual([]);
    expect(assessment.notEvaluated).toEqual([
      { ruleId: 'SCALE-GROWTH', reason: '0 earlier runs with a Service count; 3 needed' },
    ]);
    expect(assessment.nodes).toEqual({ expected: 3, reached: 3, unreachable: 0, failed: 0 });
    expect(assessment.serviceCount).toBe(100);
    expect(assessment.restoreFailures).toBe(0);
    expect(assessment.metrics.saveMs.cluster).toEqual({ nodes: 3, p50: 40, p95: 40, max: 40 });
  });

  it('scores a report where nothing was measured null, not 100, and never reads it as healthy numbers', () => {
    // Arrange
    const evidence = clusterEvidence({
      addons: { vpcCni: null, kubeProxy: null },
      nodes: [{ instanceId: 'i-01', nodegroup: null, reach: 'REACHED', reason: null, report: emptyReport() }],
    });

    // Act
    const assessment = assessCluster(evidence, DEFAULT_THRESHOLDS);

    // Assert
    expect(assessment.score).toBeNull();
    expect(assessment.status).toBe('COMPLETE');
    expect(assessment.detections).toEqual([]);
    // every rule of the fixed catalogue but the two that judge coverage, in catalogue order
    expect(assessment.notEvaluated.map((n) => n.ruleId)).toEqual(
      RULE_IDS.filter((id) => id !== 'AUDIT-COVERAGE' && id !== 'AUDIT-FAILED'),
    );
    expect(assessment.serviceCount).toBeNull();
    expect(assessment.restoreFailures).toBeNull();
  });

  it.each([
    ['discovery failed', { auditError: 'AccessDenied', nodes: reachedNodes(2) }, 'AccessDenied'],
    [
      'no node could be read',
      { nodes: [unreachable('i-1'), failedNode('i-2')] },
      'no node of 2 could be read (1 unreachable, 1 failed): command timed out (1); SSM agent offline (1)',
    ],
  ])('replaces every rule with AUDIT-FAILED when %s', (_case, overrides, summary) => {
    // Act
    const assessment = assessCluster(clusterEvidence(overrides), DEFAULT_THRESHOLDS);

    // Assert
    expect(assessment.status).toBe('FAILED');
    expect(assessment.score).toBeNull();
    expect(assessment.detections.map((d) => [d.ruleId, d.severity, d.evidence.summary])).toEqual([
      ['AUDIT-FAILED', 'HIGH', summary],
    ]);
    expect(assessment.detections[0]?.fingerprint).toBe('111122223333/eu-west-1/prod/AUDIT-FAILED');
    expect(assessment.notEvaluated.map((n) => n.ruleId)).toEqual(RULE_IDS.filter((id) => id !== 'AUDIT-FAILED'));
  });

  it('lists findings most severe first, then in catalogue order, and scores them', () => {
    // Arrange: 1,200 Services without CLUSTER_ENDPOINT on pod-ENI nodes (which need the API server at start), a
    // writer queued for the lock in one probe sample, one unreachable node of five
    const evidence = clusterEvidence({
      nodes: [
        ...reachedNodes(3, {
          iptables: { kubeServiceChains: 1200 },
          awsNode: { clusterEndpointSet: false, podEni: true },
        }),
        reached('i-busy', {
          iptables: { kubeServiceChains: 1200 },
          lock: { samples: 20, busy: 2, waited: 1, waitersMax: 1 },
        }),
        unreachable('i-gone'),
      ],
      history: [historyPoint(30, 1100, 0), historyPoint(20, 1150, 0), historyPoint(10, 1180, 0)],
    });

    // Act
    const assessment = assessCluster(evidence, DEFAULT_THRESHOLDS);

    // Assert
    expect(assessment.status).toBe('PARTIAL');
    expect(assessment.detections.map((d) => `${d.severity} ${d.ruleId}`)).toEqual([
      'HIGH KP-IPTABLES-SCALE',
      'MEDIUM XT-LOCK-CONTENTION',
      'MEDIUM CNI-API-DEPENDENCY',
      'LOW AUDIT-COVERAGE',
    ]);
    // 100 − 20 − 8 − 8 − 3 = 61, under the HIGH cap of 70
    expect(assessment.score).toBe(61);
    expect(assessment.notEvaluated).toEqual([]);
    expect(assessment.serviceCount).toBe(1200);
  });
});
