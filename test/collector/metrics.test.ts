import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  awkPathDir,
  CLOSED_URL,
  realFixtures,
  removeDir,
  runCollector,
  section,
  startHttpServer,
  type TestHttpServer,
  WITHOUT_CURL,
} from './harness.js';

// kube-proxy's /proxyMode and /metrics, and the instance metadata service, served from a loopback server in
// this process; the collector runs on the host side (no namespace) so it can reach it. Reading the host's
// iptables there is harmless: the collector only runs *-save tools.

const realMetrics = readFileSync(join(realFixtures, 'kube-proxy-v1.21.1-metrics.txt'), 'utf8');
const FIXTURE_LAST_SYNC = 1641503918.3133824;

const LE = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384];

/** Histogram lines for one label set, from counts per bucket (not cumulative) keyed by upper bound. */
function histogram(name: string, labels: string, perBucket: Readonly<Record<number, number>>, sum: number): string[] {
  const prefix = labels ? `${labels},` : '';
  let cumulative = 0;
  const lines = LE.map((le) => {
    cumulative += perBucket[le] ?? 0;
    return `${name}_bucket{${prefix}le="${le}"} ${cumulative}`;
  });
  const total = cumulative + (perBucket[Number.POSITIVE_INFINITY] ?? 0);
  lines.push(`${name}_bucket{${prefix}le="+Inf"} ${total}`);
  const suffix = labels ? `{${labels}}` : '';
  lines.push(`${name}_sum${suffix} ${sum}`, `${name}_count${suffix} ${total}`);
  return lines;
}

/** Go's %e-like rendering of an epoch second count, as Prometheus clients print gauges. */
function goFloat(seconds: number): string {
  return `${(seconds / 1e9).toFixed(10)}e+09`;
}

/**
 * A kube-proxy 1.33-style scrape: ip_family labels on every family-dependent series, the full and partial
 * sync histograms beside the overall one, partial restore failures. IPv4 alone would put p99 at 2.048 and
 * IPv6 alone at 8.192; summed, the 495th of 500 syncs is in the 4.096 bucket.
 */
function modernMetrics(nowSeconds: number): string {
  const name = 'kubeproxy_sync_proxy_rules_duration_seconds';
  return [
    `# HELP ${name} [ALPHA] SyncProxyRules latency in seconds`,
    `# TYPE ${name} histogram`,
    ...histogram(
      name,
      'ip_family="IPv4"',
      { 0.064: 100, 0.128: 150, 0.256: 100, 0.512: 30, 1.024: 10, 2.048: 6, 4.096: 2, 8.192: 2 },
      180.25,
    ),
    ...histogram(name, 'ip_family="IPv6"', { 0.064: 60, 0.128: 30, 0.256: 5, 4.096: 2, 8.192: 3 }, 40.5),
    '# TYPE kubeproxy_sync_full_proxy_rules_duration_seconds histogram',
    ...histogram('kubeproxy_sync_full_proxy_rules_duration_seconds', 'ip_family="IPv4"', { 16.384: 7 }, 100),
    '# TYPE kubeproxy_sync_partial_proxy_rules_duration_seconds histogram',
    ...histogram('kubeproxy_sync_partial_proxy_rules_duration_seconds', 'ip_family="IPv4"', { 0.001: 9 }, 0.005),
    '# TYPE kubeproxy_sync_proxy_rules_iptables_restore_failures_total counter',
    'kubeproxy_sync_proxy_rules_iptables_restore_failures_total{ip_family="IPv4"} 3',
    'kubeproxy_sync_proxy_rules_iptables_restore_failures_total{ip_family="IPv6"} 1',
    '# TYPE kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total counter',
    'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total{ip_family="IPv4"} 2',
    'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total{ip_family="IPv6"} 0',
    'kubeproxy_sync_proxy_rules_iptables_total{ip_family="IPv4",table="nat"} 41005',
    `kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{ip_family="IPv4"} ${goFloat(nowSeconds - 10)}`,
    `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"} ${goFloat(nowSeconds - 100.5)}`,
    `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv6"} ${goFloat(nowSeconds - 40)}`,
    'kubernetes_build_info{git_version="v1.33.1",major="1",minor="33"} 1',
    '',
  ].join('\n');
}

