/**
 * The chaos run's two nights (bench/chaos.ts, and its test at a small shape): the fleet benchmark's fleet audited
 * twice in one store through the deployed AuditRun (the hub stack synthesized, its ASL executed by sim/states/, the
 * real handlers in-process), the first night clean, the second with faults on every part and one Lambda invocation
 * killed mid-step; then what the second night lost, counted from what the nights stored and published.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeCoverage, RunResult } from '#audit/model.js';
import type { PublishedMessage } from '#sim/fleet.js';
import { openLocalFleet } from '#sim/local-fleet.js';
import { scenarioNodes } from '#sim/nodes.js';
import { loadScenario, parseScenario, type Scenario } from '#sim/scenario.js';
import type { DeployedWorkflow } from '#sim/states/audit-run.js';
import { scaledClock } from '#sim/states/clock.js';
import type { HistoryEvent } from '#sim/states/history.js';
import type { StepDeps } from '#workflow/steps.js';
import { largeFleet } from './fleet-scenario.js';
import { countCalls, type KilledInvocation, killOneInvocation } from './killed-invocation.js';

// The report handler's metrics (EMF lines on stdout) would spoil --json; the handlers read this at import.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const { deployedWorkflow, executeAuditRun, realHandler } = await import('#sim/states/audit-run.js');

export interface ChaosOptions {
  clusters: number;
  nodes: number;
  /** real time = simulated time × this, for the simulator and the execution's Waits alike */
  timeScale: number;
  /** the Distributed Map's MaxConcurrency (the stack's default is 8) */
  clusterConcurrency?: number;
  /** kill the chaos night's Report invocation mid-step (default true) */
  kill?: boolean;
}

/** What the killed invocation had done and what the state machine did next (its Report-related history events). */
export interface KillReport {
  state: 'Report';
  requestId: string;
  /** its completed calls to the table and SNS before the kill, by call */
  callsDone: Record<string, number>;
  /** calls the clean night's Report made in all (the kill comes once half the clusters' finding states are written) */
  cleanNightCalls: number;
  /** the history events of Report, RecordRunFailure and RunFailed: `<type> <state>[ <error>]` */
  stateMachine: string[];
}

export interface ChaosFigures {
  clustersExpected: number;
  clustersReported: number;
  nodeReportsExpected: number;
  nodeReportsStored: number;
  /** the clusters whose stored node reports fall short: expected, and night 2's status and node coverage */
  nodeReportsShort: Array<{ cluster: string; reportsExpected: number; status: string } & NodeCoverage>;
  findingsLost: number;
  falseResolved: number;
  duplicateDigests: number;
  /** nights whose execution did not succeed or whose stored run is FAILED (the caller adds uncaught errors) */
  failedNights: number;
  nights: Array<{ execution: string; run: string; clusters: number }>;
  killedInvocation: KillReport | null;
  wallSeconds: number;
}

/** The Report task's invocation, not RecordRunFailure's (the same function, called with the error it caught). */
const isReport = (event: unknown) => (event as { error?: unknown } | null)?.error === undefined;

