import { describe, expect, it } from 'vitest';
import { iptSlowSync } from '#audit/rules/ipt-slow-sync.js';
import {
  addon,
  clusterEvidence,
  evaluate,
  fired,
  logSignals,
  reached,
  reachedNodes,
  verdict,
} from '../evidence-builders.js';

const nodesWith = (patch: Parameters<typeof reached>[1]) => clusterEvidence({ nodes: reachedNodes(3, patch) });

describe('IPT-SLOW-SYNC', () => {
  it.each([
    [1000, 'passed'],
    [1001, 'MEDIUM'],
    [5000, 'MEDIUM'],
    [5001, 'HIGH'],
  ])('judges an iptables-save p95 of %i ms as %s', (saveMs, expected) => {
    expect(verdict(evaluate(iptSlowSync, nodesWith({ iptables: { saveMs } })))).toBe(expected);
  });

  // kube-proxy's sync buckets are 0.001 × 2^k s up to 16.384 s; the p99 is judged by its bucket's lower bound
  it.each([
    ['[0.512, 1.024)', 0.512, 1.024, 'passed'],
    ['[1.024, 2.048)', 1.024, 2.048, 'MEDIUM'],
    ['[4.096, 8.192)', 4.096, 8.192, 'MEDIUM'],
    ['[8.192, 16.384)', 8.192, 16.384, 'HIGH'],
    ['+Inf (beyond the top bucket)', 16.384, null, 'HIGH'],
  ])('judges a sync p99 in the bucket %s as %s', (_bucket, syncP99LowerSeconds, syncP99Seconds, expected) => {
    const evidence = nodesWith({ kubeProxy: { syncP99Seconds, syncP99LowerSeconds } });
    expect(verdict(evaluate(iptSlowSync, evidence))).toBe(expected);
  });

  it.each([
    // a v1 report knew only the bucket's upper bound: its lower bound is the previous bucket's
    [1.024, 'passed'],
    [2.048, 'MEDIUM'],
    [8.192, 'MEDIUM'],
    [16.384, 'HIGH'],
  ])('judges a v1 report with a sync p99 upper bound of %f s as %s', (syncP99Seconds, expected) => {
    const evidence = nodesWith({
      schema: 'fleet-audit.collector/v1',
      kubeProxy: { syncP99Seconds, syncP99LowerSeconds: null },
    });
    expect(verdict(evaluate(iptSlowSync, evidence))).toBe(expected);
  });

  it.each([
    ['legacy', 1001, 'MEDIUM'],
    ['nft', 1001, 'passed'],
    ['nft', 4000, 'passed'],
    ['nft', 4001, 'MEDIUM'],
    ['nft', 20001, 'HIGH'],
  ])('judges an iptables-%s save p95 of %i ms against its own backend as %s', (backend, saveMs, expected) => {
    const evidence = nodesWith({ iptables: { backend: backend as 'legacy' | 'nft', saveMs } });
    expect(verdict(evaluate(iptSlowSync, evidence))).toBe(expected);
  });

  it('calls saveMs the save time, never lock time', () => {
    const outcome = fired(evaluate(iptSlowSync, nodesWith({ iptables: { saveMs: 1200 } })));
    expect(outcome.evidence.summary).toBe(
      'iptables-legacy save time p95 1200 ms; kube-proxy sync p99 at least 0.064 s (p95 across nodes of the ' +
        "bucket's lower bound); thresholds 1000/5000 ms (legacy), 4000/20000 ms (nft) and 1/5 s.",
    );
    expect(outcome.evidence.summary).not.toMatch(/lock/);
  });

  it('judges the p95 across nodes, so one slow node of twenty is not enough', () => {
    // Arrange: nearest rank p95 of 20 values is the 19th
    const nodes = [...reachedNodes(19), reached('i-slow', { iptables: { saveMs: 9000 } })];

    // Act / Assert
    expect(verdict(evaluate(iptSlowSync, clusterEvidence({ nodes })))).toBe('passed');
    expect(
      verdict(
        evaluate(
          iptSlowSync,
          clusterEvidence({ nodes: [...nodes, reached('i-slow2', { iptables: { saveMs: 9000 } })] }),
        ),
      ),
    ).toBe('HIGH');
  });

  it.each([
    ['slow-restore traces on a node', { logs: { kubeProxySlowRestores: 1 } }, null, 'MEDIUM'],
    ['slow-restore traces in CloudWatch', {}, 2, 'MEDIUM'],
    ['none', {}, 0, 'passed'],
  ])('makes %s MEDIUM at most', (_case, patch, cloudWatch, expected) => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', patch)],
      logs: cloudWatch === null ? null : logSignals({ kubeProxySlowRestores: cloudWatch }),
    });
    expect(verdict(evaluate(iptSlowSync, evidence))).toBe(expected);
  });

  it('lets the highest signal win', () => {
    const evidence = nodesWith({
      iptables: { saveMs: 1200 },
      kubeProxy: { syncP99Seconds: 16.384, syncP99LowerSeconds: 8.192 },
      logs: { kubeProxySlowRestores: 3 },
    });
    expect(verdict(evaluate(iptSlowSync, evidence))).toBe('HIGH');
  });

  it('is not evaluated when every signal is unknown', () => {
    const evidence = nodesWith({
      iptables: { saveMs: null },
      kubeProxy: { syncP99Seconds: null, syncP99LowerSeconds: null },
      logs: null,
    });
    expect(evaluate(iptSlowSync, evidence)).toEqual({
      kind: 'not-evaluated',
      reason: 'no node reported iptables-save time, kube-proxy sync p99 or kube-proxy logs, and no CloudWatch result',
    });
  });

  it('judges what is known when some signals are unknown', () => {
    const evidence = nodesWith({
      iptables: { saveMs: null },
      kubeProxy: { syncP99Seconds: 4.096, syncP99LowerSeconds: 2.048 },
      logs: null,
    });
    expect(verdict(evaluate(iptSlowSync, evidence))).toBe('MEDIUM');
  });

  it('gives p50/p95/max of both metrics and the slow nodes', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', {
          iptables: { saveMs: 100 },
          kubeProxy: { syncP99Seconds: 1.024, syncP99LowerSeconds: 0.512 },
        }),
        reached('i-02', {
          iptables: { saveMs: 1500 },
          kubeProxy: { syncP99Seconds: 4.096, syncP99LowerSeconds: 2.048 },
        }),
        reached('i-03', {
          iptables: { saveMs: 2500 },
          kubeProxy: { syncP99Seconds: 0.256, syncP99LowerSeconds: 0.128 },
        }),
      ],
    });

    // Act
    const outcome = fired(evaluate(iptSlowSync, evidence));

    // Assert
    expect(outcome.evidence.values).toEqual({
      saveMsP50: 1500,
      saveMsP95: 2500,
      saveMsMax: 2500,
      saveMsLegacyP95: 2500,
      saveMsNftP95: null,
      syncP99LowerSecondsP50: 0.512,
      syncP99LowerSecondsP95: 2.048,
      syncP99LowerSecondsMax: 2.048,
      slowRestoresNodeLogs: 0,
      slowRestoresCloudWatch: null,
      minSyncPeriod: '1s',
    });
    expect(outcome.evidence.nodes).toEqual(['i-02', 'i-03']);
  });

  it('suggests raising minSyncPeriod when the Service count is modest, and says the key is unverified', () => {
    // Arrange
    const evidence = nodesWith({ kubeProxy: { syncP99Seconds: 4.096, syncP99LowerSeconds: 2.048 } });

    // Act
    const { remediation } = fired(evaluate(iptSlowSync, evidence));

    // Assert
    expect(remediation.configurationValues).toEqual({ iptables: { minSyncPeriod: '5s' } });
    expect(remediation.command).toBe(
      `aws eks update-addon --cluster-name prod --addon-name kube-proxy --configuration-values '{"iptables":{"minSyncPeriod":"5s"}}' --resolve-conflicts PRESERVE --region eu-west-1 && ` +
        'aws eks wait addon-active --cluster-name prod --addon-name kube-proxy --region eu-west-1 && ' +
        'kubectl --context arn:aws:eks:eu-west-1:111122223333:cluster/prod -n kube-system rollout restart daemonset/kube-proxy',
    );
    expect(remediation.summary).toContain('Unverified: whether the EKS kube-proxy add-on schema accepts this key');
  });

  it('recommends leaving iptables mode when the Service count is the cause', () => {
    const evidence = clusterEvidence({
      addons: { vpcCni: addon('vpc-cni', 'v1.20.0'), kubeProxy: addon('kube-proxy', 'v1.31.0') },
      nodes: reachedNodes(3, { iptables: { saveMs: 3000, kubeServiceChains: 900 } }),
    });
    const { remediation } = fired(evaluate(iptSlowSync, evidence));
    expect(remediation.configurationValues).toEqual({ mode: 'ipvs', ipvs: { scheduler: 'rr' } });
    expect(remediation.summary).toContain('iptables.minSyncPeriod could be raised to 6s');
  });
});
