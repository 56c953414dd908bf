/**
 * Fleet benchmark through the executed state machine: the hub stack is synthesized, its AuditRun definition run
 * by the ASL interpreter (sim/states/) with the Step Functions and Lambda quotas enforced, each Task invoking the
 * real handler in-process against the loopback simulator, state in dynalite. Prints the run's figures against the
 * scenario's lower bound, its API calls, payload and history sizes, memory and the night's cost.
 *
 *   npm run bench:fleet [-- --clusters 20 --nodes 20 --concurrency 8 --time-scale 0.1 --latency-only --json]
 *
 * The fleet is the default scenario's clusters (with their faults) copied until there are `--clusters` of them,
 * each with its node groups scaled to about `--nodes` nodes (bench/fleet-scenario.ts). Time runs on one time scale
 * for the simulator and the execution alike: by default 0.1 (the 30 s Wait between polls takes 3 s, a 40 ms API
 * round trip 4 ms). Everything the run does in real time — the handlers', the simulator's and dynalite's CPU, in
 * this one process on this machine's cores, and the SDK's retry back-off — is not scaled, while deployed each
 * Lambda has a core of its own; at the scenario's own 0.02 that CPU outweighs the simulated time it shares the
 * wall clock with (a 200-node Discover costs about 0.1 s of CPU here, while its simulated round trips take 0.8 ms
 * each), so the ratio measured the bench's process, not the design. 0.1 keeps 100 × 200 under 2 minutes here;
 * 1,000 clusters need 0.02 for that.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { INSIGHTS_CONCURRENT_QUERIES } from '#sim/fleet.js';
import { openLocalFleet } from '#sim/local-fleet.js';
import { scenarioNodes } from '#sim/nodes.js';
import { loadScenario } from '#sim/scenario.js';
import { scaledClock } from '#sim/states/clock.js';
import { costPer1000Nodes, loadPrices, nightCost } from './cost.js';
import {
  apiCallFigures,
  clusterShapes,
  latencyOfEveryCall,
  lowerBoundMs,
  nightUsage,
  stepDurations,
} from './fleet-figures.js';
import { largeFleet } from './fleet-scenario.js';

// The report handler's metrics (EMF lines on stdout) would spoil --json; the handlers read this at import.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const { deployedWorkflow, executeAuditRun } = await import('#sim/states/audit-run.js');

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '20' },
    nodes: { type: 'string', default: '20' },
    /** the Distributed Map's MaxConcurrency (fleetAudit.clusterConcurrency, 1–40; the stack's default is 8) */
    concurrency: { type: 'string', default: '8' },
    'time-scale': { type: 'string' },
    /**
     * keep only the scenario's latency faults: without its throttled DescribeAddon and ListCommandInvocations, the
     * SDK's adaptive retry (a client-side rate limiter running in real time, not on the time scale) does not slow
     * every call of the throttled client (adaptive mode: "throttling in one resource could delay requests for an
     * unrelated resource" sharing the client, https://docs.aws.amazon.com/general/latest/gr/api-retries.html)
     */
    'latency-only': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const clusterCount = Number(values.clusters);
const nodesPerCluster = Number(values.nodes);
const clusterConcurrency = Number(values.concurrency);
const base = loadScenario('default');
/** the bench's default time scale (header comment: why not the scenario's 0.02) */
const DEFAULT_TIME_SCALE = 0.1;
const timeScale = values['time-scale'] === undefined ? DEFAULT_TIME_SCALE : Number(values['time-scale']);
for (const [flag, value] of Object.entries({ clusterCount, nodesPerCluster, clusterConcurrency, timeScale })) {
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`bench:fleet: ${flag} must be a positive number, got ${value}`);
    process.exit(2);
  }
}

const fleetScenario = largeFleet(base, clusterCount, nodesPerCluster);
const scenario = {
  ...fleetScenario,
  timeScale,
  faults: values['latency-only'] ? fleetScenario.faults.filter((f) => f.latencyMs !== undefined) : fleetScenario.faults,
};
const deployed = deployedWorkflow({ clusterConcurrency });
const waitSeconds = waitSecondsOf(deployed.definition);
const shapes = clusterShapes(scenarioNodes(scenario), scenario.timing);
const accountRegions = scenario.accounts.reduce((sum, a) => sum + a.regions.length, 0);
const real = (simulatedMs: number) => simulatedMs * timeScale;
const boundMs = lowerBoundMs({
  clusters: shapes.map((c) => ({ ...c, commandMs: real(c.commandMs) })),
  latencyMs: real(latencyOfEveryCall(scenario.faults)),
  deliveryMs: real(1.5 * scenario.timing.deliveryMs),
  queryMs: real(scenario.timing.queryMs),
  pollIntervalMs: real(waitSeconds * 1000),
  clusterConcurrency,
  concurrentQueries: INSIGHTS_CONCURRENT_QUERIES * accountRegions,
});