/** Both nights; the figures of the second against the first. */
export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const base = {
    ...largeFleet(loadScenario('default'), options.clusters, options.nodes),
    timeScale: options.timeScale,
  };
  const broken = firstCluster(base);
  const clean = nightShape(base, false, broken.name);
  const chaos = nightShape(base, true, broken.name);
  const deployed = deployedWorkflow({ clusterConcurrency: options.clusterConcurrency ?? 8 });
  const stateDir = await mkdtemp(join(tmpdir(), 'fleet-chaos-'));
  const started = performance.now();
  try {
    let cleanCalls: string[] = [];
    const first = await night(deployed, clean, stateDir, 'chaos-night-1', (deps, build) => {
      const counted = countCalls({ build, deps, selects: isReport });
      return { handler: counted.handler, after: () => (cleanCalls = counted.calls()) };
    });
    const killed: { invocation: KilledInvocation | null } = { invocation: null };
    // once half the clusters' finding states are written: the snapshots read, part of the lifecycle recorded, the
    // digest not yet sent (a kill between Publish and its record is the one allowed repeat). Counted in finding
    // states, not in all calls: a chaos night makes fewer calls than a clean one (no history point from a cluster
    // with an unread node), so half of the clean night's calls may never be reached.
    const clusters = chaos.accounts.reduce((n, a) => n + a.regions.reduce((m, r) => m + r.clusters.length, 0), 0);
    const statesBeforeKill = Math.max(1, Math.floor(clusters / 2));
    const killWhen = (done: ReadonlyArray<string>) =>
      done.filter((call) => call === 'store.putFindingState').length >= statesBeforeKill;
    const second = await night(deployed, chaos, stateDir, 'chaos-night-2', (deps, build) => {
      if (options.kill === false) return null;
      const kill = killOneInvocation({ build, deps, killWhen, selects: isReport });
      return {
        handler: kill.handler,
        after: () => {
          killed.invocation = kill.killed();
        },
      };
    });
    const figures = compare(base, clean, chaos, broken.place, first, second);
    const done = killed.invocation;
    return {
      ...figures,
      killedInvocation: done && {
        state: 'Report',
        requestId: done.requestId,
        callsDone: tally(done.callsDone),
        cleanNightCalls: cleanCalls.length,
        stateMachine: second.events
          .filter((e) => ['Report', 'RecordRunFailure', 'RunFailed'].includes(e.stateName ?? ''))
          .map((e) => [e.type, e.stateName, e.error].filter(Boolean).join(' ')),
      },
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

interface Night {
  execution: string;
  result: RunResult | null;
  runStatus: string;
  outbox: PublishedMessage[];
  events: HistoryEvent[];
}

/**
 * One night through the deployed AuditRun, named `name` (the run id), with the Report's handler replaced by what
 * `report` builds on the real one (null: the real one). The store's digest lease is the deployed one (the local
 * runner's 0 is for a state folder's lock, which the state machine does not have).
 */
async function night(
  deployed: DeployedWorkflow,
  scenario: Scenario,
  stateDir: string,
  name: string,
  report: (
    deps: StepDeps,
    build: (deps: StepDeps) => ReturnType<typeof realHandler>,
  ) => { handler: ReturnType<typeof realHandler>; after: () => void } | null,
): Promise<Night> {
  const fleet = await openLocalFleet({ scenario, stateDir, fresh: false, clusters: [] });
  try {
    const deps: StepDeps = { ...fleet.deps, digestLeaseMs: undefined };
    const replaced = report(deps, (d) => realHandler('report', d, deployed, fleet.simulator));
    const execution = await executeAuditRun(deployed, {
      deps,
      // each concurrent invocation in an execution environment of its own, with its own SDK clients, as deployed
      environmentDeps: () => ({ ...fleet.environmentDeps(), digestLeaseMs: undefined }),
      simulator: fleet.simulator,
      name,
      clock: scaledClock(scenario.timeScale, deps.now),
      ...(replaced && { override: { report: replaced.handler } }),
    });
    replaced?.after();
    const stored = await deps.store.getRun(name);
    return {
      execution: execution.status,
      result: stored?.result ?? null,
      runStatus: stored?.status ?? 'NOT STORED',
      outbox: [...fleet.simulator.outbox],
      events: execution.history.events,
    };
  } finally {
    await fleet.close();
  }
}

/** The fleet's first cluster: the one whose DescribeCluster always fails on the chaos night. */
function firstCluster(scenario: Scenario): { name: string; place: string } {
  const account = scenario.accounts[0];
  const region = account?.regions[0];
  const cluster = region?.clusters[0];
  if (!account || !region || !cluster) throw new Error('the fleet has no cluster');
  return { name: cluster.name, place: `${account.id}/${region.name}/${cluster.name}` };
}

const placeOf = (c: { account: string | null; region: string | null; name: string }) =>
  `${c.account}/${c.region}/${c.name}`;

/**
 * The second night against the first, from what each stored (its run record's result) and published (the
 * simulator's SNS outbox). Nothing in the fleet changes between the nights, so every finding open after night 1
 * should be open or UNKNOWN after night 2, and every node night 1 read should be read again unless the chaos
 * scenario takes it away (a node whose SSM status or fault differs between the two scenarios) or it belongs to
 * the cluster that cannot be described.
 */
function compare(
  base: Scenario,
  clean: Scenario,
  chaos: Scenario,
  broken: string,
  first: Night,
  second: Night,
): Omit<ChaosFigures, 'killedInvocation' | 'wallSeconds'> {
  const fleet = base.accounts.flatMap((a) =>
    a.regions.flatMap((r) => r.clusters.map((c) => `${a.id}/${r.name}/${c.name}`)),
  );
  const reported = new Set(second.result?.clusters.map(placeOf) ?? []);
  const before = new Map(scenarioNodes(clean).map((n) => [n.instanceId, n]));
  const disabled = new Map<string, number>();
  for (const node of scenarioNodes(chaos)) {
    const was = before.get(node.instanceId);
    if (was && (was.ssm !== node.ssm || was.fault !== node.fault)) {
      const place = `${node.account}/${node.region}/${node.cluster}`;
      disabled.set(place, (disabled.get(place) ?? 0) + 1);
    }
  }
  // per cluster: what night 1 read, less what the chaos takes away, and nothing of the cluster that cannot be described
  const expected = new Map(
    (first.result?.clusters ?? []).map((c) => {
      const place = placeOf(c);
      return [place, place === broken ? 0 : Math.max(0, c.nodes.reached - (disabled.get(place) ?? 0))] as const;
    }),
  );
  const key = (c: { account: string | null; region: string | null; name: string }, ruleId: string) =>
    `${placeOf(c)}/${ruleId}`;
  const open = new Set(
    (first.result?.clusters ?? []).flatMap((c) =>
      c.findings.filter((f) => f.state !== 'RESOLVED').map((f) => key(c, f.ruleId)),
    ),
  );
  const nightTwo = new Map(
    (second.result?.clusters ?? []).flatMap((c) => c.findings.map((f) => [key(c, f.ruleId), f.state] as const)),
  );
  const firstIds = new Set(first.outbox.map((m) => m.messageId));
  const published = second.outbox
    .filter((m) => !firstIds.has(m.messageId))
    .map((m) => {
      const digest = m.parts?.lambda ? (JSON.parse(m.parts.lambda) as { digestId?: string }).digestId : m.messageId;
      return `${digest}|${m.subject}`;
    });
  const failed = (n: Night) => n.execution !== 'SUCCEEDED' || n.runStatus === 'FAILED' || n.result === null;
  return {
    clustersExpected: fleet.length,
    clustersReported: fleet.filter((place) => reported.has(place)).length,
    nodeReportsExpected: [...expected.values()].reduce((n, e) => n + e, 0),
    nodeReportsStored: (second.result?.clusters ?? []).reduce((n, c) => n + c.nodes.reached, 0),
    nodeReportsShort: (second.result?.clusters ?? [])
      .filter((c) => c.nodes.reached < (expected.get(placeOf(c)) ?? 0))
      .map((c) => ({
        cluster: placeOf(c),
        reportsExpected: expected.get(placeOf(c)) ?? 0,
        status: c.status,
        ...c.nodes,
      })),
    findingsLost: [...open].filter((k) => !nightTwo.has(k)).length,
    falseResolved: [...open].filter((k) => nightTwo.get(k) === 'RESOLVED').length,
    duplicateDigests: published.length - new Set(published).size,
    failedNights: [first, second].filter(failed).length,
    nights: [first, second].map((n) => ({
      execution: n.execution,
      run: n.runStatus,
      clusters: n.result?.clusters.length ?? 0,
    })),
  };
}

/** How many times each call was made. */
function tally(calls: ReadonlyArray<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) counts[call] = (counts[call] ?? 0) + 1;
  return counts;
}

/**
 * The fleet with each cluster's first node group split in four (the same instance ids on both nights), and with
 * `chaos`: the second part offline in SSM, the third timing out, the fourth truncating its output, the first
 * cluster of each region's Logs Insights query failing, and the faults on every API.
 */
function nightShape(base: Scenario, chaos: boolean, broken: string): Scenario {
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
            { api: 'eks:DescribeCluster', cluster: broken, serverError: 1 },
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
