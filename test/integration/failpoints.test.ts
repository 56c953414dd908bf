import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteCommand, DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapWithConcurrency } from '#aws/concurrency.js';
import { AuditStore } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import type { PublishedMessage } from '#sim/fleet.js';
import { LOCAL_DIGEST_LEASE_MS } from '#sim/local-fleet.js';
import { loadScenario, type Scenario, ScenarioSchema } from '#sim/scenario.js';
import { startSimulator } from '#sim/server.js';
import type { RunPlan } from '#workflow/steps.js';
import { healthyAs, type SimCluster } from './default-fleet.js';
import { deliveredParts } from './digest-outbox.js';
import { type CountedWrite, type FailpointMode, failpointProxy } from './failpoint-proxy.js';

/**
 * Kill at every write, then rerun: every NEW, WORSENED and RESOLVED change of the night reaches exactly one
 * delivered digest. Each night is a real process (failpoint-run.ts) whose store and SNS publisher talk to dynalite
 * and the simulator through the failpoint proxy; the proxy SIGKILLs it at write N, just before the write reaches
 * the backend or just after it was applied and before the answer reaches the process. Then a recovery runs to
 * completion (the next night; for kills in the report step also the step retried, and a local rerun a minute
 * later), and what the simulator's SNS received is read digest by digest.
 *
 * The one allowed repeat is a whole digest part delivered twice under the same digest id and part number, marked
 * as a possible repeat: a kill after its Publish succeeded and before the write that records it (the next part's
 * record, or SENT after the last part; at-least-once delivery). The test asserts that this happens exactly at those
 * kill points and nowhere else, also for a digest sent in three parts.
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const RUNNER = join(ROOT, 'test/integration/failpoint-run.ts');
const DAY_MS = 86_400_000;
const DAY1 = Date.parse('2026-11-10T02:00:00.000Z');
const ACCOUNT = '111111111111';
/** the fleet's clusters: checkout-prod (eu-west-1, the topic's region) and search-staging (us-east-1) */
const CLUSTERS = [
  { account: ACCOUNT, region: 'eu-west-1', name: 'checkout-prod' },
  { account: ACCOUNT, region: 'us-east-1', name: 'search-staging' },
];

/**
 * Account 111111111111 of the default scenario with two clusters in trouble, each in its own region: no random
 * faults or latency, no node that runs into its command time-out, no seeded history (so a night later nothing
 * changes by itself and the second night owes no digest of its own).
 */
function troubled(): Scenario {
  const scenario = structuredClone(loadScenario('default'));
  const account = scenario.accounts.find((a) => a.id === ACCOUNT);
  if (!account) throw new Error(`the default scenario lost account ${ACCOUNT}`);
  const keep = (cluster: SimCluster): SimCluster => ({
    ...cluster,
    history: [],
    nodes: cluster.nodes.filter((group) => group.fault !== 'timeout'),
  });
  return ScenarioSchema.parse({
    ...scenario,
    timeScale: 0.002,
    faults: [],
    accounts: [
      {
        ...account,
        regions: account.regions.map((region) => ({
          ...region,
          clusters: region.clusters.filter((c) => CLUSTERS.some((k) => k.name === c.name)).map(keep),
        })),
      },
    ],
  });
}

/** The same two clusters healthy: catalog-prod's nodes, add-ons and logs under their names. */
function healthy(): Scenario {
  const scenario = troubled();
  for (const region of scenario.accounts[0]?.regions ?? []) {
    region.clusters = region.clusters.map((c) => healthyAs(c.name, []));
  }
  return ScenarioSchema.parse(scenario);
}

interface Night {
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** the plan a whole run printed (null: it was killed before, or this was a retried report step) */
  plan: RunPlan | null;
  stderr: string;
  writes: CountedWrite[];
  fired: CountedWrite | null;
  outbox: PublishedMessage[];
}

let dynamo: LocalDynamo;
/** failpoint-run.ts bundled once by esbuild (as the Lambda functions are): a process starts in half the time */
let runner: string;

/**
 * One nightly run of `scenario` on day `day` (0: DAY1) as its own process, against table `table`, killed at the
 * failpoint when one is given; with `retryPlan`, a retried report step of that run instead. The simulator and the
 * process share a clock moved to that day.
 */
