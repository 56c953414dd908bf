/**
 * Logs Insights bytes scanned per cluster, measured on the simulator through a whole local run (the real adapters,
 * the real SDK): the query that scans the dataplane log group in full, the query with `filterIndex` on
 * `kubernetes.container_name` where the group indexes it, and no query at all where every node was read.
 *
 *   npx tsx bench/insights-bytes.ts [--kubelet-lines-per-node-hour N] [--json]
 *
 * The fleet is the default scenario with its dataplane events written as Container Insights' Fluent Bit writes
 * them, plus kubelet's journal: the part of the group no signal but the probe-kill count needs, and the part
 * whose volume decides the saving. Its rate is an input (default 60 lines a node an hour, one a minute), not a
 * measurement of a real cluster; the figures say what the query reads of the modelled group, nothing more.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readLogSignals } from '#audit/log-query.js';
import type { LogSignals } from '#audit/model.js';
import { openLocalFleet } from '#sim/local-fleet.js';
import { loadScenario, parseScenario, type Scenario } from '#sim/scenario.js';
import { runAudit } from '#workflow/audit-run.js';

/** Container Insights tail stream: `<host>-dataplane.tail.var.log.containers.<pod>_<namespace>_<container>-<id>.log` */
const TAIL_STREAM = /^(.+)-dataplane\.tail\.var\.log\.containers\.([^_]+)_([^_]+)_(.+)-[0-9a-f]+\.log$/;
/** Container Insights systemd stream: `<host>-dataplane.systemd.<unit>` */
const SYSTEMD_STREAM = /^(.+)-dataplane\.systemd\.(.+)$/;

/**
 * One dataplane record as Container Insights' Fluent Bit sends it (aws-samples/amazon-cloudwatch-container-insights,
 * k8s-deployment-manifest-templates/deployment-mode/daemonset/container-insights-monitoring/fluent-bit/fluent-bit.yaml,
 * dataplane-log.conf): a tail record's `log` and `stream`, a systemd record's `hostname`, `systemd_unit` and
 * `message` (the modify filter keeps only those). `kubernetes` is what Fluent Bit's kubernetes filter adds where a
 * cluster's own configuration runs it on the dataplane tail input (the official one does not): only then can the
 * account index `kubernetes.container_name`. The aws filter's `az`/`ec2_instance_id` are left out (bytes alike
 * on every record).
 */
export function fluentBitRecord(line: string, stream: string, withKubernetes: boolean): string {
  const tail = TAIL_STREAM.exec(stream);
  if (tail) {
    const [, host, pod, namespace, container] = tail;
    return JSON.stringify({
      stream: 'stderr',
      log: line,
      ...(withKubernetes && {
        kubernetes: { pod_name: pod, namespace_name: namespace, container_name: container, host },
      }),
    });
  }
  const systemd = SYSTEMD_STREAM.exec(stream);
  if (systemd) return JSON.stringify({ hostname: systemd[1], systemd_unit: systemd[2], message: line });
  return line;
}

/** kubelet's steady chatter, one line of its journal (a status-manager line of the kind kubelet logs at -v=2). */
const KUBELET_LINE =
  'I1208 02:00:00.000000    3012 kubelet.go:2493] "SyncLoop (PLEG): event for pod" pod="default/web-7d4b9c6f5-x2k9d" ' +
  'event={"ID":"0f7c3a7e-5d1b-4c1e-9a3e-2f1d6b7a8c9d","Type":"ContainerStarted","Data":"4f1e"}';

/** A container's first line (matches no signal's needle). */
const START_LINE = 'I1205 02:00:00.000000       1 server.go:711] "Version info" version="v1.31.3"';

export interface BytesScenarioOptions {
  /** the dataplane group indexes `kubernetes.container_name` (its policy 30 days old) */
  indexed: boolean;
  /** kubelet journal lines a node an hour over the window */
  kubeletLinesPerNodeHour: number;
  /** `denied`: DescribeFieldIndexes refused (a member stack older than that grant) */
  indexAccess?: 'allowed' | 'denied';
  /** DescribeFieldIndexes throttled, every call */
  indexThrottled?: boolean;
}

