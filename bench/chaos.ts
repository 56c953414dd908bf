/**
 * Chaos run: two nights of the fleet benchmark's fleet in one state folder, the first clean, the second with faults
 * on every part (the simulator's fault kinds, docs/simulator-faults.md), and what the second night lost:
 *
 *   npm run chaos [-- --clusters 100 --nodes 200 --json]
 *
 * Faults of the second night: 30 % throttling on every API, 5xx bursts (the first 3 calls of EKS, SSM and Logs,
 * then 2 % of every API's), 10 % of
 * each cluster's nodes offline in SSM, command time-outs and truncated outputs (a node of each), one failed Logs
 * Insights query per region, and one cluster whose DescribeCluster always fails. Nothing in the fleet itself
 * changes between the nights, so every finding of night 1 should be open or UNKNOWN on night 2:
 *
 * - clustersExpected / clustersReported: clusters of the fleet / clusters in night 2's result (audited or FAILED);
 * - nodeReportsExpected / nodeReportsStored: nodes the collector answered on (per the simulator) / nodes the run
 *   counts as read;
 * - findingsLost: night-1 open findings absent from night 2; falseResolved: night-1 findings RESOLVED on night 2;
 * - duplicateDigests: digest messages published more than once (same digest id and subject);
 * - unhandledErrors: uncaught exceptions and unhandled rejections, plus a night whose run did not complete.
 *
 * Not simulated here: a Lambda invocation killed mid-step (the failpoint test, test/integration/failpoints.test.ts,
 * kills the report step at every write; this run is in-process, without the executed state machine).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RunResult } from '#audit/model.js';
import { openLocalFleet } from '#sim/local-fleet.js';
import { loadScenario, parseScenario, type Scenario } from '#sim/scenario.js';
import { runAudit } from '#workflow/audit-run.js';
import { largeFleet } from './fleet-scenario.js';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '100' },
    nodes: { type: 'string', default: '200' },
    json: { type: 'boolean', default: false },
    // real time = simulated time × this; the SDK's retry back-off is real time, so a much smaller scale would
    // shrink the cluster deadline (600 simulated s) below what the retries of a throttled API take
    'time-scale': { type: 'string', default: '0.1' },
  },
});

let unhandled = 0;
const countUnhandled = (error: unknown) => {
  unhandled += 1;
  process.stderr.write(
    `chaos: unhandled: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
};
process.on('uncaughtException', countUnhandled);
process.on('unhandledRejection', countUnhandled);

const fleet = {
  ...largeFleet(loadScenario('default'), Number(values.clusters), Number(values.nodes)),
  timeScale: Number(values['time-scale']),
};

/** The cluster whose DescribeCluster always fails on the chaos night: the fleet's first. */
const broken = (() => {
  const account = fleet.accounts[0];
  const region = account?.regions[0];
  const cluster = region?.clusters[0];
  if (!account || !region || !cluster) throw new Error('the fleet has no cluster');
  return { name: cluster.name, place: `${account.id}/${region.name}/${cluster.name}` };
})();

/** Nodes the chaos night takes from each cluster (offline, timing out, truncating), by account/region/name. */
const disabled = new Map<string, number>();

/**
 * The fleet with each cluster's first node group split in four (the same instance ids on both nights), and with
 * `chaos`: the second part offline in SSM, the third timing out, the fourth truncating its output, plus the faults.
 */
