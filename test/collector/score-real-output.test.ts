import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Finding, RunResultSchema } from '#audit/model.js';
import { readErrors } from '#audit/rules/audit-coverage.js';
import {
  type CollectorRun,
  createNetns,
  deleteNetns,
  loadRuleset,
  makeTempDir,
  removeDir,
  repoRoot,
  runCollector,
  startHttpServer,
  type TestHttpServer,
} from './harness.js';
import { generateKubeRuleset } from './kube-ruleset.js';

// Issue 4 acceptance: `fleet-audit score` on what the real collector printed. Four nodes of one cluster, each
// the real collect.sh as root in a network namespace of its own with real iptables rules:
//   A  iptables-legacy, 1,200 Services; the lock held during the run; kube-proxy metrics with a slow p99 and
//      restore failures; kube-proxy logs with lock time-outs in the window; aws-node restarted 4 times
//   B  the same Services, quiet
//   C  the same Services in iptables-legacy plus a stale set in iptables-nft (mixed); kube-proxy metrics and
//      IMDS not reachable, no logs (so it is named after its file)
//   D  an AL2023-like node: the same Services in iptables-nft, no lock file (an expected `errors` line there,
//      which AUDIT-COVERAGE must not report), quiet logs and ipamd.log
// Metrics and IMDS come from a server in this process, reached over a veth pair. Each collector runs as PID 1 of
// a private PID namespace with its own /proc: it sees neither the kube-proxy/aws-k8s-agent stand-ins that
// processes.test.ts starts (so no node here has those processes) nor other files' locks, and A's lock holder
// runs inside it (/proc/locks lists only locks of processes the namespace can see); the kernel ends the holder
// when the collector exits. No stand-in named like a real process is started here, as the host's /proc would
// show it to the collector runs of other files.

const exec = promisify(execFile);

const HOUR = 3_600_000;
const SERVICES = 1200;
const big = generateKubeRuleset({ services: SERVICES, noEndpointsEvery: SERVICES + 1 });
const stale = generateKubeRuleset({ services: 100, namespace: 'stale', noEndpointsEvery: 101 });

const ID = { A: 'i-0aaa1111aaaa1111a', B: 'i-0bbb2222bbbb2222b', D: 'i-0ddd4444dddd4444d' } as const;
type NodeName = 'A' | 'B' | 'C' | 'D';
const NODES: readonly NodeName[] = ['A', 'B', 'C', 'D'];

const KUBE_PROXY_PODS = 'var/log/pods/kube-system_kube-proxy-7xk2p_1b2c3d4e-1111-2222-3333-444455556666';
const AWS_NODE_PODS = 'var/log/pods/kube-system_aws-node-q8m4z_5a6b7c8d-1111-2222-3333-444455556666';
const LOCK_TIMEOUT = '\texit status 4: Another app is currently holding the xtables lock. Stopped waiting after 5s.';

/** A CRI log line as containerd writes it. */
function cri(at: number, text: string): string {
  return `${new Date(at).toISOString().replace(/Z$/, '123456Z')} stderr F ${text}`;
}

/** Writes a log file under `root` (making its folders), modified at `modified`. */
function plant(root: string, path: string, lines: readonly string[], modified: number): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, `${lines.join('\n')}\n`);
  utimesSync(full, modified / 1000, modified / 1000);
}

/** kube-proxy's /metrics: the sync histogram from syncs per bucket, the restore-failure counter, the last sync. */
function kubeProxyMetrics(perBucket: Readonly<Record<number, number>>, restoreFailures: number, lastSync: number) {
  const name = 'kubeproxy_sync_proxy_rules_duration_seconds';
  const bounds = [
    0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384,
  ];
  let cumulative = 0;
  let sum = 0;
  const buckets = bounds.map((le) => {
    cumulative += perBucket[le] ?? 0;
    sum += (perBucket[le] ?? 0) * le * 0.75;
    return `${name}_bucket{le="${le}"} ${cumulative}`;
  });
  return [
    `# TYPE ${name} histogram`,
    ...buckets,
    `${name}_bucket{le="+Inf"} ${cumulative}`,
    `${name}_sum ${sum.toFixed(3)}`,
    `${name}_count ${cumulative}`,
    '# TYPE kubeproxy_sync_proxy_rules_iptables_restore_failures_total counter',
    `kubeproxy_sync_proxy_rules_iptables_restore_failures_total ${restoreFailures}`,
    '# TYPE kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total counter',
    'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total 0',
    '# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge',
    `kubeproxy_sync_proxy_rules_last_timestamp_seconds ${(lastSync / 1000).toFixed(3)}`,
    '',
  ].join('\n');
}