const stateDir = await mkdtemp(join(tmpdir(), 'fleet-bench-'));
const fleet = await openLocalFleet({ scenario, stateDir, fresh: true, clusters: [], recordDynamo: true });
try {
  const name = 'bench-fleet';
  const started = performance.now();
  const result = await executeAuditRun(deployed, {
    deps: fleet.deps,
    // each concurrent invocation in an execution environment of its own, with its own SDK clients, as deployed
    environmentDeps: fleet.environmentDeps,
    simulator: fleet.simulator,
    name,
    clock: scaledClock(timeScale, fleet.deps.now),
  });
  const wallMs = performance.now() - started;
  const stored = await fleet.deps.store.getRun(name);
  const nodes = shapes.reduce((sum, c) => sum + c.nodes, 0);
  const calls = [...fleet.simulator.calls, ...fleet.dynamoCalls];
  const usage = nightUsage({
    simulatorCalls: fleet.simulator.calls,
    dynamoCalls: fleet.dynamoCalls,
    histories: [result.history, ...result.children.map((c) => c.history)].map((h) => h.events.map((e) => e.type)),
    invocations: result.lambda.invocations,
    timeScale,
  });
  const prices = loadPrices();
  const cost = nightCost(usage, prices);
  const figures = {
    shape: {
      clusters: shapes.length,
      nodes,
      clusterConcurrency,
      timeScale,
      pollIntervalSeconds: waitSeconds,
      faults: scenario.faults.map((f) => f.api + (f.latencyMs === undefined ? ' (errors)' : ' (latency)')),
    },
    status: result.status,
    ...(result.error && { error: result.error, cause: result.cause }),
    clustersReported: stored?.result?.clusters.length ?? 0,
    // the clusters' node coverage as the run stored it: what the audit read, not only that it finished
    nodesReported: sumCoverage(stored?.result?.clusters.map((c) => c.nodes) ?? []),
    childExecutions: result.children.length,
    wallMs: Math.round(wallMs),
    lowerBoundMs: Math.round(boundMs),
    ratio: round(wallMs / boundMs, 2),
    apiCalls: apiCallFigures(calls, nodes),
    // the interpreter's largest state input, output or task result over the parent and every child execution
    maxPayloadBytes: result.payloads.maxBytes,
    largestPayloads: largest(result.payloads.byState, 3),
    maxHistoryEvents: result.maxHistoryEvents,
    polls: result.lambda.invocations.filter((i) => i.stateName === 'Poll').length,
    lambdaSteps: stepDurations(result.lambda.invocations),
    // execution environments each function needed (cold starts): at most the invocations in flight at once
    lambdaEnvironments: Object.fromEntries(
      deployed.functions.map((fn) => [fn.step, result.lambda.environments.get(fn.arn) ?? 0]),
    ),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    costPer1000NodesUsd: round(costPer1000Nodes(usage, nodes, prices) ?? 0, 6),
    cost: { totalUsd: round(cost.totalUsd, 6), items: mapValues(cost.items, (usd) => round(usd, 6)) },
    usage,
    notes: [
      'Logs Insights bytes scanned are the simulator’s model of the log groups (the scenario’s events), not a real cluster’s volume',
      'Lambda GB-seconds take each invocation’s real duration ÷ the time scale: an upper estimate (in-process CPU time is stretched too)',
      `prices: bench/prices.json, ${prices.region}, checked ${prices.checked}`,
    ],
  };
  if (values.json) console.log(JSON.stringify(figures));
  else printFigures(figures);
} finally {
  await fleet.close();
  await rm(stateDir, { recursive: true, force: true });
}

