import { beforeAll, describe, expect, it } from 'vitest';
import { bytesScenario, type MeasuredNight, measureNight } from '#bench/insights-bytes.js';

/**
 * The bytes a cluster's Logs Insights query scans, through whole local runs against the simulator (the real
 * adapters and SDK): the default fleet with its dataplane records as Container Insights' Fluent Bit writes them,
 * kubelet's journal added (a line a node a minute), once with `kubernetes.container_name` indexed and once without.
 */
describe('Logs Insights bytes with and without a field index', () => {
  const LINES = 60;
  let full: MeasuredNight;
  let indexed: MeasuredNight;

  beforeAll(async () => {
    full = await measureNight(bytesScenario({ indexed: false, kubeletLinesPerNodeHour: LINES }));
    indexed = await measureNight(bytesScenario({ indexed: true, kubeletLinesPerNodeHour: LINES }));
  }, 120_000);

  it('scans less with the index, and reads the same container-log signals', () => {
    expect(full.clusters).toHaveLength(4);
    expect(indexed.clusters.map((c) => c.cluster)).toEqual(full.clusters.map((c) => c.cluster));
    for (const f of full.clusters) {
      const i = indexed.clusters.find((c) => c.cluster === f.cluster);
      expect(f.queryString, f.cluster).not.toContain('filterIndex');
      expect(i?.queryString, f.cluster).toContain(
        'filterIndex kubernetes.container_name in ["kube-proxy", "aws-node"]',
      );
      // kubelet's journal alone is ~24 × 60 records a node: the index leaves all of it unread
      expect(i?.bytesScanned ?? Number.POSITIVE_INFINITY, f.cluster).toBeLessThan(f.bytesScanned / 10);
      expect(i?.bytesScanned ?? 0, f.cluster).toBeGreaterThan(0);
      // the same counts, but the probe kills: kubelet's journal is not read, so they are unknown, not 0
      expect(f.logs, f.cluster).not.toBeNull();
      expect(i?.logs, f.cluster).toEqual({ ...f.logs, awsNodeProbeFailures: null });
    }
    // the fleet's lock errors and probe kills are there to be counted (the comparison is not of zeros)
    expect(full.clusters.some((c) => (c.logs?.kubeProxyLockErrors ?? 0) > 0)).toBe(true);
    expect(full.clusters.some((c) => (c.logs?.awsNodeProbeFailures ?? 0) > 0)).toBe(true);
    // one call a cluster: the four with a log group, and the two without (ResourceNotFoundException: no indexes)
    expect(indexed.indexCalls.filter((status) => status === 200)).toHaveLength(4);
    expect(indexed.indexCalls).toHaveLength(6);
    expect([...full.warnings, ...indexed.warnings, ...indexed.debug]).toEqual([]);
  });

  it.each([
    ['refused (AccessDenied: a member stack older than the grant)', { indexAccess: 'denied' as const }, 4],
    ['throttled (sent once, without the SDK’s retries)', { indexThrottled: true }, 6],
  ])(
    'with DescribeFieldIndexes %s, runs the full-scan query: no signal lost, a debug line',
    async (_case, fault, debugLines) => {
      const night = await measureNight(bytesScenario({ indexed: true, kubeletLinesPerNodeHour: LINES, ...fault }));

      expect(night.clusters.map((c) => [c.cluster, c.bytesScanned, c.logs])).toEqual(
        full.clusters.map((c) => [c.cluster, c.bytesScanned, c.logs]),
      );
      for (const c of night.clusters) expect(c.queryString, c.cluster).not.toContain('filterIndex');
      // one call a cluster, all refused
      expect(night.indexCalls).toEqual([400, 400, 400, 400, 400, 400]);
      expect(night.warnings).toEqual([]);
      // refused: the simulator denies on the four log groups that exist (the two clusters without one get
      // ResourceNotFoundException: no indexes, no line); throttled: all six
      expect(night.debug).toHaveLength(debugLines);
      for (const line of night.debug) expect(line).toMatch(/^field indexes of \/aws\/containerinsights\/.+ not read/);
    },
    120_000,
  );
});
