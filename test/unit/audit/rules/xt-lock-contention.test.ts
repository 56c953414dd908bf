import { describe, expect, it } from 'vitest';
import { xtLockContention } from '#audit/rules/xt-lock-contention.js';
import { clusterEvidence, evaluate, fired, logSignals, reached, verdict } from '../evidence-builders.js';

/** A v2 lock section: `busy` samples held, `waited` of them with a writer queued, up to `waitersMax` at once. */
const lock = (busy: number, waited: number, waitersMax: number, samples = 20) => ({
  lock: { samples, busy, waited, waitersMax },
});

describe('XT-LOCK-CONTENTION', () => {
  it.each([
    ['an idle lock', 'passed', [lock(0, 0, 0)]],
    // one ordinary sync holds the lock: evidence, not contention (the old rule called this MEDIUM)
    ['a lock held in 5 of 20 samples with nobody waiting', 'passed', [lock(5, 0, 0)]],
    ['one sample of 20 with one writer waiting', 'MEDIUM', [lock(1, 1, 1)]],
    ['a waited share just under 10 %', 'MEDIUM', [lock(4, 1, 1, 11)]],
    ['a waited share of exactly 10 % (inclusive)', 'HIGH', [lock(4, 2, 1)]],
    ['two writers waiting at once (inclusive)', 'HIGH', [lock(1, 1, 2)]],
    ['a high waited share on one node of two', 'HIGH', [lock(0, 0, 0), lock(8, 3, 1)]],
  ])('judges %s as %s', (_case, expected, patches) => {
    const evidence = clusterEvidence({ nodes: patches.map((p, i) => reached(`i-0${i}`, p)) });
    expect(verdict(evaluate(xtLockContention, evidence))).toBe(expected);
  });

  it.each([
    ['no lock errors', 0, null, 'passed'],
    ['a lock time-out on a node', 1, null, 'HIGH'],
    ['lock time-outs only in CloudWatch', 0, 3, 'HIGH'],
  ])('judges %s in the window', (_case, nodeErrors, cloudWatch, expected) => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { logs: { kubeProxyLockErrors: nodeErrors } })],
      logs: cloudWatch === null ? null : logSignals({ kubeProxyLockErrors: cloudWatch }),
    });
    expect(verdict(evaluate(xtLockContention, evidence))).toBe(expected);
  });

  it('is MEDIUM for lock time-outs at or under a raised lockErrorsHigh, HIGH above it', () => {
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

  it('is not evaluated, never passed, on iptables-nft nodes, though the lock file exists and is held', () => {
    // AL2023: aws-node created /run/xtables.lock, but iptables-nft never takes it (applicable false)
    const nft = {
      iptables: { backend: 'nft' as const },
      kubeProxy: { iptablesBackend: 'nft' as const },
      lock: { applicable: false, samples: 20, busy: 3, waited: 0, waitersMax: 0 },
    };
    const evidence = clusterEvidence({ nodes: [reached('i-01', nft), reached('i-02', nft)] });
    expect(evaluate(xtLockContention, evidence)).toEqual({
      kind: 'not-evaluated',
      reason: 'iptables-nft does not use the xtables lock',
    });
  });

  it('judges only the legacy nodes of a cluster that has both', () => {
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', { lock: { applicable: false, samples: 20, busy: 20, waited: 20, waitersMax: 3 } }),
        reached('i-02', lock(2, 1, 1)),
      ],
    });
    const outcome = fired(evaluate(xtLockContention, evidence));
    expect(outcome.severity).toBe('MEDIUM');
    expect(outcome.evidence.nodes).toEqual(['i-02']);
    expect(outcome.evidence.values).toMatchObject({ notApplicableNodes: 1, sampledNodes: 1 });
  });

  it.each([
    ['the lock and logs sections are missing', { lock: null, logs: null }],
    [
      'waited is unknown and the logs were not read',
      { lock: { samples: 20, busy: 2, waited: null, waitersMax: null }, logs: { kubeProxyLockErrors: null } },
    ],
  ])('is not evaluated when %s', (_case, patch) => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', patch)] });
    expect(evaluate(xtLockContention, evidence).kind).toBe('not-evaluated');
  });

  it('judges a v1 report, which did not count waiters, on its logs alone', () => {
    const v1 = { schema: 'fleet-audit.collector/v1' as const };
    const busy = { lock: { samples: 20, busy: 10, waited: null, waitersMax: null } };
    const quiet = clusterEvidence({ nodes: [reached('i-01', { ...v1, ...busy })] });
    const logged = clusterEvidence({ nodes: [reached('i-01', { ...v1, ...busy, logs: { kubeProxyLockErrors: 2 } })] });
    expect(evaluate(xtLockContention, quiet)).toEqual({ kind: 'passed' });
    expect(verdict(evaluate(xtLockContention, logged))).toBe('HIGH');
  });

  it('passes on CloudWatch alone when no node could sample the lock', () => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { lock: null, logs: null })],
      logs: logSignals(),
    });
    expect(evaluate(xtLockContention, evidence)).toEqual({ kind: 'passed' });
  });

  it('names the nodes where writers waited, who held the lock and who waited', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [
        reached('i-02', {
          lock: { samples: 20, busy: 4, waited: 1, waitersMax: 1, holders: ['kube-proxy/iptables-restor'] },
        }),
        reached('i-01', {
          lock: {
            samples: 20,
            busy: 9,
            waited: 6,
            waitersMax: 2,
            holders: ['kube-proxy/iptables-restor', 'aws-k8s-agent/iptables'],
            waiters: ['aws-k8s-agent/iptables'],
          },
        }),
        reached('i-03', { lock: { samples: 20, busy: 3, waited: 0, waitersMax: 0 } }),
      ],
    });

    // Act
    const outcome = fired(evaluate(xtLockContention, evidence));

    // Assert
    expect(outcome.severity).toBe('HIGH');
    expect(outcome.evidence.nodes).toEqual(['i-01', 'i-02']);
    expect(outcome.evidence.values).toEqual({
      waitedNodes: 2,
      sampledNodes: 3,
      notApplicableNodes: 0,
      maxWaitedShare: 0.3,
      maxWaiters: 2,
      nodesAtHighShare: 1,
      busyNodes: 3,
      lockErrorsNodeLogs: 0,
      lockErrorsCloudWatch: null,
      holders: 'aws-k8s-agent/iptables, kube-proxy/iptables-restor',
      waiters: 'aws-k8s-agent/iptables',
    });
    expect(outcome.evidence.summary).toBe(
      'Writers queued for the xtables lock on 2 of 3 sampled iptables-legacy nodes (highest waited share 30 %, ' +
        'up to 2 waiting at once; held by aws-k8s-agent/iptables, kube-proxy/iptables-restor; waiting: ' +
        'aws-k8s-agent/iptables).',
    );
    expect(outcome.remediation.command).toContain(
      'kubectl --context arn:aws:eks:eu-west-1:111122223333:cluster/prod -n kube-system rollout restart daemonset/kube-proxy',
    );
  });

  it('points at other writers when kube-proxy is not in iptables mode', () => {
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', {
          kubeProxy: { mode: 'ipvs' },
          lock: { samples: 10, busy: 2, waited: 1, waitersMax: 1, holders: ['calico-node/iptables'] },
        }),
      ],
    });
    const { remediation } = fired(evaluate(xtLockContention, evidence));
    expect(remediation.configurationValues).toBeNull();
    expect(remediation.summary).toContain('(seen: calico-node/iptables)');
  });
});