describe('kube-proxy metrics', () => {
  let server: TestHttpServer | undefined;
  const awkDirs = { gawk: '', mawk: '', busybox: '' };
  beforeAll(() => {
    for (const awk of ['gawk', 'mawk', 'busybox'] as const) awkDirs[awk] = awkPathDir(awk);
  });
  afterAll(() => {
    for (const dir of Object.values(awkDirs)) removeDir(dir);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it.each(['gawk', 'mawk', 'busybox'] as const)(
    'reads the real v1.21.1 scrape: 23 syncs, 9.3710718 s, p99 bucket 2.048 s, no partial-restore counter (awk: %s)',
    async (awk) => {
      // Arrange
      server = await startHttpServer({ '/proxyMode': { body: 'iptables' }, '/metrics': { body: realMetrics } });

      // Act
      const run = await runCollector({ env: { FLEET_AUDIT_KUBE_PROXY_URL: server.url }, pathPrefix: awkDirs[awk] });

      // Assert
      const kubeProxy = section(run, 'kubeProxy');
      expect(kubeProxy).toMatchObject({
        mode: 'iptables',
        syncCount: 23,
        syncSecondsSum: 9.3710718,
        syncP99Seconds: 2.048,
        syncP99LowerSeconds: 1.024,
        restoreFailures: 0,
        partialRestoreFailures: null,
      });
      expect(kubeProxy.lastSyncAgeSeconds).toBeCloseTo(Date.now() / 1000 - FIXTURE_LAST_SYNC, -1);
      expect(run.json.errors).not.toContainEqual(expect.stringMatching(/^kube-proxy: \/(proxyMode|metrics)/));
      expect(server.requests).toEqual(['GET /proxyMode', 'GET /configz', 'GET /metrics']);
    },
  );

  it.each(['gawk', 'mawk', 'busybox'] as const)(
    'sums ip_family label sets of a 1.33-style scrape and ignores the full and partial histograms (awk: %s)',
    async (awk) => {
      // Arrange
      const now = Date.now() / 1000;
      server = await startHttpServer({
        '/proxyMode': { body: 'iptables\n' },
        '/metrics': { body: modernMetrics(now) },
      });

      // Act
      const run = await runCollector({
        env: { FLEET_AUDIT_KUBE_PROXY_URL: `${server.url}/` },
        pathPrefix: awkDirs[awk],
      });

      // Assert
      const kubeProxy = section(run, 'kubeProxy');
      expect(kubeProxy).toMatchObject({
        mode: 'iptables',
        syncCount: 500,
        syncSecondsSum: 220.75,
        syncP99Seconds: 4.096,
        syncP99LowerSeconds: 2.048,
        restoreFailures: 4,
        partialRestoreFailures: 2,
      });
      // the stalest family's last sync: IPv4, 100.5 s before the scrape (the collector counts whole seconds)
      expect(kubeProxy.lastSyncAgeSeconds).toBeGreaterThanOrEqual(99);
      expect(kubeProxy.lastSyncAgeSeconds).toBeLessThan(110);
    },
  );

  it('gives the top finite bound as the p99 lower bound when the 99th percentile is in +Inf, and nulls when there were no syncs', async () => {
    // Arrange
    const name = 'kubeproxy_sync_proxy_rules_duration_seconds';
    const inInf = histogram(name, '', { 0.512: 90, 16.384: 8, [Number.POSITIVE_INFINITY]: 2 }, 500).join('\n');
    const none = histogram(name, '', {}, 0).join('\n');
    server = await startHttpServer({ '/proxyMode': { body: 'ipvs' }, '/metrics': { body: `${inInf}\n` } });
    const second = await startHttpServer({ '/proxyMode': { body: 'nftables' }, '/metrics': { body: `${none}\n` } });

    try {
      // Act
      const infRun = await runCollector({ env: { FLEET_AUDIT_KUBE_PROXY_URL: server.url } });
      const noneRun = await runCollector({ env: { FLEET_AUDIT_KUBE_PROXY_URL: second.url } });

      // Assert
      expect(section(infRun, 'kubeProxy')).toMatchObject({
        mode: 'ipvs',
        syncCount: 100,
        syncSecondsSum: 500,
        syncP99Seconds: null,
        // kube-proxy's largest finite bucket: the p99 is at least 16.384 s, not unknown
        syncP99LowerSeconds: 16.384,
        lastSyncAgeSeconds: null,
        restoreFailures: null,
        partialRestoreFailures: null,
      });
      expect(section(noneRun, 'kubeProxy')).toMatchObject({
        mode: 'nftables',
        syncCount: 0,
        syncSecondsSum: 0,
        syncP99Seconds: null,
        syncP99LowerSeconds: null,
      });
    } finally {
      await second.close();
    }
  });

  it('leaves every field null, says why, exits 0 and prints valid JSON when nothing listens', async () => {
    // Arrange: the default CLOSED_URL

    // Act
    const run = await runCollector({ env: { FLEET_AUDIT_KUBE_PROXY_URL: CLOSED_URL } });

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe('');
    expect(section(run, 'kubeProxy')).toMatchObject({
      mode: null,
      syncCount: null,
      syncSecondsSum: null,
      syncP99Seconds: null,
      lastSyncAgeSeconds: null,
      restoreFailures: null,
      partialRestoreFailures: null,
    });
    expect(run.json.errors).toContain('kube-proxy: /proxyMode not reachable');
  });

  it('gives up on an endpoint that never answers within its time-out, and says so', async () => {
    // Arrange
    server = await startHttpServer({ '/proxyMode': 'hang', '/metrics': 'hang' });

    // Act
    const run = await runCollector({ env: { FLEET_AUDIT_KUBE_PROXY_URL: server.url } });

    // Assert
    expect(run.exitCode).toBe(0);
    expect(run.wallMs).toBeLessThan(5000);
    expect(section(run, 'kubeProxy').mode).toBeNull();
    expect(run.json.errors).toContain('kube-proxy: /proxyMode timed out');
    expect(server.requests).toEqual(['GET /proxyMode']);
  });

  it('keeps the mode and reports an HTTP error when /metrics fails', async () => {
    // Arrange
    server = await startHttpServer({ '/proxyMode': { body: 'iptables' }, '/metrics': { status: 500, body: 'boom' } });

    // Act
    const run = await runCollector({ env: { FLEET_AUDIT_KUBE_PROXY_URL: server.url } });

    // Assert
    expect(section(run, 'kubeProxy')).toMatchObject({ mode: 'iptables', syncCount: null, restoreFailures: null });
    expect(run.json.errors).toContain('kube-proxy: /metrics HTTP error');
  });
});

describe('instance metadata', () => {
  const token = 'AQAEAFake-Token_value==';
  let server: TestHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function imdsAndKubeProxy(): Promise<TestHttpServer> {
    return startHttpServer(
      {
        'PUT /latest/api/token': { body: token },
        '/latest/meta-data/instance-id': { body: 'i-0123456789abcdef0' },
        '/proxyMode': { body: 'iptables' },
        '/metrics': { body: realMetrics },
      },
      (request) =>
        request.url !== '/latest/meta-data/instance-id' || request.headers['x-aws-ec2-metadata-token'] === token,
    );
  }

  it('reads the instance id with an IMDSv2 token', async () => {
    // Arrange
    server = await imdsAndKubeProxy();

    // Act
    const run = await runCollector({ env: { FLEET_AUDIT_IMDS_URL: server.url } });

    // Assert
    expect(section(run, 'node').instanceId).toBe('i-0123456789abcdef0');
    expect(server.requests).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/instance-id']);
  });

  it('falls back to bash /dev/tcp for IMDS and kube-proxy when curl is not there', async () => {
    // Arrange
    server = await imdsAndKubeProxy();

    // Act
    const run = await runCollector({
      prefix: WITHOUT_CURL,
      env: { FLEET_AUDIT_IMDS_URL: server.url, FLEET_AUDIT_KUBE_PROXY_URL: server.url },
    });

    // Assert
    expect(section(run, 'node').instanceId).toBe('i-0123456789abcdef0');
    expect(section(run, 'kubeProxy')).toMatchObject({ mode: 'iptables', syncCount: 23, syncP99Seconds: 2.048 });
  });

  it('reports a null instance id and why when IMDS is unreachable', async () => {
    // Arrange: the default CLOSED_URL

    // Act
    const run = await runCollector();

    // Assert
    expect(section(run, 'node').instanceId).toBeNull();
    expect(run.json.errors).toContain('instanceId: IMDSv2 token not reachable');
  });
});
