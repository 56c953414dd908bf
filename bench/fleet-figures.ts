/**
 * The fleet benchmark's figures, as pure functions of what the scenario says and what the run counted: the lower
 * bound a run of the scenario cannot beat, the API calls, and the night's usage that bench/cost.ts prices.
 */

import { SSM_BATCH_SIZE, SSM_BATCHES_IN_FLIGHT } from '#aws/commands.js';
import type { RecordedCall } from '#sim/call-log.js';
import type { SimNode } from '#sim/nodes.js';
import type { Fault, Timing } from '#sim/scenario.js';
import { COLLECTOR_TIMEOUT_SECONDS } from '../collector/ssm-document.js';
import type { NightUsage } from './cost.js';
import { readUnits, snsRequests, writeUnits } from './cost.js';

/** One cluster of the scenario, as the lower bound needs it. */
export interface ClusterShape {
  /** running instances of the cluster (DescribeInstances and DescribeInstanceInformation page over them) */
  nodes: number;
  /** nodes the collector is sent to (SSM Online Linux nodes): SendCommand batches */
  reachable: number;
  /**
   * the slowest collector run among them: its commandMs, or timing.commandMs.max, or the document's execution
   * timeout for a node whose run never ends (fault `timeout`); 0 when none is reachable
   */
  commandMs: number;
}

/** What bounds a run from below, in real milliseconds (simulated ms × the time scale). */
export interface BoundInputs {
  clusters: ReadonlyArray<ClusterShape>;
  /** one API round trip: the scenario's `latencyMs` faults that match every call */
  latencyMs: number;
  /** the slowest delivery of a command to a node: 1.5 × timing.deliveryMs (sim/fleet.ts draws 0.5–1.5 ×) */
  deliveryMs: number;
  /** from StartQuery until the query's outcome (timing.queryMs) */
  queryMs: number;
  /** the state machine's WaitForCollectors */
  pollIntervalMs: number;
  /** the Distributed Map's MaxConcurrency */
  clusterConcurrency: number;
  /**
   * concurrent Logs Insights queries the run may hold (per account and region, sim/fleet.ts
   * INSIGHTS_CONCURRENT_QUERIES, times the account-regions): each cluster in flight holds one
   */
  concurrentQueries: number;
}

/** DescribeInstances' page size as the adapter asks for it (lambda/aws/clusters.ts). */
const INSTANCES_PAGE = 1000;

/**
 * Sequential API round trips of one cluster's audit, outside the Waits: Discover's parallel reads (DescribeCluster;
 * ListAddons then DescribeAddon; ListNodegroups then DescribeNodegroup; DescribeInstances, 1,000 a page: at least
 * 2 deep), then DescribeInstanceInformation and SendCommand, 50 instances a call, SSM_BATCHES_IN_FLIGHT calls at
 * once (lambda/aws/commands.ts), then DescribeFieldIndexes and StartQuery; each Poll ListCommands (all commands at once) then
 * GetQueryResults; Assess ListCommandInvocations (all commands at once, one page of 50) and GetQueryResults.
 */
export function clusterRoundTrips(cluster: ClusterShape, polls: number): number {
  const reads = Math.max(2, Math.ceil(cluster.nodes / INSTANCES_PAGE));
  const deep = (instances: number) => Math.ceil(Math.ceil(instances / SSM_BATCH_SIZE) / SSM_BATCHES_IN_FLIGHT);
  const discover = reads + deep(cluster.nodes) + deep(cluster.reachable) + 2; /* DescribeFieldIndexes, StartQuery */
  return discover + 2 * polls + 2;
}

/**
 * The polls a cluster needs at the least: a Poll runs after each Wait, so the one that sees the collectors and the
 * query finished is the first after both have had their time (delivery + the slowest collector run; the query's
 * time) — one poll interval when those fit in it.
 */
export function pollsNeeded(
  cluster: Pick<ClusterShape, 'commandMs' | 'reachable'>,
  input: Pick<BoundInputs, 'deliveryMs' | 'queryMs' | 'pollIntervalMs'>,
): number {
  const collectors = cluster.reachable > 0 ? input.deliveryMs + cluster.commandMs : 0;
  const work = Math.max(collectors, input.queryMs);
  return Math.max(1, Math.ceil(work / input.pollIntervalMs));
}

/** One cluster's critical path: its round trips at the simulator's latency and its Waits. */
export function clusterPathMs(cluster: ClusterShape, input: BoundInputs): number {
  const polls = pollsNeeded(cluster, input);
  return clusterRoundTrips(cluster, polls) * input.latencyMs + polls * input.pollIntervalMs;
}

