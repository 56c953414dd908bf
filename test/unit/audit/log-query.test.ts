import { describe, expect, it } from 'vitest';
import { buildLogQuery, type FieldIndexInfo, indexedSelection, readLogSignals } from '#audit/log-query.js';

const WINDOW_START = Date.parse('2026-12-07T02:00:00Z');
const DAY = 86_400_000;
const containerIndex = (extra: Partial<FieldIndexInfo> = {}): FieldIndexInfo => ({
  name: 'kubernetes.container_name',
  category: 'CUSTOM',
  type: 'FIELD_INDEX',
  firstEventTime: WINDOW_START - 3 * DAY,
  ...extra,
});

describe('the log query builder', () => {
  it('without a selection, filters the kube-proxy and aws-node streams and kubelet’s aws-node lines', () => {
    expect(buildLogQuery()).toBe(
      [
        'fields @message',
        '| filter @logStream like /kube-proxy|aws-node/ or @message like /aws-node/',
        '| stats sum(strcontains(@message, "holding the xtables lock")) as kubeProxyLockErrors, ' +
          'sum(strcontains(@message, "Failed to execute iptables-restore")) as kubeProxyRestoreFailures, ' +
          'sum(strcontains(@message, "iptables restore")) as kubeProxySlowRestores, ' +
          'sum(strcontains(@message, "Unable to reach API Server")) as ipamdApiUnreachable, ' +
          'sum(strcontains(@message, "Container aws-node failed liveness probe")) as awsNodeProbeFailures',
      ].join('\n'),
    );
  });

  it('with a selection, starts with filterIndex … in […] and leaves out the count kubelet’s journal holds', () => {
    const query = buildLogQuery({ field: 'kubernetes.container_name', values: ['kube-proxy', 'aws-node'] });
    expect(query.split('\n').slice(0, 2)).toEqual([
      'fields @message',
      '| filterIndex kubernetes.container_name in ["kube-proxy", "aws-node"]',
    ]);
    expect(query).not.toContain('| filter ');
    expect(query).toContain('as ipamdApiUnreachable');
    expect(query).not.toContain('awsNodeProbeFailures');
  });
});

describe('choosing a field index', () => {
  it('uses an active custom index on the container name that holds events from before the window', () => {
    expect(indexedSelection([{ name: '@logStream', category: 'DEFAULT' }, containerIndex()], WINDOW_START)).toEqual({
      field: 'kubernetes.container_name',
      values: ['kube-proxy', 'aws-node'],
    });
  });

  it.each([
    ['no index on the field', [{ name: '@logStream', category: 'DEFAULT', firstEventTime: 0 }]],
    [
      'an index younger than the window (filterIndex returns nothing from before it)',
      [containerIndex({ firstEventTime: WINDOW_START + 1 })],
    ],
    ['an index that holds no event yet', [containerIndex({ firstEventTime: undefined })]],
    ['an inactive index', [containerIndex({ category: 'INACTIVE' })]],
    ['a facet, not a field index', [containerIndex({ type: 'FACET' })]],
    ['an index on another field', [containerIndex({ name: 'kubernetes.pod_name' })]],
  ])('falls back to the full scan with %s', (_case, indexes) => {
    expect(indexedSelection(indexes as FieldIndexInfo[], WINDOW_START)).toBeNull();
  });

  it('takes an index whose first event is exactly the window start', () => {
    expect(indexedSelection([containerIndex({ firstEventTime: WINDOW_START })], WINDOW_START)).not.toBeNull();
  });
});

describe('reading the signals', () => {
  const row = {
    kubeProxyLockErrors: '3',
    kubeProxyRestoreFailures: '2',
    kubeProxySlowRestores: '1',
    ipamdApiUnreachable: '4',
    awsNodeProbeFailures: '5',
  };

  it('reads every count from the full-scan query', () => {
    expect(readLogSignals('/g', 24, [row])).toMatchObject({ kubeProxyLockErrors: 3, awsNodeProbeFailures: 5 });
  });

  it('leaves the probe-kill count unknown after an indexed query, even with no row at all', () => {
    expect(readLogSignals('/g', 24, [row], true).awsNodeProbeFailures).toBeNull();
    expect(readLogSignals('/g', 24, [], true)).toEqual({
      logGroup: '/g',
      windowHours: 24,
      kubeProxyLockErrors: 0,
      kubeProxyRestoreFailures: 0,
      kubeProxySlowRestores: 0,
      ipamdApiUnreachable: 0,
      awsNodeProbeFailures: null,
    });
  });
});
