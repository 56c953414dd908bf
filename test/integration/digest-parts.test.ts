import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detection } from '#audit/assess.js';
import { fingerprintOf, RULE_IDS, SEVERITIES } from '#audit/model.js';
import { DigestPartPayloadSchema, DigestPayloadSchema } from '#audit/render/digest-payload.js';
import { createAlertPublisher } from '#aws/clients.js';
import { SNS_MESSAGE_MAX_BYTES } from '#aws/notify.js';
import { AuditStore, type ClusterSnapshot, type DigestRecord } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import type { PublishedMessage } from '#sim/fleet.js';
import { loadScenario } from '#sim/scenario.js';
import { type Simulator, startSimulator } from '#sim/server.js';
import { report } from '#workflow/report.js';
import { AuditSettingsSchema } from '#workflow/settings.js';
import type { RunPlan, StepDeps } from '#workflow/steps.js';
import { deliveredParts } from './digest-outbox.js';

/**
 * A first night with 2,000 NEW findings (200 clusters × 10 rules) through the real report step: the store is
 * dynalite, the digest goes through the real SNS publisher and SDK to the simulator's SNS, which refuses a message
 * over 256 KB (body and attributes). The digest must arrive whole, in parts, every change exactly once, also when
 * the step dies between two parts and is retried.
 */

const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';
const CLUSTERS = 200;
const RULES = RULE_IDS.filter((id) => id !== 'AUDIT-FAILED').slice(0, 10);
const STARTED = '2026-12-01T02:00:00.000Z';
const ALERTED = SEVERITIES.slice(0, 3);

function detection(cluster: string, c: number, r: number): Detection {
  const place = { account: ACCOUNT, region: REGION, name: cluster };
  const ruleId = RULES[r] ?? 'CNI-RESTARTS';
  return {
    ruleId,
    // at or above the default alertMinSeverity (MEDIUM), so every finding is a change the digest owes
    severity: ALERTED[(c + r) % ALERTED.length] ?? 'MEDIUM',
    title: `${ruleId} title`,
    evidence: {
      summary: `${ruleId} on ${cluster}: ${'kube-proxy waited for the xtables lock on 12 of 40 nodes; '.repeat(5)}`,
      values: {},
      nodes: ['i-0123456789abcdef0'],
      moreNodes: 0,
    },
    remediation: {
      summary: `Set CLUSTER_ENDPOINT on aws-node and move kube-proxy to nftables mode. ${'Then restart it. '.repeat(12)}`,
      configurationValues: null,
      command: null,
      links: [],
    },
    fingerprint: fingerprintOf(place, ruleId),
  };
}

/** Stores the night's snapshots (what assess would have stored) and returns its plan. */
async function storeNight(store: AuditStore, runId: string): Promise<RunPlan> {
  const plan: RunPlan = { runId, startedAt: STARTED, clusters: [] };
  for (let c = 0; c < CLUSTERS; c++) {
    const name = `cluster-${String(c).padStart(3, '0')}`;
    const snapshot: ClusterSnapshot = {
      runId,
      startedAt: STARTED,
      cluster: { account: ACCOUNT, region: REGION, name },
      status: 'COMPLETE',
      score: 40,
      nodes: { expected: 40, reached: 40, unreachable: 0, failed: 0 },
      uncoveredNodes: [],
      kubernetesVersion: '1.31',
      serviceCount: 1200,
      restoreFailures: 0,
      detections: RULES.map((_, r) => detection(name, c, r)),
      notEvaluated: [],
      findings: null,
      auditError: null,
    };
    await store.putSnapshot(snapshot);
    plan.clusters.push({ runId, startedAt: STARTED, account: ACCOUNT, region: REGION, name });
  }
  return plan;
}

/** Bytes SNS counts of a message: its body and each attribute's name, type and value. */
function counted(message: PublishedMessage): number {
  return Object.entries(message.attributes).reduce(
    (sum, [name, a]) => sum + Buffer.byteLength(name) + Buffer.byteLength(a.dataType) + Buffer.byteLength(a.value),
    Buffer.byteLength(message.message),
  );
}

const EVERY_CHANGE = Array.from({ length: CLUSTERS }, (_, c) =>
  RULES.map((ruleId) => `${ACCOUNT}/${REGION}/cluster-${String(c).padStart(3, '0')}/${ruleId} NEW`),
)
  .flat()
  .sort();