/**
 * The run's lower bound: no run of the scenario can be faster, whatever the implementation's overheads (CPU,
 * Lambda and Step Functions latency count as zero). Plan (ListClusters) and Report (Publish) are one round trip
 * each before and after the clusters. Between them the longer of:
 *  - the longest single cluster's critical path (clusterPathMs): a cluster cannot be audited faster;
 *  - the throughput floor: the clusters' total work (the sum of their paths) spread over the clusters that can be
 *    in flight at once, min(MaxConcurrency, concurrent Logs Insights queries). SSM's SendCommand and EC2's
 *    request rates are not modelled by the simulator (it throttles only where a scenario says so), so they bound
 *    nothing here.
 */
export function lowerBoundMs(input: BoundInputs): number {
  if (input.clusters.length === 0) return 2 * input.latencyMs;
  const paths = input.clusters.map((c) => clusterPathMs(c, input));
  const inFlight = Math.max(1, Math.min(input.clusterConcurrency, input.concurrentQueries, input.clusters.length));
  const longest = Math.max(...paths);
  const throughput = paths.reduce((sum, ms) => sum + ms, 0) / inFlight;
  return 2 * input.latencyMs + Math.max(longest, throughput);
}

export interface ApiCallFigures {
  total: number;
  perNode: number | null;
  /** `service:Action` → calls, most first */
  perApi: Record<string, number>;
}

/** Every AWS request of the run (the simulator's and DynamoDB's), in total, per node and per API. */
export function apiCallFigures(calls: ReadonlyArray<Pick<RecordedCall, 'service' | 'action'>>, nodes: number) {
  const counts = new Map<string, number>();
  for (const call of calls)
    counts.set(`${call.service}:${call.action}`, (counts.get(`${call.service}:${call.action}`) ?? 0) + 1);
  const perApi = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  return { total: calls.length, perNode: nodes > 0 ? calls.length / nodes : null, perApi } satisfies ApiCallFigures;
}

/**
 * Standard-workflow state transitions of one execution's history: "a state transition is counted each time a step
 * of your workflow is executed", retries included (https://aws.amazon.com/step-functions/pricing/). Each state
 * entered is one; each Task attempt after the first (a scheduled Lambda beyond the Task's entries) is one more.
 */
export function stateTransitions(eventTypes: ReadonlyArray<string>): number {
  let entered = 0;
  let taskEntries = 0;
  let scheduled = 0;
  for (const type of eventTypes) {
    if (type.endsWith('StateEntered')) entered++;
    if (type === 'TaskStateEntered') taskEntries++;
    if (type === 'LambdaFunctionScheduled' || type === 'TaskScheduled') scheduled++;
  }
  return entered + Math.max(0, scheduled - taskEntries);
}

/** One Lambda invocation as the local service recorded it. */
export interface InvocationUsage {
  durationMs: number;
  memorySize: number;
}

/**
 * Lambda GB-seconds: memory (GB, MemorySize / 1024) × duration, billed by the millisecond
 * (https://aws.amazon.com/lambda/pricing/). The duration is the real one ÷ the time scale: the simulated time the
 * invocation took. That over-states it: the CPU time of the handler (shared, in this process, with the simulator,
 * dynalite and every other invocation) is stretched as if it were simulated time too.
 */
export function lambdaGbSeconds(invocations: ReadonlyArray<InvocationUsage>, timeScale: number): number {
  return invocations.reduce((sum, i) => sum + (i.memorySize / 1024) * (Math.ceil(i.durationMs / timeScale) / 1000), 0);
}

/**
 * DynamoDB request units of the recorded calls (on-demand: https://aws.amazon.com/dynamodb/pricing/on-demand/).
 * Writes: one WRU per started 1 KB of each item written, the item's size taken as its JSON in the request (a little
 * over DynamoDB's own measure: names and values only); transactional writes two. Reads: the answer's bytes, per
 * started 4 KB, halved unless ConsistentRead. Table management (CreateTable, DescribeTable, …) is not billed.
 */
export function dynamoUnits(calls: ReadonlyArray<RecordedCall>): { read: number; write: number } {
  let read = 0;
  let write = 0;
  const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? {}), 'utf8');
  for (const call of calls) {
    const input = call.input;
    const consistent = input.ConsistentRead === true;
    switch (call.action) {
      case 'PutItem':
        write += writeUnits(bytes(input.Item));
        break;
      case 'UpdateItem':
      case 'DeleteItem':
        write += writeUnits(bytes(input));
        break;
      case 'BatchWriteItem':
        for (const requests of Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>)) {
          for (const request of requests) write += writeUnits(bytes(request));
        }
        break;
      case 'TransactWriteItems':
        for (const item of (input.TransactItems ?? []) as unknown[]) write += 2 * writeUnits(bytes(item));
        break;
      case 'GetItem':
      case 'Query':
      case 'Scan':
      case 'BatchGetItem':
        read += readUnits(call.responseBytes ?? 0, consistent);
        break;
    }
  }
  return { read, write };
}

