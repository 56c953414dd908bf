import { describe, expect, it } from 'vitest';
import { buildLogQuery } from '#audit/log-query.js';
import {
  type InsightsEvent,
  InsightsSyntaxError,
  parseInsightsQuery,
  runInsightsQuery,
  scannedEvents,
} from '#sim/insights.js';

const KUBE_PROXY =
  'ip-10-0-1-2.eu-west-1.compute.internal-dataplane.tail.var.log.containers.kube-proxy-x_kube-system_kube-proxy-1.log';
const KUBELET = 'ip-10-0-1-2.eu-west-1.compute.internal-dataplane.systemd.kubelet.service';
const OTHER = 'ip-10-0-1-2.eu-west-1.compute.internal-dataplane.tail.var.log.containers.app-y_default_app-2.log';

const event = (message: string, stream: string): InsightsEvent => ({
  timestamp: 0,
  message,
  stream,
  logGroup: '/aws/containerinsights/a/dataplane',
});

describe('the Logs Insights interpreter', () => {
  it('evaluates the auditor query: stream filter, then one row of sums', () => {
    // Arrange
    const events = [
      event(
        '\texit status 4: Another app is currently holding the xtables lock. Stopped waiting after 5s.',
        KUBE_PROXY,
      ),
      event('E0610 07:32:16.910840 1 proxier.go:1564] "Failed to execute iptables-restore" err=<', KUBE_PROXY),
      event(
        'I0610 trace.go:236] Trace[1]: "iptables restore" (10-Jun-2026 07:35:56.104) (total time: 6014ms):',
        KUBE_PROXY,
      ),
      event(
        'containerName="aws-node" containerMessage="Container aws-node failed liveness probe, will be restarted"',
        KUBELET,
      ),
      event('Another app is currently holding the xtables lock.', OTHER),
    ];

    // Act
    const result = runInsightsQuery(parseInsightsQuery(buildLogQuery()), events);

    // Assert
    expect(result).toEqual({
      matched: 4,
      rows: [
        [
          { field: 'kubeProxyLockErrors', value: '1' },
          { field: 'kubeProxyRestoreFailures', value: '1' },
          { field: 'kubeProxySlowRestores', value: '1' },
          { field: 'ipamdApiUnreachable', value: '0' },
          { field: 'awsNodeProbeFailures', value: '1' },
        ],
      ],
    });
  });

  it('returns no row when no event passes the filters, as Logs Insights does', () => {
    // Act
    const result = runInsightsQuery(parseInsightsQuery(buildLogQuery()), [event('holding the xtables lock', OTHER)]);

    // Assert
    expect(result).toEqual({ rows: [], matched: 0 });
  });

  it('supports and, not, parentheses, = and count(*)', () => {
    // Arrange
    const query = parseInsightsQuery(
      'filter (@logStream like "kube-proxy" and not @message like /(?i)SYNC/) or @message = "exact" | stats count(*) as n',
    );

    // Act
    const result = runInsightsQuery(query, [
      event('Sync failed', KUBE_PROXY),
      event('restore failed', KUBE_PROXY),
      event('exact', OTHER),
      event('other', OTHER),
    ]);

    // Assert
    expect(result.rows).toEqual([[{ field: 'n', value: '2' }]]);
  });

  it.each([
    ['fields @message | sort @timestamp desc', 'unsupported command "sort"'],
    ['stats sum(strcontains(@message, "x")) as n by @logStream', 'stats … by is not supported'],
    ['stats avg(x) as n', 'unsupported stats function "avg"'],
    ['filter @message like /unterminated', 'unterminated regular expression starting at 21'],
    ['stats sum(strcontains(@message, "x"))', 'expected a name, got the end of the query'],
  ])('rejects %s with a syntax error naming what is not supported', (text, message) => {
    // Act / Assert
    expect(() => parseInsightsQuery(text)).toThrow(new InsightsSyntaxError(message));
  });

  it.each([
    ['filterIndex a = "x" | filterIndex b = "y" | stats count(*) as n', 'only one filterIndex command is supported'],
    ['filterIndex a like /x/ | stats count(*) as n', 'filterIndex on a: expected = or in'],
  ])('rejects %s: filterIndex takes = and in only', (text, message) => {
    expect(() => parseInsightsQuery(text)).toThrow(new InsightsSyntaxError(message));
  });
});

describe('what a query scans (bytesScanned)', () => {
  const at = (timestamp: number, message: string, stream = KUBE_PROXY): InsightsEvent => ({
    ...event(message, stream),
    timestamp,
  });
  const record = (container: string | null, line: string) =>
    JSON.stringify({ log: line, ...(container && { kubernetes: { container_name: container } }) });
  const events = [
    at(100, record('kube-proxy', 'holding the xtables lock')),
    at(200, record('aws-node', 'Unable to reach API Server')),
    at(300, record('app', 'holding the xtables lock'), OTHER),
    at(
      400,
      JSON.stringify({ systemd_unit: 'kubelet.service', message: 'Container aws-node failed liveness probe' }),
      KUBELET,
    ),
    at(50, record('kube-proxy', 'holding the xtables lock')),
  ];
  const query = parseInsightsQuery(
    'fields @message | filterIndex kubernetes.container_name in ["kube-proxy", "aws-node"] | stats count(*) as n',
  );

  it('parses filterIndex with = and in, and reads nested JSON keys joined with dots', () => {
    expect(parseInsightsQuery('filterIndex a.b = "x" | stats count(*) as n').index).toEqual({
      field: 'a.b',
      values: ['x'],
    });
    expect(query.index).toEqual({ field: 'kubernetes.container_name', values: ['kube-proxy', 'aws-node'] });
  });

  it('without filterIndex, scans every event (a filter does not cut the bytes)', () => {
    const filtered = parseInsightsQuery('filter @logStream like /kube-proxy/ | stats count(*) as n');
    expect(scannedEvents(filtered, events, [])).toHaveLength(5);
  });

  it('with filterIndex, scans only the events the index holds with one of the values, since it was created', () => {
    const scanned = scannedEvents(query, events, [{ field: 'kubernetes.container_name', since: 100 }]);
    expect(scanned.map((e) => e.timestamp)).toEqual([100, 200]);
  });

  it('with filterIndex on a field the group does not index, scans nothing: the group is skipped', () => {
    expect(scannedEvents(query, events, [{ field: '@logStream', since: Number.NEGATIVE_INFINITY }])).toEqual([]);
  });

  it('filterIndex on the default @logStream index selects by the exact stream name', () => {
    const byStream = parseInsightsQuery(`filterIndex @logStream = "${KUBELET}" | stats count(*) as n`);
    const scanned = scannedEvents(byStream, events, [{ field: '@logStream', since: Number.NEGATIVE_INFINITY }]);
    expect(scanned.map((e) => e.timestamp)).toEqual([400]);
  });
});