/** Routes of a node's metrics-and-IMDS server. */
function nodeRoutes(instanceId: string, metrics: string) {
  return {
    '/proxyMode': { body: 'iptables' },
    '/metrics': { body: metrics },
    // kube-proxy's internal configuration as /configz serves it before Kubernetes 1.31 (Go field names)
    '/configz': {
      body: '{"kubeproxy.config.k8s.io":{"Mode":"iptables","IPTables":{"MasqueradeAll":false,"MasqueradeBit":14,"SyncPeriod":"30s","MinSyncPeriod":"1s"},"IPVS":{"SyncPeriod":"30s","MinSyncPeriod":"0s"}}}',
    },
    'PUT /latest/api/token': { body: 'AQAEAFakeTokenForTests==' },
    '/latest/meta-data/instance-id': { body: instanceId },
  };
}

/**
 * A `runCollector` prefix: a private PID namespace with its own /proc; with `holdLock`, a renamed flock holds that
 * file from inside it, waited for until /proc/locks shows the lock, before the collector execs.
 */
function privateNode(bin: string, holdLock?: string): string[] {
  const script = [
    'bin=$1 lock=$2; shift 2',
    'if [ -n "$lock" ]; then',
    '  "$bin/fa-lock-holder" "$lock" sleep 300 </dev/null >/dev/null 2>&1 &',
    '  tries=0',
    '  until grep -q FLOCK /proc/locks; do',
    '    tries=$((tries + 1))',
    '    if [ "$tries" -gt 500 ]; then echo "the lock holder did not take the lock" >&2; exit 1; fi',
    '    sleep 0.01',
    '  done',
    'fi',
    'exec "$@"',
  ].join('\n');
  return ['unshare', '--pid', '--fork', '--mount-proc', 'sh', '-c', script, 'fa-node', bin, holdLock ?? ''];
}