function nightShape(base: Scenario, chaos: boolean): Scenario {
  let serial = 0;
  const accounts = base.accounts.map((account) => ({
    ...account,
    regions: account.regions.map((region) => ({
      ...region,
      clusters: region.clusters.map((cluster, index) => ({
        ...cluster,
        ...(chaos &&
          index === 0 &&
          cluster.logGroup && { logGroup: { ...cluster.logGroup, queryOutcome: 'Failed' as const } }),
        nodes: cluster.nodes.flatMap((group, g) => {
          if (g > 0 || group.count < 10 || group.ssm !== 'online' || group.fault) return [group];
          const offline = Math.max(1, Math.round(group.count / 10));
          const rest = group.count - offline - 2;
          const prefix = (serial++).toString(16).padStart(4, '0');
          if (chaos) disabled.set(`${account.id}/${region.name}/${cluster.name}`, offline + 2);
          return [
            {
              ...group,
              count: rest,
              idPrefix: `${prefix}a`,
              overrides: Object.fromEntries(Object.entries(group.overrides).filter(([n]) => Number(n) < rest)),
            },
            {
              ...group,
              count: offline,
              idPrefix: `${prefix}b`,
              overrides: {},
              ...(chaos && { ssm: 'offline' as const }),
            },
            { ...group, count: 1, idPrefix: `${prefix}c`, overrides: {}, ...(chaos && { fault: 'timeout' as const }) },
            {
              ...group,
              count: 1,
              idPrefix: `${prefix}d`,
              overrides: {},
              ...(chaos && { fault: 'truncated' as const }),
            },
          ];
        }),
      })),
    })),
  }));
  return parseScenario(
    {
      ...base,
      accounts,
      faults: chaos
        ? [
            ...base.faults,
            { api: 'eks:DescribeCluster', cluster: broken.name, serverError: 1 },
            { api: '*', throttle: 0.3 },
            { api: 'eks:*', serverErrorFirst: 3 },
            { api: 'ssm:*', serverErrorFirst: 3 },
            { api: 'logs:*', serverErrorFirst: 3 },
            { api: '*', serverError: 0.02 },
          ]
        : base.faults,
    },
    chaos ? 'chaos fleet' : 'chaos fleet, clean night',
  );
}

async function night(scenario: Scenario, stateDir: string) {
  const fleet = await openLocalFleet({ scenario, stateDir, fresh: false, clusters: [] });
  try {
    const output = await runAudit(fleet.deps, { pollIntervalMs: fleet.pollIntervalMs });
    return { result: output.result, outbox: [...fleet.simulator.outbox] };
  } finally {
    await fleet.close();
  }
}

const stateDir = await mkdtemp(join(tmpdir(), 'fleet-chaos-'));
try {
  const started = performance.now();
  const first = await night(nightShape(fleet, false), stateDir);
  const second = await night(nightShape(fleet, true), stateDir);
  const key = (c: { account: string | null; region: string | null; name: string }, ruleId: string) =>
    `${c.account}/${c.region}/${c.name}/${ruleId}`;
  const open = (run: RunResult) =>
    new Set(run.clusters.flatMap((c) => c.findings.filter((f) => f.state !== 'RESOLVED').map((f) => key(c, f.ruleId))));
  const nightTwo = new Map(
    second.result.clusters.flatMap((c) => c.findings.map((f) => [key(c, f.ruleId), f.state] as const)),
  );
  const before = open(first.result);
  const published = second.outbox.map((m) => {
    const digest = m.parts?.lambda ? (JSON.parse(m.parts.lambda) as { digestId?: string }).digestId : m.messageId;
    return `${digest}|${m.subject}`;
  });
  const figures = {
    clustersExpected: fleet.accounts.flatMap((a) => a.regions.flatMap((r) => r.clusters)).length,
    clustersReported: second.result.clusters.length,
    // what night 1 read, less what the chaos took away, and nothing of the cluster that cannot be described
    nodeReportsExpected: first.result.clusters.reduce((n, c) => {
      const place = `${c.account}/${c.region}/${c.name}`;
      if (place === broken.place) return n;
      return n + Math.max(0, c.nodes.reached - (disabled.get(place) ?? 0));
    }, 0),
    nodeReportsStored: second.result.clusters.reduce((n, c) => n + c.nodes.reached, 0),
    findingsLost: [...before].filter((k) => !nightTwo.has(k)).length,
    falseResolved: [...before].filter((k) => nightTwo.get(k) === 'RESOLVED').length,
    duplicateDigests: published.length - new Set(published).size,
    unhandledErrors: unhandled + (second.result.status === 'FAILED' ? 1 : 0),
    nights: [first.result.status, second.result.status],
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  if (second.result.status === 'FAILED') console.error(JSON.stringify(second.result).slice(0, 1500));
  if (values.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(20)} ${value}`);
} finally {
  await rm(stateDir, { recursive: true, force: true });
}
