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

  it.each([
    [1, 'passed'],
    [1.001, 'MEDIUM'],
    [5, 'MEDIUM'],
    [5.01, 'HIGH'],
  ])('judges a sync p99 of %f s as %s', (syncP99Seconds, expected) => {
    expect(verdict(evaluate(iptSlowSync, nodesWith({ kubeProxy: { syncP99Seconds } })))).toBe(expected);
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
      kubeProxy: { syncP99Seconds: 6 },
      logs: { kubeProxySlowRestores: 3 },
    });
    expect(verdict(evaluate(iptSlowSync, evidence))).toBe('HIGH');
  });

  it('is not evaluated when every signal is unknown', () => {
    const evidence = nodesWith({ iptables: { saveMs: null }, kubeProxy: { syncP99Seconds: null }, logs: null });
    expect(evaluate(iptSlowSync, evidence)).toEqual({
      kind: 'not-evaluated',
      reason: 'no node reported iptables-save time, kube-proxy sync p99 or kube-proxy logs, and no CloudWatch result',
    });
  });

  it('judges what is known when some signals are unknown', () => {
    const evidence = nodesWith({ iptables: { saveMs: null }, kubeProxy: { syncP99Seconds: 2 }, logs: null });
    expect(verdict(evaluate(iptSlowSync, evidence))).toBe('MEDIUM');
  });

  it('gives p50/p95/max of both metrics and the slow nodes', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', { iptables: { saveMs: 100 }, kubeProxy: { syncP99Seconds: 0.5 } }),
        reached('i-02', { iptables: { saveMs: 1500 }, kubeProxy: { syncP99Seconds: 2 } }),
        reached('i-03', { iptables: { saveMs: 2500 }, kubeProxy: { syncP99Seconds: 0.2 } }),
      ],
    });

    // Act
    const outcome = fired(evaluate(iptSlowSync, evidence));

    // Assert
    expect(outcome.evidence.values).toEqual({
      saveMsP50: 1500,
      saveMsP95: 2500,
      saveMsMax: 2500,
      syncP99SecondsP50: 0.5,
      syncP99SecondsP95: 2,
      syncP99SecondsMax: 2,
      slowRestoresNodeLogs: 0,
      slowRestoresCloudWatch: null,
      minSyncPeriod: '1s',
    });
    expect(outcome.evidence.nodes).toEqual(['i-02', 'i-03']);
  });

  it('suggests raising minSyncPeriod when the Service count is modest, and says the key is unverified', () => {
    // Arrange
    const evidence = nodesWith({ kubeProxy: { syncP99Seconds: 3.2 } });

    // Act
    const { remediation } = fired(evaluate(iptSlowSync, evidence));

    // Assert
    expect(remediation.configurationValues).toEqual({ iptables: { minSyncPeriod: '7s' } });
    expect(remediation.command).toBe(
      `aws eks update-addon --cluster-name prod --addon-name kube-proxy --configuration-values '{"iptables":{"minSyncPeriod":"7s"}}' --resolve-conflicts PRESERVE --region eu-west-1`,
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