/** What the run counted, besides DynamoDB: the simulator's calls, the executions' histories and the invocations. */
export interface CountedRun {
  simulatorCalls: ReadonlyArray<RecordedCall & { bytesScanned?: number }>;
  dynamoCalls: ReadonlyArray<RecordedCall>;
  /** the event types of every execution's history: the parent's and each child's */
  histories: ReadonlyArray<ReadonlyArray<string>>;
  invocations: ReadonlyArray<InvocationUsage>;
  timeScale: number;
}

/**
 * The night's usage as bench/cost.ts prices it. Logs Insights bills a query's bytes once: the largest
 * bytesScanned any GetQueryResults answer gave for it (the complete one). SNS bills a published message per
 * started 64 KB.
 */
export function nightUsage(run: CountedRun): NightUsage {
  const scanned = new Map<string, number>();
  let s3Puts = 0;
  let s3Gets = 0;
  let sns = 0;
  for (const call of run.simulatorCalls) {
    const api = `${call.service}:${call.action}`;
    if (api === 'logs:GetQueryResults') {
      const id = String(call.input.queryId ?? '');
      scanned.set(id, Math.max(scanned.get(id) ?? 0, call.bytesScanned ?? 0));
    } else if (api === 's3:PutObject') s3Puts++;
    else if (api === 's3:GetObject') s3Gets++;
    else if (api === 'sns:Publish') sns += snsRequests(Buffer.byteLength(String(call.input.Message ?? ''), 'utf8'));
  }
  const dynamo = dynamoUnits(run.dynamoCalls);
  return {
    stateTransitions: run.histories.reduce((sum, events) => sum + stateTransitions(events), 0),
    expressRequests: 0,
    expressGbSeconds: 0,
    lambdaInvocations: run.invocations.length,
    lambdaGbSeconds: lambdaGbSeconds(run.invocations, run.timeScale),
    logsBytesScanned: [...scanned.values()].reduce((sum, b) => sum + b, 0),
    dynamodbWriteUnits: dynamo.write,
    dynamodbReadUnits: dynamo.read,
    s3Puts,
    s3Gets,
    snsRequests: sns,
  };
}

/**
 * Each cluster of the scenario as the lower bound sees it, times in the scenario's simulated ms. The collector is
 * sent to Linux nodes SSM has Online that are not Bottlerocket (lambda/workflow/steps.ts discover); a node whose
 * run never ends (`timeout`) runs until the document's execution timeout.
 */
export function clusterShapes(nodes: ReadonlyArray<SimNode>, timing: Timing): ClusterShape[] {
  const byCluster = new Map<string, ClusterShape>();
  for (const node of nodes) {
    const key = `${node.account}/${node.region}/${node.cluster}`;
    const shape = byCluster.get(key) ?? { nodes: 0, reachable: 0, commandMs: 0 };
    shape.nodes++;
    const reachable =
      node.platform === 'linux' && node.ssm === 'online' && !(node.amiType ?? '').startsWith('BOTTLEROCKET');
    if (reachable) {
      shape.reachable++;
      const runMs =
        node.fault === 'timeout' ? COLLECTOR_TIMEOUT_SECONDS * 1000 : (node.commandMs ?? timing.commandMs.max);
      shape.commandMs = Math.max(shape.commandMs, runMs);
    }
    byCluster.set(key, shape);
  }
  return [...byCluster.values()];
}

/** The simulated latency of every call: the scenario's `latencyMs` faults on `*` for every account and region. */
export function latencyOfEveryCall(faults: ReadonlyArray<Fault>): number {
  return faults
    .filter((f) => f.api === '*' && f.account === undefined && f.region === undefined && f.cluster === undefined)
    .reduce((sum, f) => sum + (f.latencyMs ?? 0), 0);
}

/** Each step's Lambda invocations and their real durations (ms): where the run's time goes. */
export function stepDurations(invocations: ReadonlyArray<{ stateName: string; durationMs: number }>) {
  const steps: Record<string, { invocations: number; meanMs: number; maxMs: number }> = {};
  const totals = new Map<string, number>();
  for (const { stateName, durationMs } of invocations) {
    const step = steps[stateName] ?? { invocations: 0, meanMs: 0, maxMs: 0 };
    step.invocations++;
    step.maxMs = Math.max(step.maxMs, durationMs);
    totals.set(stateName, (totals.get(stateName) ?? 0) + durationMs);
    steps[stateName] = step;
  }
  for (const [name, step] of Object.entries(steps))
    step.meanMs = Math.round((totals.get(name) ?? 0) / step.invocations);
  return steps;
}