async function night(
  table: string,
  scenario: Scenario,
  day: number,
  {
    failpoint = null,
    retryPlan,
    digestLeaseMs,
    digestMessageMaxBytes,
  }: {
    failpoint?: { at: number; mode: FailpointMode } | null;
    retryPlan?: RunPlan;
    digestLeaseMs?: number;
    digestMessageMaxBytes?: number | undefined;
  },
): Promise<Night> {
  const offset = DAY1 + day * DAY_MS - Date.now();
  const sim = await startSimulator(scenario, { now: () => Date.now() + offset });
  let child: ChildProcess | null = null;
  let exited: Promise<Night['exit']> | null = null;
  const proxy = failpointProxy(
    failpoint && {
      ...failpoint,
      kill: async () => {
        child?.kill('SIGKILL');
        await exited;
      },
    },
  );
  try {
    const config = {
      dynamoEndpoint: await proxy.front('dynamodb', dynamo.endpoint),
      snsEndpoint: await proxy.front('sns', sim.endpoint),
      simEndpoint: sim.endpoint,
      table,
      topicArn: sim.topicArns[0],
      targets: sim.targets,
      clockOffsetMs: offset,
      ...(retryPlan && { retryPlan }),
      ...(digestLeaseMs !== undefined && { digestLeaseMs }),
      ...(digestMessageMaxBytes !== undefined && { digestMessageMaxBytes }),
    };
    const started = spawn(process.execPath, [runner], {
      cwd: ROOT,
      env: { ...process.env, FAILPOINT_RUN: JSON.stringify(config), AWS_EC2_METADATA_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let stdout = '';
    let stderr = '';
    started.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    exited = new Promise((resolve) => started.on('close', (code, signal) => resolve({ code, signal })));
    const exit = await exited;
    const planned = stdout.split('\n').find((line) => line.startsWith('{"plan":'));
    const plan = planned ? (JSON.parse(planned) as { plan: RunPlan }).plan : null;
    return { exit, plan, stderr, writes: [...proxy.writes], fired: proxy.fired, outbox: sim.outbox };
  } finally {
    await proxy.close();
    await sim.close();
  }
}

/**
 * A digest part as delivered: its digest id and part number (`<digestId>#<part>`: what a repeat repeats), the
 * changes it carried (`account/region/cluster/RULE STATE`), and whether it says it may be a repeat.
 */
interface Delivered {
  digestId: string;
  changes: string[];
  repeated: boolean;
}

/** Reads the digest parts from the email parts the simulator's SNS received. */
function digestsOf(outbox: ReadonlyArray<PublishedMessage>): Delivered[] {
  return deliveredParts(outbox).map((d) => ({
    digestId: `${d.digestId}#${d.part}`,
    changes: [...d.changes].sort(),
    repeated: d.repeated,
  }));
}

/** Every finding state's pending changes: empty once every change was delivered. */
async function pendingOf(table: string): Promise<string[]> {
  const store = new AuditStore({ tableName: table }, dynamo.client);
  const states = await Promise.all(CLUSTERS.map((cluster) => store.getFindingState(cluster)));
  return states.flatMap((state) => state?.pending.map((c) => `${c.id} → ${c.digestId ?? 'no digest'}`) ?? []);
}

/** Copies every item of table `from` into table `to`: the nights before, run once for every kill. */
async function copyItems(from: string, to: string): Promise<void> {
  const doc = DynamoDBDocumentClient.from(dynamo.client);
  for await (const page of paginateScan({ client: doc }, { TableName: from })) {
    const items = page.Items ?? [];
    for (let i = 0; i < items.length; i += 25) {
      const requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      const out = await doc.send(new BatchWriteCommand({ RequestItems: { [to]: requests } }));
      if (Object.keys(out.UnprocessedItems ?? {}).length > 0) throw new Error(`dynalite left items of ${to} unwritten`);
    }
  }
}

interface Shape {
  /** nights before the one killed, run to completion */
  before: Scenario[];
  /** the night killed at every write */
  killed: () => Scenario;
  /** how each kill is recovered from (a retried report step only for kills inside the report step) */
  recoveries: ReadonlyArray<Recovery>;
  /** StepDeps.digestMessageMaxBytes of every night: small, to send the digest in parts */
  digestMessageMaxBytes?: number;
  /** how many parts (SNS messages) the night's digest comes in (default 1) */
  parts?: number;
}

/**
 * What runs after the kill, to completion: the next night's run (a day later, past the lease of a dead step's OPEN
 * digest); or, for a kill inside the report step, the report step retried with the same plan at once, or a new run
 * a minute later as `run --local` makes it (its state folder's lock lets it take a dead step's OPEN digest over).
 */
type Recovery = 'next night' | 'retried report step' | 'local run a minute later';

interface KillOutcome {
  point: string;
  recovery: Recovery;
  /** the kill fell between Publish succeeding and the SENT write */
  afterPublish: boolean;
  delivered: Delivered[];
  pending: string[];
}

/**
 * For one shape: a clean reference (the nights before, the night, and the next night, which must owe nothing), then
 * for every write N of the night and both kill modes, on a table of its own: the nights before, the night killed at
 * write N, and the next night run to completion; for each write of the report step also the report step retried.
 */
async function killAtEveryWrite(name: string, shape: Shape) {
  const days = shape.before.length;
  const base = `${name}-before`;
  await new AuditStore({ tableName: base }, dynamo.client).ensureTable();
  for (const [day, scenario] of shape.before.entries()) {
    const earlier = await night(base, scenario, day, { digestMessageMaxBytes: shape.digestMessageMaxBytes });
    if (earlier.exit.code !== 0) throw new Error(`night ${day} of ${name} failed: ${earlier.stderr}`);
  }
  const run = async (table: string, failpoint: { at: number; mode: FailpointMode } | null, recovery: Recovery) => {
    await new AuditStore({ tableName: table }, dynamo.client).ensureTable();
    await copyItems(base, table);
    const split = { digestMessageMaxBytes: shape.digestMessageMaxBytes };
    const killed = await night(table, shape.killed(), days, { failpoint, ...split });
    if (recovery === 'retried report step' && !killed.plan) throw new Error(`${table}: killed before its plan`);
    const after =
      recovery === 'next night'
        ? await night(table, shape.killed(), days + 1, split)
        : recovery === 'local run a minute later'
          ? await night(table, shape.killed(), days + 60_000 / DAY_MS, {
              digestLeaseMs: LOCAL_DIGEST_LEASE_MS,
              ...split,
            })
          : await night(table, shape.killed(), days, killed.plan ? { retryPlan: killed.plan, ...split } : split);
    if (after.exit.code !== 0) throw new Error(`${table}: the ${recovery} failed: ${after.stderr}`);
    return { killed, after, pending: await pendingOf(table) };
  };

  const reference = await run(`${name}-reference`, null, 'next night');
  expect(reference.killed.exit).toEqual({ code: 0, signal: null });
  expect(reference.after.outbox, 'the next night of a clean run owes no digest').toEqual([]);
  const expected = digestsOf(reference.killed.outbox)
    .flatMap((d) => d.changes)
    .sort();
  const writes = reference.killed.writes;
  const reportFrom = Math.max(...writes.filter((w) => kindOf(w) === 'SNAPSHOT').map((w) => w.n)) + 1;

  const points = writes.flatMap((w) =>
    shape.recoveries
      .filter((recovery) => recovery === 'next night' || w.n >= reportFrom)
      .flatMap((recovery) => (['before', 'after'] as const).map((mode) => ({ at: w.n, mode, recovery }))),
  );
  const outcomes = await mapWithConcurrency(points, KILLS_AT_ONCE, async ({ at, mode, recovery }) => {
    const point = `${mode} write ${at} (${writes[at - 1]?.action} ${writes[at - 1]?.key ?? ''})`;
    const table = `${name}-${mode}-${at}-${recovery.replaceAll(' ', '-')}`;
    const { killed, after, pending } = await run(table, { at, mode }, recovery);
    expect(killed.exit, point).toEqual({ code: null, signal: 'SIGKILL' });
    expect(killed.fired?.n, point).toBe(at);
    // the killed night wrote what the clean one did, up to the kill (the kinds of item: the targets are listed and
    // the clusters assessed concurrently, so which cluster's item comes first may differ). The Logs Insights budget's
    // slots (taken and freed as the clusters' queries start and end) interleave with the rest as timing has it, so
    // they are left out of the comparison; their kill points are still among the points.
    const done = lastingKinds(killed.writes);
    expect(done, point).toEqual(lastingKinds(writes).slice(0, done.length));
    const previous = killed.writes[at - 2];
    const afterPublish =
      (mode === 'after' && killed.fired?.action === 'Publish') ||
      (mode === 'before' && previous?.action === 'Publish' && killed.fired?.key?.startsWith('DIGEST#') === true);
    const outcome: KillOutcome = {
      point,
      recovery,
      afterPublish,
      delivered: digestsOf([...killed.outbox, ...after.outbox]),
      pending,
    };
    return outcome;
  });

  for (const { point, recovery, delivered, pending } of outcomes) {
    const where = `${point}, then the ${recovery}`;
    const byId = new Map<string, Delivered[]>();
    for (const digest of delivered) byId.set(digest.digestId, [...(byId.get(digest.digestId) ?? []), digest]);
    const once = [...byId.values()].flatMap((copies) => copies[0]?.changes ?? []).sort();
    expect(once, `${where}: every change in exactly one digest`).toEqual(expected);
    expect(pending, `${where}: nothing left pending`).toEqual([]);
    for (const copies of byId.values()) {
      // a repeat is the same digest part, whole, and says it may be one (a part whose sender died between the
      // write before its Publish and the Publish says so too: the next step cannot know whether Publish happened)
      expect(new Set(copies.map((c) => c.changes.join())).size, where).toBe(1);
      expect(
        copies.slice(1).filter((c) => !c.repeated),
        where,
      ).toEqual([]);
    }
  }
  const publishes = writes.filter((w) => w.action === 'Publish').length;
  expect(publishes).toBe(shape.parts ?? 1);
  for (const recovery of shape.recoveries) {
    // a part delivered twice: exactly at the two kill points between each Publish and the write that records it
    // (the next part's record, or SENT after the last), nowhere else
    const these = outcomes.filter((o) => o.recovery === recovery);
    const repeated = these.filter((o) => o.delivered.length > new Set(o.delivered.map((d) => d.digestId)).size);
    expect(repeated.map((o) => o.point)).toEqual(these.filter((o) => o.afterPublish).map((o) => o.point));
    expect(repeated.map((o) => o.point)).toEqual(
      Array.from({ length: publishes }, () => [
        expect.stringMatching(/^after write \d+ \(Publish \)$/),
        expect.stringMatching(/^before write \d+ \(PutItem DIGEST#\S+\|DIGEST\)$/),
      ]).flat(),
    );
  }
  return { writes, reportFrom, expected };
}

/**
 * What a clean first night writes (the item kind, or the action): plan (run, run index, each target's clusters),
 * discover (each cluster's nodes and its command ids, an item each), assess (a snapshot per cluster),
 * report (finding state with its pending changes, checkout-prod's day point — search-staging's audit is partial —,
 * the run's clusters and record, the digest OPEN, its changes given to it, SENDING, Publish, SENT, the changes
 * dropped).
 */
const DAY1_WRITES = [
  'RUN',
  'RUNS',
  'CLUSTERS',
  'CLUSTERS',
  'DISCOVERY',
  'DISCOVERY',
  'DISCOVERY',
  'DISCOVERY',
  'SNAPSHOT',
  'SNAPSHOT',
  'STATE',
  'DAY',
  'STATE',
  'BatchWriteItem',
  'RUN',
  'DIGEST',
  'STATE',
  'STATE',
  'DIGEST',
  'Publish',
  'DIGEST',
  'STATE',
  'STATE',
];

/**
 * The kind of item a write wrote (its sort key's prefix; the run index's and a discovery's partition key prefix), or
 * its action. A cluster's discovery items are written at once, so their order among themselves may differ.
 */
/** The kinds of a night's writes without the budget's slots, which interleave with the rest as timing has it. */
function lastingKinds(writes: ReadonlyArray<CountedWrite>): string[] {
  return writes.map(kindOf).filter((kind) => kind !== 'SLOTS');
}

function kindOf(write: CountedWrite): string {
  if (write.key === null) return write.action;
  const [pk = '', sk = ''] = write.key.split('|');
  if (pk.startsWith('DISCOVERY#')) return 'DISCOVERY';
  if (pk.startsWith('SLOTS#')) return 'SLOTS';
  return pk === 'RUNS' ? pk : (sk.split('#')[0] ?? sk);
}

/** A digest message's size at most for the three-part night: the troubled fleet's digest (about 27 KB) takes three. */
const PARTS_MAX_BYTES = 13_000;

/** Processes killed and rerun at once (each is a Node process of its own; the machine has two cores). */
const KILLS_AT_ONCE = 3;

describe('failpoints: a night killed at any write loses no change and delivers none twice', () => {
  let bundleDir: string;

  beforeAll(async () => {
    dynamo = await startDynalite();
    bundleDir = mkdtempSync(join(tmpdir(), 'fleet-audit-failpoints-'));
    runner = join(bundleDir, 'failpoint-run.mjs');
    await build({
      entryPoints: [RUNNER],
      outfile: runner,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
      // the SDK's CommonJS dependencies call require(), which an ES module bundle has to be given
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    });
  });
  afterAll(async () => {
    await dynamo.close();
    rmSync(bundleDir, { recursive: true, force: true });
  });

  it('day 1 (changes NEW): killed before or after each write, then the next night, the retried report step or a local rerun completes', async () => {
    const { writes, reportFrom, expected } = await killAtEveryWrite('day1', {
      before: [],
      killed: troubled,
      recoveries: ['next night', 'retried report step', 'local run a minute later'],
    });
    // the report step's first write is the first finding state, and it takes no budget slot
    expect(writes.slice(0, reportFrom - 1).some((w) => kindOf(w) === 'STATE')).toBe(false);
    expect(kindOf(writes[reportFrom - 1] as CountedWrite)).toBe('STATE');
    expect(writes.slice(reportFrom - 1).some((w) => kindOf(w) === 'SLOTS')).toBe(false);
    // each cluster's log query took a slot of the Logs Insights budget and gave it back
    expect(writes.filter((w) => kindOf(w) === 'SLOTS').map((w) => w.action)).toEqual(
      expect.arrayContaining(['PutItem', 'DeleteItem']),
    );
    // both clusters' changes, and every write of the night: plan, assess and report
    expect(new Set(expected.map((c) => c.split('/')[2]))).toEqual(new Set(CLUSTERS.map((c) => c.name)));
    expect(expected.filter((c) => !c.endsWith(' NEW'))).toEqual([]);
    expect(lastingKinds(writes)).toEqual(DAY1_WRITES);
  }, 300_000);

  it('day 1 with the digest in three parts: killed before or after each write, then the next night or the retried report step completes', async () => {
    const { writes, expected } = await killAtEveryWrite('parts', {
      before: [],
      killed: troubled,
      recoveries: ['next night', 'retried report step'],
      digestMessageMaxBytes: PARTS_MAX_BYTES,
      parts: 3,
    });
    // the same night's changes as in one message; each part but the last recorded before the next is published
    expect(new Set(expected.map((c) => c.split('/')[2]))).toEqual(new Set(CLUSTERS.map((c) => c.name)));
    const sending = DAY1_WRITES.indexOf('Publish');
    expect(lastingKinds(writes)).toEqual([
      ...DAY1_WRITES.slice(0, sending),
      ...['Publish', 'DIGEST', 'Publish', 'DIGEST', 'Publish'],
      ...DAY1_WRITES.slice(sending + 1),
    ]);
  }, 300_000);

  it('day 2 (changes RESOLVED): killed before or after each of its writes, then the next night completes', async () => {
    const { expected } = await killAtEveryWrite('day2', {
      before: [troubled()],
      killed: healthy,
      recoveries: ['next night'],
    });
    expect(new Set(expected.map((c) => c.split('/')[2]))).toEqual(new Set(CLUSTERS.map((c) => c.name)));
    expect(expected.filter((c) => !c.endsWith(' RESOLVED'))).toEqual([]);
  }, 300_000);
});