function printFigures(f: {
  shape: {
    clusters: number;
    nodes: number;
    clusterConcurrency: number;
    timeScale: number;
    pollIntervalSeconds: number;
    faults: string[];
  };
  status: string;
  wallMs: number;
  lowerBoundMs: number;
  ratio: number;
  apiCalls: { total: number; perNode: number | null; perApi: Record<string, number> };
  maxPayloadBytes: number;
  largestPayloads: Record<string, number>;
  maxHistoryEvents: number;
  polls: number;
  lambdaSteps: Record<string, { invocations: number; meanMs: number; maxMs: number }>;
  lambdaEnvironments: Record<string, number>;
  peakRssMb: number;
  costPer1000NodesUsd: number;
  cost: { totalUsd: number; items: Record<string, number> };
  clustersReported: number;
  nodesReported: Record<string, number>;
  notes: string[];
}) {
  const s = f.shape;
  console.log(
    `fleet: ${s.clusters} clusters, ${s.nodes} nodes; MaxConcurrency ${s.clusterConcurrency}, poll ${s.pollIntervalSeconds} s, time scale ${s.timeScale}`,
  );
  console.log(`faults: ${s.faults.join(', ') || 'none'}`);
  const coverage = Object.entries(f.nodesReported).map(([key, n]) => `${key} ${n}`);
  console.log(`run: ${f.status}, ${f.clustersReported} clusters reported; nodes: ${coverage.join(', ')}`);
  console.log(`wallMs ${f.wallMs}  lowerBoundMs ${f.lowerBoundMs}  ratio ${f.ratio}`);
  console.log(`apiCalls ${f.apiCalls.total} (${f.apiCalls.perNode?.toFixed(3) ?? '-'} per node)`);
  for (const [api, n] of Object.entries(f.apiCalls.perApi)) console.log(`  ${api.padEnd(34)} ${n}`);
  const states = Object.entries(f.largestPayloads).map(([state, bytes]) => `${state} ${bytes}`);
  console.log(
    `maxPayloadBytes ${f.maxPayloadBytes} (${states.join(', ')})  maxHistoryEvents ${f.maxHistoryEvents}  peakRssMb ${f.peakRssMb}`,
  );
  console.log(`polls ${f.polls} (${(f.polls / Math.max(1, s.clusters)).toFixed(2)} a cluster); Lambda steps, real ms:`);
  for (const [step, d] of Object.entries(f.lambdaSteps)) {
    console.log(`  ${step.padEnd(16)} ${d.invocations} × mean ${d.meanMs}, max ${d.maxMs}`);
  }
  const environments = Object.entries(f.lambdaEnvironments).map(([step, n]) => `${step} ${n}`);
  console.log(`Lambda execution environments: ${environments.join(', ')}`);
  console.log(`costPer1000NodesUsd ${f.costPer1000NodesUsd} (night ${f.cost.totalUsd} USD)`);
  for (const [item, usd] of Object.entries(f.cost.items)) console.log(`  ${item.padEnd(22)} ${usd}`);
  for (const note of f.notes) console.log(`note: ${note}`);
}

/** The AuditRun's WaitForCollectors, in seconds, as the synthesized definition has it (inside the Map's processor). */
function waitSecondsOf(definition: unknown): number {
  const seconds = (findState(definition, 'WaitForCollectors') as { Seconds?: unknown } | undefined)?.Seconds;
  if (typeof seconds !== 'number') throw new Error('the definition has no WaitForCollectors Wait with Seconds');
  return seconds;
}

/** The state named `name` in any States block of the definition, nested ones included. */
function findState(node: unknown, name: string): unknown {
  if (!node || typeof node !== 'object') return undefined;
  const states = (node as { States?: Record<string, unknown> }).States;
  if (states && name in states) return states[name];
  for (const value of Object.values(node)) {
    const found = findState(value, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

function sumCoverage(coverages: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const coverage of coverages) for (const [key, n] of Object.entries(coverage)) sum[key] = (sum[key] ?? 0) + n;
  return sum;
}

/** The `n` states with the largest payloads, largest first. */
function largest(byState: ReadonlyMap<string, number>, n: number): Record<string, number> {
  return Object.fromEntries([...byState].sort((a, b) => b[1] - a[1]).slice(0, n));
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function mapValues<K extends string>(record: Record<K, number>, fn: (v: number) => number): Record<K, number> {
  return Object.fromEntries(Object.entries<number>(record).map(([k, v]) => [k, fn(v)])) as Record<K, number>;
}
