import { describe, expect, it } from 'vitest';
import { kpSyncFailing } from '#audit/rules/kp-sync-failing.js';
import { clusterEvidence, evaluate, fired, historyPoint, logSignals, reached, verdict } from '../evidence-builders.js';

/** A node whose kube-proxy last synced `lastSyncAgeSeconds` ago, with `lastQueuedAgeSeconds` of change waiting. */
const sync = (
  lastSyncAgeSeconds: number | null,
  lastQueuedAgeSeconds: number | null,
  mode: 'iptables' | 'ipvs' | 'nftables' = 'iptables',
  periods: { syncPeriod?: string | null; minSyncPeriod?: string | null } = {},
) => ({
  kubeProxy: { mode, lastSyncAgeSeconds, lastQueuedAgeSeconds, syncPeriod: '30s', minSyncPeriod: '1s', ...periods },
});

describe('KP-SYNC-FAILING', () => {
  // In iptables and nftables mode the sync runner may wait up to an hour on a quiet cluster
  // (NewBoundedFrequencyRunner(..., minSyncPeriod, time.Hour, ...)): an old last sync alone is not a failure.
  it.each([
    ['iptables', 'passed'],
    ['nftables', 'passed'],
    ['ipvs', 'CRITICAL'],
  ] as const)('judges a quiet %s node that last synced 50 min ago, nothing queued, as %s', (mode, expected) => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', sync(3000, 0, mode))] });
    expect(verdict(evaluate(kpSyncFailing, evidence))).toBe(expected);
  });

  it.each([
    // limit: max(2 × minSyncPeriod, 60 s) + 60 s
    ['1s', 120, 'passed'],
    ['1s', 120.5, 'CRITICAL'],
    ['45s', 150, 'passed'],
    ['45s', 151, 'CRITICAL'],
    // kube-proxy runs with 1 s where the file says 0s (v1alpha1 defaulting); null reads the same
    ['0s', 121, 'CRITICAL'],
    [null, 121, 'CRITICAL'],
  ])('with minSyncPeriod %s judges a change queued %f s ago as %s', (minSyncPeriod, queued, expected) => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', sync(10, queued, 'iptables', { minSyncPeriod }))] });
    expect(verdict(evaluate(kpSyncFailing, evidence))).toBe(expected);
  });

  it.each([
    ['30s', 120, 'passed'],
    ['30s', 120.5, 'CRITICAL'],
    ['1m0s', 181, 'CRITICAL'],
    ['1h0m0s', 7260, 'passed'],
  ])(
    'in ipvs mode with syncPeriod %s judges a last sync %f s ago as %s (2 × period + 60 s)',
    (period, age, expected) => {
      const evidence = clusterEvidence({
        nodes: [reached('i-01', sync(age, null, 'ipvs', { syncPeriod: period }))],
      });
      expect(verdict(evaluate(kpSyncFailing, evidence))).toBe(expected);
    },
  );

  it.each([
    ['a null syncPeriod', null],
    ['an unparsable syncPeriod', 'thirty seconds'],
  ])('does not judge an ipvs node’s sync age with %s', (_case, period) => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { ...sync(99_999, null, 'ipvs', { syncPeriod: period }), logs: null })],
    });
    expect(evaluate(kpSyncFailing, evidence).kind).toBe('not-evaluated');
  });

  it('does not judge a v1 iptables node’s sync age, which had no queued age', () => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { schema: 'fleet-audit.collector/v1', ...sync(99_999, null), logs: null })],
    });
    expect(evaluate(kpSyncFailing, evidence).kind).toBe('not-evaluated');
  });

  it('reads the stale-sync factor, floor and grace from the thresholds', () => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', sync(10, 100))] });
    const judged = (t: Parameters<typeof evaluate>[2]) => verdict(evaluate(kpSyncFailing, evidence, t));
    expect(judged({ staleSyncFloorSeconds: 30, staleSyncGraceSeconds: 69 })).toBe('CRITICAL');
    expect(judged({ staleSyncFloorSeconds: 30, staleSyncGraceSeconds: 70 })).toBe('passed');
    expect(judged({ staleSyncFactor: 50, staleSyncFloorSeconds: 0, staleSyncGraceSeconds: 49 })).toBe('CRITICAL');
    expect(judged({ staleSyncFactor: 50, staleSyncFloorSeconds: 0, staleSyncGraceSeconds: 50 })).toBe('passed');
  });

  it.each([
    ['no failures logged', 0, null, 'passed'],
    ['one failure logged on a node', 1, null, 'HIGH'],
    ['failures only in CloudWatch', 0, 4, 'HIGH'],
  ])('judges %s', (_case, nodeCount, cloudWatch, expected) => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { logs: { kubeProxyRestoreFailures: nodeCount } })],
      logs: cloudWatch === null ? null : logSignals({ kubeProxyRestoreFailures: cloudWatch }),
    });
    expect(verdict(evaluate(kpSyncFailing, evidence))).toBe(expected);
  });

  it.each([
    ['rose from 5 to 6', 5, 6, 'HIGH'],
    ['stayed at 6', 6, 6, 'passed'],
    ['dropped (restarts)', 9, 2, 'passed'],
  ])('with history, the counter that %s is %s', (_case, before, now, expected) => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { kubeProxy: { restoreFailures: now } })],
      history: [historyPoint(2, 100, 0), historyPoint(1, 100, before)],
    });
    expect(verdict(evaluate(kpSyncFailing, evidence))).toBe(expected);
  });

  it('compares with the most recent earlier run that knew the counter, and sums over nodes', () => {
    // Arrange: the last run did not know the counter; the one before saw 3
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', { kubeProxy: { restoreFailures: 2 }, logs: null }),
        reached('i-02', { kubeProxy: { restoreFailures: 2 }, logs: null }),
        reached('i-03', { kubeProxy: { restoreFailures: null }, logs: null }),
      ],
      history: [historyPoint(2, 100, 3), historyPoint(1, 100, null)],
    });

    // Act
    const outcome = fired(evaluate(kpSyncFailing, evidence));

    // Assert
    expect(outcome.severity).toBe('HIGH');
    expect(outcome.evidence.values).toMatchObject({
      restoreFailuresCounter: 4,
      restoreFailuresPrevious: 3,
      previousRunAt: historyPoint(2, 0).at,
    });
    expect(outcome.evidence.nodes).toEqual(['i-01', 'i-02']);
  });

  it('is not evaluated without logs, sync ages or an earlier counter', () => {
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', {
          kubeProxy: { lastSyncAgeSeconds: null, lastQueuedAgeSeconds: null, restoreFailures: 7 },
          logs: null,
        }),
      ],
    });
    expect(evaluate(kpSyncFailing, evidence).kind).toBe('not-evaluated');
  });

  it('makes a stale sync CRITICAL over restore failures, and recommends a restart after reading the logs', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', { ...sync(400, 400), logs: { kubeProxyRestoreFailures: 12 } }),
        reached('i-02', sync(3000, 0)),
      ],
    });

    // Act
    const outcome = fired(evaluate(kpSyncFailing, evidence));

    // Assert
    expect(outcome.severity).toBe('CRITICAL');
    expect(outcome.evidence.summary).toBe(
      'A Service or endpoint change has waited up to 400 s for a sync on 1 node (limit 120 s); kube-proxy logged 12 ' +
        'iptables-restore failures (on 1 node).',
    );
    expect(outcome.evidence.nodes).toEqual(['i-01']);
    expect(outcome.evidence.values).toMatchObject({ staleNodes: 1, judgedNodes: 2, maxQueuedAgeSeconds: 400 });
    expect(outcome.remediation.command).toBe(
      'kubectl --context arn:aws:eks:eu-west-1:111122223333:cluster/prod -n kube-system rollout restart daemonset/kube-proxy',
    );
  });
});
