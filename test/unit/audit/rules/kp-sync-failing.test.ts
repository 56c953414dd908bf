import { describe, expect, it } from 'vitest';
import { kpSyncFailing } from '#audit/rules/kp-sync-failing.js';
import { clusterEvidence, evaluate, fired, historyPoint, logSignals, reached, verdict } from '../evidence-builders.js';

const sync = (lastSyncAgeSeconds: number | null, syncPeriod: string | null = '30s') => ({
  kubeProxy: { lastSyncAgeSeconds, syncPeriod },
});

describe('KP-SYNC-FAILING', () => {
  it.each([
    ['30s', 120, 'passed'],
    ['30s', 120.5, 'CRITICAL'],
    ['1m0s', 180, 'passed'],
    ['1m0s', 181, 'CRITICAL'],
    ['1h0m0s', 7260, 'passed'],
    ['500ms', 62, 'CRITICAL'],
  ])('with syncPeriod %s judges a last sync %f s ago as %s (2 × period + 60 s)', (period, age, expected) => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', sync(age, period))] });
    expect(verdict(evaluate(kpSyncFailing, evidence))).toBe(expected);
  });

  it.each([
    ['a null syncPeriod', null],
    ['an unparsable syncPeriod', 'thirty seconds'],
  ])('does not judge staleness on a node with %s', (_case, period) => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', { ...sync(99_999, period), logs: null })] });
    expect(evaluate(kpSyncFailing, evidence).kind).toBe('not-evaluated');
  });

  it('reads the stale-sync factor and grace from the thresholds', () => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', sync(100))] });
    expect(verdict(evaluate(kpSyncFailing, evidence, { staleSyncFactor: 1, staleSyncGraceSeconds: 69 }))).toBe(
      'CRITICAL',
    );
    expect(verdict(evaluate(kpSyncFailing, evidence, { staleSyncFactor: 1, staleSyncGraceSeconds: 70 }))).toBe(
      'passed',
    );
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
      nodes: [reached('i-01', { kubeProxy: { lastSyncAgeSeconds: null, restoreFailures: 7 }, logs: null })],
    });
    expect(evaluate(kpSyncFailing, evidence).kind).toBe('not-evaluated');
  });

  it('makes a stale sync CRITICAL over restore failures, and recommends a restart after reading the logs', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { ...sync(400), logs: { kubeProxyRestoreFailures: 12 } }), reached('i-02', sync(20))],
    });

    // Act
    const outcome = fired(evaluate(kpSyncFailing, evidence));

    // Assert
    expect(outcome.severity).toBe('CRITICAL');
    expect(outcome.evidence.summary).toBe(
      '1 node last synced up to 400 s ago (limit 120 s); kube-proxy logged 12 iptables-restore failures.',
    );
    expect(outcome.evidence.values).toMatchObject({ staleNodes: 1, judgedNodes: 2, syncPeriod: '30s' });
    expect(outcome.remediation.command).toBe('kubectl -n kube-system rollout restart daemonset/kube-proxy');
  });
});