/** A step that dies at its `at`-th part record (1: after part 1), before the write reaches the table or after. */
class DyingStore extends AuditStore {
  records = 0;
  constructor(
    tableName: string,
    dynamo: LocalDynamo,
    private readonly at: number,
    private readonly mode: 'before' | 'after',
  ) {
    super({ tableName }, dynamo.client);
  }

  override async recordDigestPart(record: DigestRecord, published: number): Promise<boolean> {
    this.records += 1;
    if (this.records === this.at && this.mode === 'before') throw new Error('killed before the part was recorded');
    const recorded = await super.recordDigestPart(record, published);
    if (this.records === this.at) throw new Error('killed after the part was recorded');
    return recorded;
  }
}

describe('a first night with 2,000 NEW findings', () => {
  let dynamo: LocalDynamo;
  let sim: Simulator;

  beforeAll(async () => {
    dynamo = await startDynalite();
    sim = await startSimulator(loadScenario('default'), { timeScale: 0.01 });
  });
  afterAll(async () => {
    await sim.close();
    await dynamo.close();
  });

  async function stepDeps(store: AuditStore): Promise<StepDeps> {
    const topicArn = sim.topicArns.find((arn) => arn.includes(`:${REGION}:${ACCOUNT}:`));
    if (!topicArn) throw new Error('the default scenario has no topic in eu-west-1');
    return {
      clientsFor: () => {
        throw new Error('the report step calls no AWS API but the store and SNS');
      },
      store,
      publisher: createAlertPublisher({ region: REGION, endpoint: sim.endpoint, topicArn }),
      settings: AuditSettingsSchema.parse({ targets: [{ account: ACCOUNT, region: REGION }] }),
      now: () => new Date('2026-12-01T02:30:00.000Z'),
    };
  }

  async function freshTable(name: string): Promise<AuditStore> {
    const store = new AuditStore({ tableName: name }, dynamo.client);
    await store.ensureTable();
    return store;
  }

  it('delivers its whole digest: parts under 256 KB, most severe first, every change exactly once, once', async () => {
    // Arrange
    const store = await freshTable('digest-whole');
    const plan = await storeNight(store, '20261201T020000-00000001');
    const deps = await stepDeps(store);
    const before = sim.outbox.length;

    // Act: the report step, then the same step retried after it finished
    const output = await report(plan, deps);
    const published = sim.outbox.slice(before);
    await report(plan, deps);

    // Assert: one digest in N parts, in order, each within SNS's limit as the simulator counts it
    expect(output.alertProblem).toBeNull();
    expect(sim.outbox.length - before, 'the retried step sends nothing again').toBe(published.length);
    const parts = deliveredParts(published);
    const total = parts.length;
    expect(total).toBeGreaterThan(2);
    expect(parts.map((p) => [p.digestId, p.part, p.parts])).toEqual(parts.map((_, i) => [plan.runId, i + 1, total]));
    expect(parts.flatMap((p) => p.changes).sort()).toEqual(EVERY_CHANGE);
    expect(parts.some((p) => p.repeated)).toBe(false);
    for (const [i, message] of published.entries()) {
      expect(counted(message)).toBeLessThanOrEqual(SNS_MESSAGE_MAX_BYTES);
      expect(message.subject).toBe(`EKS fleet audit: 2000 new (200 clusters) (part ${i + 1} of ${total})`);
      expect(message.attributes).toMatchObject({
        digest: { dataType: 'String', value: plan.runId },
        part: { dataType: 'Number', value: String(i + 1) },
        parts: { dataType: 'Number', value: String(total) },
      });
    }
    // part 1 leads with the fleet summary and the CRITICAL changes; Slack's data rides on it alone
    const first = published[0]?.parts;
    expect(first?.email?.split('\n')[1]).toBe('Fleet score 40 (200 of 200 clusters audited), 8000/8000 nodes read.');
    expect(first?.email).toMatch(/^ {2}NEW CRITICAL /m);
    expect(DigestPayloadSchema.parse(JSON.parse(first?.lambda ?? '')).parts).toBe(total);
    for (const message of published.slice(1)) {
      expect(DigestPartPayloadSchema.parse(JSON.parse(message.parts?.lambda ?? '')).digestId).toBe(plan.runId);
    }
    expect(published.at(-1)?.parts?.email).toContain(`fleet-audit report --run ${plan.runId}`);
    // the record names every part's message, and nothing is left pending
    const record = await store.getDigest(plan.runId);
    expect(record).toMatchObject({ status: 'SENT', changes: 2000, messageIds: published.map((m) => m.messageId) });
    expect(record?.partKeys).toHaveLength(total);
    const states = await Promise.all(plan.clusters.map((c) => store.getFindingState(c)));
    expect(states.flatMap((s) => s?.pending ?? [])).toEqual([]);
  }, 120_000);

  for (const mode of ['before', 'after'] as const) {
    it(`killed ${mode} recording part 2, then retried: sends the rest once${mode === 'before' ? ', part 2 again' : ''}, the first resent part marked as a possible repeat`, async () => {
      // Arrange
      const table = `digest-killed-${mode}`;
      const plan = await storeNight(await freshTable(table), `20261201T020000-0000000${mode === 'before' ? 2 : 3}`);
      const before = sim.outbox.length;

      // Act: the step dies at its second part record; the step is retried with the same plan
      const dying = await stepDeps(new DyingStore(table, dynamo, 2, mode));
      await expect(report(plan, dying)).rejects.toThrow(/killed/);
      const killed = deliveredParts(sim.outbox.slice(before));
      const store = new AuditStore({ tableName: table }, dynamo.client);
      const output = await report(plan, await stepDeps(store));
      const all = deliveredParts(sim.outbox.slice(before));

      // Assert: the dead step sent parts 1 and 2; the retry sends the others once, and part 2 again only when
      // its record never reached the table
      expect(output.alertProblem).toBeNull();
      expect(killed.map((p) => p.part)).toEqual([1, 2]);
      const total = all[0]?.parts ?? 0;
      const resent = all.slice(2).map((p) => p.part);
      const rest = Array.from({ length: total - 2 }, (_, i) => i + 3);
      expect(resent).toEqual(mode === 'before' ? [2, ...rest] : rest);
      // the first part resent says it may be a repeat: the table cannot tell a step that died before its Publish
      // from one that died after it
      expect(all.slice(2).map((p) => p.repeated)).toEqual(resent.map((_, i) => i === 0));
      const byPart = new Map(all.map((p) => [p.part, p]));
      expect([...byPart.values()].flatMap((p) => p.changes).sort()).toEqual(EVERY_CHANGE);
      for (const copy of all) expect(copy.changes).toEqual(byPart.get(copy.part)?.changes);
      expect(await store.getDigest(plan.runId)).toMatchObject({ status: 'SENT', changes: 2000 });
      expect((await store.getDigest(plan.runId))?.messageIds).toHaveLength(total);
    }, 120_000);
  }

  it('a refused part 3: the step says so, the digest stays SENDING, and the next step sends parts 3..N once', async () => {
    // Arrange: SNS refuses the step's third Publish (a real SNS error from the simulator: more than 10 attributes)
    const table = 'digest-refused';
    const store = await freshTable(table);
    const plan = await storeNight(store, '20261201T020000-00000004');
    const deps = await stepDeps(store);
    const real = deps.publisher;
    if (!real) throw new Error('no publisher');
    let calls = 0;
    const refusing: StepDeps = {
      ...deps,
      publisher: {
        publish: (m) => {
          calls += 1;
          if (calls !== 3) return real.publish(m);
          const extra = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`extra${i}`, 'x']));
          return real.publish({ ...m, attributes: { ...m.attributes, ...extra } });
        },
      },
    };
    const before = sim.outbox.length;

    // Act
    const refused = await report(plan, refusing);
    const record = await store.getDigest(plan.runId);
    const retried = await report(plan, deps);

    // Assert
    expect(refused.alertProblem).toMatch(/^digest 20261201T020000-00000004: part 3 of \d+ not sent \(/);
    expect(record).toMatchObject({ status: 'SENDING' });
    expect(record?.messageIds).toHaveLength(2);
    expect(retried.alertProblem).toBeNull();
    const all = deliveredParts(sim.outbox.slice(before));
    const total = all[0]?.parts ?? 0;
    expect(all.map((p) => p.part)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(all.flatMap((p) => p.changes).sort()).toEqual(EVERY_CHANGE);
    expect(await store.getDigest(plan.runId)).toMatchObject({ status: 'SENT', changes: 2000 });
  }, 120_000);
});