/** The default fleet, its dataplane log groups as Fluent Bit writes them, with kubelet's journal added. */
export function bytesScenario(options: BytesScenarioOptions): Scenario {
  const base = loadScenario('default');
  return parseScenario(
    {
      ...base,
      faults: [
        ...base.faults,
        ...(options.indexThrottled ? [{ api: 'logs:DescribeFieldIndexes' as const, throttle: 1 }] : []),
      ],
      accounts: base.accounts.map((account) => ({
        ...account,
        regions: account.regions.map((region) => ({
          ...region,
          clusters: region.clusters.map((cluster) => {
            if (!cluster.logGroup) return cluster;
            const nodes = cluster.nodes.reduce((sum, group) => sum + group.count, 0);
            const perNode = Math.round(options.kubeletLinesPerNodeHour * 24);
            const kubelet = Array.from({ length: perNode > 0 ? nodes : 0 }, (_, k) => ({
              ageMinutes: 0,
              message: fluentBitRecord(
                KUBELET_LINE,
                `ip-10-99-0-${k}.internal-dataplane.systemd.kubelet.service`,
                true,
              ),
              stream: `ip-10-99-0-${k}.internal-dataplane.systemd.kubelet.service`,
              repeat: perNode,
              everyMinutes: (24 * 60) / perNode,
            }));
            // each container's first line, from when its node started three days ago: the field index has held
            // these containers' records since before the window (DescribeFieldIndexes' firstEventTime)
            const tails = [...new Set(cluster.logGroup.events.map((e) => e.stream))].filter((s) => TAIL_STREAM.test(s));
            const starts = tails.map((stream) => ({
              ageMinutes: 3 * 24 * 60,
              message: fluentBitRecord(START_LINE, stream, true),
              stream,
            }));
            return {
              ...cluster,
              logGroup: {
                ...cluster.logGroup,
                events: [
                  ...cluster.logGroup.events.map((event) => ({
                    ...event,
                    message: fluentBitRecord(event.message, event.stream, true),
                  })),
                  ...starts,
                  ...kubelet,
                ],
                fieldIndexes: options.indexed ? [{ field: 'kubernetes.container_name' }] : [],
                fieldIndexAccess: options.indexAccess ?? 'allowed',
              },
            };
          }),
        })),
      })),
    },
    `default, Fluent Bit records${options.indexed ? ', kubernetes.container_name indexed' : ''}`,
  );
}

export interface ClusterBytes {
  cluster: string;
  nodes: number;
  nodesRead: number;
  bytesScanned: number;
  queryString: string | null;
  logs: LogSignals | null;
}

export interface MeasuredNight {
  clusters: ClusterBytes[];
  /** the run's warnings (lines for the person running the audit) */
  warnings: string[];
  /** the steps' debug lines */
  debug: string[];
  /** DescribeFieldIndexes calls the simulator answered, by HTTP status */
  indexCalls: number[];
}

