import { describe, expect, it } from 'vitest';
import { xtLockContention } from '#audit/rules/xt-lock-contention.js';
import { clusterEvidence, evaluate, fired, logSignals, reached, verdict } from '../evidence-builders.js';

const lock = (busy: number | null, samples: number | null = 20) => ({ lock: { busy, samples } });

describe('XT-LOCK-CONTENTION', () => {
  it.each([
    ['an idle lock', [lock(0)], 'passed'],
    ['one busy sample of 20', [lock(1)], 'MEDIUM'],
    ['busy share just under 25 %', [lock(4, 17)], 'MEDIUM'],
    ['busy share exactly 25 % (inclusive)', [lock(5, 20)], 'HIGH'],
    ['busy share over 25 % on one node of two', [lock(0), lock(6, 20)], 'HIGH'],
  ])('judges %s as %s', (_case, patches, expected) => {
    const evidence = clusterEvidence({ nodes: patches.map((p, i) => reached(`i-0${i}`, p)) });
    expect(verdict(evaluate(xtLockContention, evidence))).toBe(expected);
  });

  it.each([
    ['no lock errors', 0, null, 'passed'],
    ['a lock error on a node', 1, null, 'HIGH'],
    ['lock errors only in CloudWatch', 0, 3, 'HIGH'],
  ])('judges %s in the window', (_case, nodeErrors, cloudWatch, expected) => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { logs: { kubeProxyLockErrors: nodeErrors } })],
      logs: cloudWatch === null ? null : logSignals({ kubeProxyLockErrors: cloudWatch }),
    });
    expect(verdict(evaluate(xtLockContention, evidence))).toBe(expected);
  });

  it('is MEDIUM for lock errors at or under a raised lockErrorsHigh, HIGH above it', () => {
    const at = clusterEvidence({ nodes: [reached('i-01', { logs: { kubeProxyLockErrors: 5 } })] });
    const over = clusterEvidence({ nodes: [reached('i-01', { logs: { kubeProxyLockErrors: 6 } })] });
    expect(verdict(evaluate(xtLockContention, at, { lockErrorsHigh: 5 }))).toBe('MEDIUM');
    expect(verdict(evaluate(xtLockContention, over, { lockErrorsHigh: 5 }))).toBe('HIGH');
  });

  it('does not add node and CloudWatch counts, which may be the same lines', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { logs: { kubeProxyLockErrors: 4 } })],
      logs: logSignals({ kubeProxyLockErrors: 6 }),
    });

    // Act
    const outcome = fired(evaluate(xtLockContention, evidence, { lockErrorsHigh: 6 }));

    // Assert
    expect(outcome.severity).toBe('MEDIUM');
    expect(outcome.evidence.values).toMatchObject({ lockErrorsNodeLogs: 4, lockErrorsCloudWatch: 6 });
  });

  it.each([
    ['there is no lock file (iptables-nft) and no logs', { lock: { samples: 0, busy: null }, logs: null }],
    ['the lock and logs sections are missing', { lock: null, logs: null }],
    ['busy is unknown', { lock: { samples: 20, busy: null }, logs: { kubeProxyLockErrors: null } }],
  ])('is not evaluated when %s', (_case, patch) => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', patch)] });
    expect(evaluate(xtLockContention, evidence).kind).toBe('not-evaluated');
  });

  it('passes on CloudWatch alone when no node could sample the lock', () => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { lock: null, logs: null })],
      logs: logSignals(),
    });
    expect(evaluate(xtLockContention, evidence)).toEqual({ kind: 'passed' });
  });

  it('names the busy nodes and the lock holders', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [
        reached('i-02', { lock: { samples: 20, busy: 2, holders: ['iptables-restor'] } }),
        reached('i-01', { lock: { samples: 20, busy: 8, holders: ['iptables', 'iptables-restor'] } }),
        reached('i-03', { lock: { samples: 20, busy: 0 } }),
      ],
    });

    // Act
    const outcome = fired(evaluate(xtLockContention, evidence));

    // Assert
    expect(outcome.severity).toBe('HIGH');
    expect(outcome.evidence.nodes).toEqual(['i-01', 'i-02']);
    expect(outcome.evidence.values).toEqual({
      busyNodes: 2,
      sampledNodes: 3,
      maxBusyShare: 0.4,
      nodesAtHighShare: 1,
      lockErrorsNodeLogs: 0,
      lockErrorsCloudWatch: null,
      holders: 'iptables, iptables-restor',
    });
    expect(outcome.evidence.summary).toBe(
      'xtables lock busy in probes on 2 of 3 sampled nodes (highest busy share 40 %, held by iptables, iptables-restor).',
    );
    expect(outcome.remediation.configurationValues).toEqual({ mode: 'ipvs', ipvs: { scheduler: 'rr' } });
  });

  it('points at other writers when kube-proxy is not in iptables mode', () => {
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', { kubeProxy: { mode: 'ipvs' }, lock: { samples: 10, busy: 1, holders: ['calico-node'] } }),
      ],
    });
    const { remediation } = fired(evaluate(xtLockContention, evidence));
    expect(remediation.configurationValues).toBeNull();
    expect(remediation.summary).toContain('(seen: calico-node)');
  });
});