/** Runs the real CLI. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, ['bin/fleet-audit.js', ...args], { cwd: repoRoot }, (error, stdout, stderr) => {
      resolvePromise({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('fleet-audit score on real collector output', () => {
  const namespaces: string[] = [];
  const servers: TestHttpServer[] = [];
  const runs = {} as Record<NodeName, CollectorRun>;
  const files = {} as Record<NodeName, string>;
  let dir: string;
  let noLockFile: string;

  /**
   * A namespace joined to the host by a veth pair (198.18.0.0/15, the benchmarking range); resolves with the host
   * side's address. The namespace's end is named vlan0 because the ruleset's VPC CNI SNAT rule (`! -o vlan+ …
   * -j SNAT --to-source 10.0.1.10`) leaves vlan interfaces alone: through any other name the collector's requests
   * would leave as 10.0.1.10, which the host cannot answer.
   */
  async function nodeNamespace(index: number, subnet: number): Promise<{ netns: string; host: string }> {
    const netns = await createNetns();
    namespaces.push(netns);
    const hostLink = `${netns}h`;
    const host = `198.18.${subnet}.${4 * index + 1}`;
    await exec('ip', ['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', 'vlan0', 'netns', netns]);
    await exec('ip', ['addr', 'add', `${host}/30`, 'dev', hostLink]);
    await exec('ip', ['link', 'set', hostLink, 'up']);
    await exec('ip', ['-n', netns, 'addr', 'add', `198.18.${subnet}.${4 * index + 2}/30`, 'dev', 'vlan0']);
    await exec('ip', ['-n', netns, 'link', 'set', 'vlan0', 'up']);
    return { netns, host };
  }

  beforeAll(async () => {
    dir = makeTempDir('fa-score-real-');
    const now = Date.now();
    const subnet = Math.floor(Math.random() * 256);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    copyFileSync('/usr/bin/flock', join(bin, 'fa-lock-holder'));
    const loadLock = join(dir, 'load.lock');
    const lock = (node: NodeName) => join(dir, node, 'xtables.lock');
    const root = (node: NodeName) => join(dir, node, 'root');
    for (const node of ['A', 'B', 'C'] as const) {
      mkdirSync(join(dir, node), { recursive: true });
      writeFileSync(lock(node), '', { mode: 0o600 });
    }
    noLockFile = lock('D');

    // A: three lock time-outs with failed restores in the window (a fourth, 30 h ago, is outside it), a slow
    // restore trace, and aws-node on its fifth container (0.log … 4.log).
    const incident = (at: number) => [
      cri(at, 'E0610 07:32:16.910840       1 proxier.go:1564] "Failed to execute iptables-restore" err=<'),
      cri(at, LOCK_TIMEOUT),
      cri(at, ' > ipFamily="IPv4"'),
      cri(at, 'E0610 07:32:16.910900       1 proxier.go:832] "Sync failed" ipFamily="IPv4" retryingTime="30s"'),
    ];
    plant(
      root('A'),
      `${KUBE_PROXY_PODS}/kube-proxy/0.log`,
      [
        ...incident(now - 30 * HOUR),
        ...incident(now - 9 * HOUR),
        cri(
          now - 5 * HOUR,
          'I0610 11:02:41.141000       1 trace.go:236] Trace[1591999613]: "iptables restore" ipFamily="IPv4" (10-Jun-2026 11:02:36.128) (total time: 5013ms):',
        ),
        ...incident(now - 5 * HOUR),
        ...incident(now - HOUR),
      ],
      now - HOUR,
    );
    for (let n = 0; n <= 4; n++) {
      plant(root('A'), `${AWS_NODE_PODS}/aws-node/${n}.log`, [cri(now - 6 * HOUR, 'Starting aws-node')], now - HOUR);
    }
    // B and D: quiet logs; D also has ipamd.log, which names the VPC CNI version.
    for (const node of ['B', 'D'] as const) {
      plant(
        root(node),
        `${KUBE_PROXY_PODS}/kube-proxy/0.log`,
        [
          cri(now - 20 * HOUR, 'I0610 02:00:00.000000       1 server_linux.go:66] "Using iptables proxy"'),
          cri(now - 2 * HOUR, 'I0610 20:00:00.000000       1 proxier.go:805] "Syncing iptables rules"'),
        ],
        now - 2 * HOUR,
      );
      plant(root(node), `${AWS_NODE_PODS}/aws-node/0.log`, [cri(now - 20 * HOUR, 'Starting aws-node')], now - HOUR);
    }
    const ipamd = (at: number, msg: string) =>
      `{"level":"info","ts":"${new Date(at).toISOString()}","caller":"aws-k8s-agent/main.go:42","msg":"${msg}"}`;
    plant(
      root('D'),
      'var/log/aws-routed-eni/ipamd.log',
      [ipamd(now - 20 * HOUR, 'Starting L-IPAMD v1.20.4-eksbuild.2  ...'), ipamd(now - HOUR, 'Reconciled ENI')],
      now - HOUR,
    );

    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map((i) => nodeNamespace(i, subnet)));
    if (!a || !b || !c || !d) throw new Error('namespaces missing');
    await Promise.all([
      loadRuleset(a.netns, 'legacy', big.text, loadLock),
      loadRuleset(b.netns, 'legacy', big.text, loadLock),
      loadRuleset(c.netns, 'legacy', big.text, loadLock),
      loadRuleset(c.netns, 'nft', stale.text, loadLock),
      loadRuleset(d.netns, 'nft', big.text, loadLock),
    ]);
    // A: p99 in the 8.192 s bucket (32 of 40 syncs), 12 failed restores; B and D: fast syncs.
    const slow = kubeProxyMetrics({ 0.256: 2, 1.024: 2, 4.096: 4, 8.192: 32 }, 12, now - 20_000);
    const fast = kubeProxyMetrics({ 0.064: 150, 0.128: 50 }, 0, now - 5_000);
    const serverA = await startHttpServer(nodeRoutes(ID.A, slow), undefined, a.host);
    servers.push(serverA);
    const serverB = await startHttpServer(nodeRoutes(ID.B, fast), undefined, b.host);
    servers.push(serverB);
    const serverD = await startHttpServer(nodeRoutes(ID.D, fast), undefined, d.host);
    servers.push(serverD);
    const urls = (server: TestHttpServer) => ({
      FLEET_AUDIT_KUBE_PROXY_URL: server.url,
      FLEET_AUDIT_IMDS_URL: server.url,
    });

    const [runA, runB, runC, runD] = await Promise.all([
      runCollector({
        netns: a.netns,
        env: { ...urls(serverA), XTABLES_LOCKFILE: lock('A'), FLEET_AUDIT_ROOT: root('A') },
        prefix: privateNode(bin, lock('A')),
      }),
      runCollector({
        netns: b.netns,
        env: { ...urls(serverB), XTABLES_LOCKFILE: lock('B'), FLEET_AUDIT_ROOT: root('B') },
        prefix: privateNode(bin),
      }),
      runCollector({ netns: c.netns, env: { XTABLES_LOCKFILE: lock('C') }, prefix: privateNode(bin) }),
      runCollector({
        netns: d.netns,
        env: { ...urls(serverD), XTABLES_LOCKFILE: noLockFile, FLEET_AUDIT_ROOT: root('D') },
        prefix: privateNode(bin),
      }),
    ]);
    Object.assign(runs, { A: runA, B: runB, C: runC, D: runD });
    for (const node of NODES) {
      files[node] = join(dir, `${node}.json`);
      writeFileSync(files[node], runs[node].stdout);
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    for (const netns of namespaces) {
      await exec('ip', ['link', 'del', `${netns}h`]).catch(() => undefined);
      await deleteNetns(netns);
    }
    removeDir(dir);
  });

  it('collected what each node holds', () => {
    expect(runs.A.report).toMatchObject({
      node: { instanceId: ID.A },
      iptables: { backend: 'legacy', kubeServiceChains: SERVICES, legacyRules: big.expected.rules.total, nftRules: 0 },
      // the holder's parent is the node's shell, which then became the collector (bash)
      lock: { samples: 2, busy: 2, waited: 0, holders: ['bash/fa-lock-holder'], waiters: [] },
      kubeProxy: {
        mode: 'iptables',
        syncCount: 40,
        syncP99Seconds: 8.192,
        restoreFailures: 12,
        minSyncPeriod: '1s',
        syncPeriod: '30s',
        configSource: 'configz',
      },
      awsNode: { clusterEndpointSet: null, version: null },
      restarts: { awsNode: 4, kubeProxy: 0 },
      logs: { kubeProxyLockErrors: 3, kubeProxyRestoreFailures: 3, kubeProxySlowRestores: 1 },
    });
    expect(runs.B.report).toMatchObject({
      node: { instanceId: ID.B },
      iptables: { backend: 'legacy', kubeServiceChains: SERVICES },
      lock: { samples: 2, busy: 0 },
      kubeProxy: { mode: 'iptables', syncP99Seconds: 0.128, restoreFailures: 0 },
      restarts: { awsNode: 0 },
      logs: { kubeProxyLockErrors: 0, kubeProxyRestoreFailures: 0 },
    });
    expect(runs.C.report).toMatchObject({
      node: { instanceId: null },
      iptables: {
        backend: 'mixed',
        kubeServiceChains: SERVICES,
        legacyRules: big.expected.rules.total,
        nftRules: stale.expected.rules.total,
      },
      kubeProxy: { mode: null },
      restarts: { awsNode: null },
    });
    expect(runs.D.report).toMatchObject({
      node: { instanceId: ID.D },
      iptables: { backend: 'nft', kubeServiceChains: SERVICES, legacyRules: 0, nftRules: big.expected.rules.total },
      lock: { samples: 0, busy: null },
      kubeProxy: { mode: 'iptables', syncP99Seconds: 0.128, restoreFailures: 0 },
      awsNode: { clusterEndpointSet: null, version: 'v1.20.4-eksbuild.2' },
      restarts: { awsNode: 0, kubeProxy: 0 },
      logs: { kubeProxyLockErrors: 0, ipamdApiUnreachable: 0, ipamdStarts: 1 },
    });
    const noProcesses = ['awsNode: ipamd process (aws-k8s-agent) not found', 'kube-proxy: process not found'];
    const noIpamd = [
      'logs: no ipamd.log under /var/log/aws-routed-eni',
      'awsNode: version not in ipamd.log and ipamd not running',
    ];
    for (const node of ['A', 'B'] as const) expect(runs[node].report.errors).toEqual([...noProcesses, ...noIpamd]);
    expect(runs.C.report.errors).toEqual([
      'instanceId: IMDSv2 token not reachable',
      ...noProcesses,
      'kube-proxy: /proxyMode not reachable',
      'restarts: no aws-node pod logs under /var/log/pods',
      'restarts: no kube-proxy pod logs under /var/log/pods',
      'logs: no kube-proxy pod logs under /var/log/pods',
      ...noIpamd,
    ]);
    // D's missing lock file is a fact about an nft node, not a read error
    const noLock = `lock: no lock file at ${noLockFile}`;
    expect(runs.D.report.errors).toEqual([...noProcesses, noLock]);
    expect(readErrors(runs.D.report)).toEqual(noProcesses);
    expect(readErrors(runs.C.report)).toEqual(runs.C.report.errors);
  });

  it('scores the four reports (--json) with the expected findings, evidence, rules not evaluated and score', async () => {
    // Act
    const { code, stdout, stderr } = await cli(
      'score',
      ...NODES.map((n) => files[n]),
      '--json',
      '--name',
      'real-nodes',
    );

    // Assert
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const run = RunResultSchema.parse(JSON.parse(stdout));
    expect(run.clusters).toHaveLength(1);
    const [cluster] = run.clusters;
    if (!cluster) throw new Error('no cluster');
    expect(cluster).toMatchObject({
      account: null,
      region: null,
      name: 'real-nodes',
      status: 'COMPLETE',
      nodes: { expected: 4, reached: 4, unreachable: 0, failed: 0 },
    });
    expect(cluster.findings.map((f) => [f.ruleId, f.severity, f.state])).toEqual([
      ['KP-IPTABLES-SCALE', 'HIGH', 'NEW'],
      ['XT-LOCK-CONTENTION', 'HIGH', 'NEW'],
      ['KP-SYNC-FAILING', 'HIGH', 'NEW'],
      ['CNI-RESTARTS', 'HIGH', 'NEW'],
      ['IPT-MIXED-BACKEND', 'HIGH', 'NEW'],
      // A's p99 is in the [4.096, 8.192) bucket: at least 4.096 s, under the 5 s HIGH threshold
      ['IPT-SLOW-SYNC', 'MEDIUM', 'NEW'],
      ['AUDIT-COVERAGE', 'INFO', 'NEW'],
    ]);
    // five HIGH findings cost 100 points, a MEDIUM 8 more: max(0, min(70, 100 − 108)) = 0
    expect(cluster.score).toBe(0);
    expect(cluster.notEvaluated).toEqual([
      {
        ruleId: 'CNI-API-DEPENDENCY',
        reason: 'no iptables-mode node reported whether CLUSTER_ENDPOINT is set',
      },
      {
        ruleId: 'ADDON-VERSION-RISK',
        reason:
          'kube-proxy mode not reported by every node; kube-proxy add-on version unknown; Kubernetes version ' +
          'unknown (advisories not judged: NFTABLES-NEEDS-VPC-CNI-1.23, KUBE-PROXY-FULL-RESTORE, ' +
          'KUBE-PROXY-PARTIAL-SYNC-BETA, IPVS-DEPRECATED)',
      },
      { ruleId: 'SCALE-GROWTH', reason: '0 earlier runs with a Service count; 3 needed' },
    ]);

    const finding = (ruleId: string): Finding => {
      const found = cluster.findings.find((f) => f.ruleId === ruleId);
      if (!found) throw new Error(`no ${ruleId} finding`);
      return found;
    };
    expect(finding('KP-IPTABLES-SCALE').evidence).toMatchObject({
      values: { servicesP50: 1200, servicesMax: 1200, iptablesModeNodes: 3, countedNodes: 3, threshold: 1000 },
      nodes: [ID.A, ID.B, ID.D],
    });
    expect(finding('XT-LOCK-CONTENTION').evidence).toMatchObject({
      values: {
        // the test's holder kept the lock all along with nobody queued: held, not contended; HIGH from the logs
        busyNodes: 1,
        waitedNodes: 0,
        sampledNodes: 3,
        maxWaitedShare: 0,
        nodesAtHighShare: 0,
        lockErrorsNodeLogs: 3,
        lockErrorsCloudWatch: null,
        holders: 'bash/fa-lock-holder',
      },
      nodes: [ID.A],
    });
    const slowSync = finding('IPT-SLOW-SYNC').evidence;
    expect(slowSync.values).toMatchObject({
      syncP99LowerSecondsP50: 0.064,
      syncP99LowerSecondsP95: 4.096,
      syncP99LowerSecondsMax: 4.096,
      slowRestoresNodeLogs: 1,
      minSyncPeriod: '1s',
    });
    // iptables-save times are measured (well under 1 s here), so only A is sure to be named
    expect(slowSync.nodes).toContain(ID.A);
    expect(finding('KP-SYNC-FAILING').evidence).toMatchObject({
      // the scrapes have no last-queued timestamp, and an iptables node's sync age alone is not judged
      values: { staleNodes: 0, judgedNodes: 0, restoreFailuresNodeLogs: 3, restoreFailuresCounter: 12 },
      nodes: [ID.A],
    });
    expect(finding('CNI-RESTARTS').evidence).toMatchObject({
      values: { restartedNodes: 1, maxAwsNodeRestarts: 4, apiUnreachableNodes: 0, nodesWithoutClusterEndpoint: 0 },
      nodes: [ID.A],
    });
    expect(finding('IPT-MIXED-BACKEND').evidence).toMatchObject({
      values: {
        mixedNodes: 1,
        nodesWithBackend: 4,
        backends: 'legacy 2, mixed 1, nft 1',
        maxLegacyRules: big.expected.rules.total,
        maxNftRules: stale.expected.rules.total,
      },
      nodes: ['C.json'],
    });
    // nine distinct read errors (D's missing lock file is not one: it would make a tenth)
    expect(finding('AUDIT-COVERAGE').evidence).toMatchObject({
      values: {
        partialNodes: 4,
        errors:
          'awsNode: ipamd process (aws-k8s-agent) not found (4); kube-proxy: process not found (4); ' +
          'awsNode: version not in ipamd.log and ipamd not running (3); 6 more',
      },
      nodes: ['C.json', ID.A, ID.B, ID.D],
    });
  });

  it('names the findings in the text form', async () => {
    // Act
    const { code, stdout, stderr } = await cli('score', ...NODES.map((n) => files[n]), '--name', 'real-nodes');

    // Assert
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('real-nodes: score 0/100, COMPLETE, 4 of 4 nodes read');
    expect(lines.filter((l) => /^ {2}[A-Z]+ +[A-Z-]+ \[/.test(l)).map((l) => l.trim().split(/\s+/, 2))).toEqual([
      ['HIGH', 'KP-IPTABLES-SCALE'],
      ['HIGH', 'XT-LOCK-CONTENTION'],
      ['HIGH', 'KP-SYNC-FAILING'],
      ['HIGH', 'CNI-RESTARTS'],
      ['HIGH', 'IPT-MIXED-BACKEND'],
      ['MEDIUM', 'IPT-SLOW-SYNC'],
      ['INFO', 'AUDIT-COVERAGE'],
    ]);
    expect(stdout).toContain(`    Nodes: C.json, ${ID.A}, ${ID.B} and 1 more\n`);
    const notEvaluated = stdout.slice(stdout.indexOf('\nNot evaluated:\n'));
    expect(notEvaluated.match(/^ {2}[A-Z-]+(?=:)/gm)?.map((id) => id.trim())).toEqual([
      'CNI-API-DEPENDENCY',
      'ADDON-VERSION-RISK',
      'SCALE-GROWTH',
    ]);
  });

  it('scores the nft node alone without its expected line, at the HIGH ceiling', async () => {
    // Act
    const { code, stdout, stderr } = await cli('score', files.D, '--json', '--name', 'al2023-node');

    // Assert
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [cluster] = RunResultSchema.parse(JSON.parse(stdout)).clusters;
    expect(cluster?.findings.map((f) => [f.ruleId, f.severity, f.evidence.nodes])).toEqual([
      ['KP-IPTABLES-SCALE', 'HIGH', [ID.D]],
      ['AUDIT-COVERAGE', 'INFO', [ID.D]],
    ]);
    expect(cluster?.findings[1]?.evidence.summary).toBe(
      '1 of 1 reports list read errors: awsNode: ipamd process (aws-k8s-agent) not found (1); ' +
        'kube-proxy: process not found (1).',
    );
    // 100 − 20 = 80, capped at 70 by the HIGH finding
    expect(cluster?.score).toBe(70);
  });
});