/** One local night on the scenario: per cluster with a log group, the bytes its query scanned and its signals. */
export async function measureNight(scenario: Scenario): Promise<MeasuredNight> {
  const stateDir = mkdtempSync(join(tmpdir(), 'fa-bytes-'));
  const fleet = await openLocalFleet({ scenario, stateDir, fresh: true, clusters: [] });
  const warnings: string[] = [];
  const debug: string[] = [];
  try {
    const deps = { ...fleet.deps, debug: (line: string) => debug.push(line) };
    const output = await runAudit(deps, { pollIntervalMs: fleet.pollIntervalMs, warn: (l) => warnings.push(l) });
    const calls = fleet.simulator.calls;
    const starts = calls.filter((c) => c.action === 'StartQuery' && c.status === 200);
    const rows: ClusterBytes[] = [];
    for (const ref of output.result.clusters) {
      const snapshot = await fleet.deps.store.getSnapshot(ref, output.result.runId, output.result.startedAt);
      const group = `/aws/containerinsights/${ref.name}/dataplane`;
      const start = starts.find((c) => c.input.logGroupName === group && c.account === ref.account);
      if (!start) continue;
      // billed once a query: the largest bytesScanned its GetQueryResults answers gave (bench/fleet-figures.ts)
      const bytes = calls
        .filter((c) => c.action === 'GetQueryResults' && c.input.queryId === start.queryId)
        .reduce((max, c) => Math.max(max, c.bytesScanned ?? 0), 0);
      // the signals as Assess read them: the query's results again, through the production adapter
      const queryString = String(start.input.queryString ?? '');
      const target = { account: ref.account ?? '', region: ref.region ?? '' };
      const results = await fleet.deps.clientsFor(target).logs.getQueryResults(start.queryId ?? '');
      rows.push({
        cluster: `${ref.account}/${ref.region}/${ref.name}`,
        nodes: snapshot?.nodes.expected ?? 0,
        nodesRead: snapshot?.nodes.reached ?? 0,
        bytesScanned: bytes,
        queryString,
        logs:
          results.status === 'Complete'
            ? readLogSignals(group, 24, results.rows, queryString.includes('filterIndex'))
            : null,
      });
    }
    const indexCalls = calls.filter((c) => c.action === 'DescribeFieldIndexes').map((c) => c.status);
    return { clusters: rows, warnings, debug, indexCalls };
  } finally {
    await fleet.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'kubelet-lines-per-node-hour': { type: 'string', default: '60' }, json: { type: 'boolean' } },
  });
  const kubeletLinesPerNodeHour = Number(values['kubelet-lines-per-node-hour']);
  const full = (await measureNight(bytesScenario({ indexed: false, kubeletLinesPerNodeHour }))).clusters;
  const indexed = (await measureNight(bytesScenario({ indexed: true, kubeletLinesPerNodeHour }))).clusters;
  const table = full.map((f) => {
    const i = indexed.find((x) => x.cluster === f.cluster);
    return {
      cluster: f.cluster,
      nodes: f.nodes,
      nodesRead: f.nodesRead,
      bytesFull: f.bytesScanned,
      bytesIndexed: i?.bytesScanned ?? null,
      // the skip the issue asks about: no query where every node was read (not built, docs/operations.md)
      bytesIfSkipped: f.nodes > 0 && f.nodesRead === f.nodes ? 0 : f.bytesScanned,
      indexUsed: i?.queryString?.includes('filterIndex') === true,
      // equal but for the probe-kill count, which an indexed query leaves null (kubelet's journal is not read)
      signalsEqual:
        f.logs !== null &&
        i?.logs != null &&
        JSON.stringify({ ...f.logs, awsNodeProbeFailures: i.logs.awsNodeProbeFailures }) === JSON.stringify(i.logs),
      probeKillsFull: f.logs?.awsNodeProbeFailures ?? null,
    };
  });
  const sum = (pick: (r: (typeof table)[number]) => number | null) => table.reduce((s, r) => s + (pick(r) ?? 0), 0);
  const totals = {
    bytesFull: sum((r) => r.bytesFull),
    bytesIndexed: sum((r) => r.bytesIndexed),
    bytesIfSkipped: sum((r) => r.bytesIfSkipped),
  };
  if (values.json) {
    console.log(JSON.stringify({ kubeletLinesPerNodeHour, clusters: table, totals }, null, 2));
    return;
  }
  console.log(`kubelet journal: ${kubeletLinesPerNodeHour} lines a node an hour`);
  console.log(
    'cluster                                  nodes  read     full B  indexed B  skipped B  index  other signals equal  probe kills (full)',
  );
  for (const r of table) {
    console.log(
      `${r.cluster.padEnd(40)}${String(r.nodes).padStart(6)}${String(r.nodesRead).padStart(6)}` +
        `${String(r.bytesFull).padStart(11)}${String(r.bytesIndexed).padStart(11)}${String(r.bytesIfSkipped).padStart(11)}` +
        `  ${(r.indexUsed ? 'yes' : 'no').padEnd(5)}  ${(r.signalsEqual ? 'yes' : 'NO').padEnd(19)}  ${r.probeKillsFull}`,
    );
  }
  const share = (bytes: number) => `${((100 * bytes) / Math.max(1, totals.bytesFull)).toFixed(1)} %`;
  console.log(
    `total: full ${totals.bytesFull} B, indexed ${totals.bytesIndexed} B (${share(totals.bytesIndexed)}), ` +
      `full but no query where every node was read ${totals.bytesIfSkipped} B (${share(totals.bytesIfSkipped)})`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
