import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import type { DiscoveryState } from '#workflow/discovery-state.js';
import { AuditSettingsSchema } from '#workflow/settings.js';
import { poll, type StepDeps } from '#workflow/steps.js';

/** The table-held budget slots (lambda/aws/slots.ts) on dynalite, with real conditional writes racing. */
describe('budget slots in the table', () => {
  let dynamo: LocalDynamo;
  let store: AuditStore;
  const NOW = Date.parse('2026-12-08T02:00:00Z');

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new AuditStore({ tableName: 'fleet-audit-slots' }, dynamo.client);
    await store.ensureTable();
  });
  afterAll(async () => dynamo.close());

  it('gives out at most `limit` slots however many ask at once, each to one holder', async () => {
    const asks = Array.from({ length: 12 }, (_, i) =>
      store.slots.acquire('logs#111111111111#eu-west-1', 5, `cluster-${i}`, 60_000, NOW),
    );
    const leases = (await Promise.all(asks)).filter((l) => l !== null);
    expect(leases).toHaveLength(5);
    expect(new Set(leases.map((l) => l.slot)).size).toBe(5);
    const held = await store.slots.held('logs#111111111111#eu-west-1');
    expect(held.map((h) => h.holder).sort()).toEqual(leases.map((l) => l.holder).sort());
  });

  it('keeps scopes apart: another account or region has its own slots', async () => {
    expect(await store.slots.acquire('logs#222222222222#eu-west-1', 5, 'cluster-x', 60_000, NOW)).not.toBeNull();
    expect(await store.slots.acquire('logs#111111111111#us-east-1', 5, 'cluster-x', 60_000, NOW)).not.toBeNull();
  });

  it('gives a holder its own slot again, renewed, instead of a second one', async () => {
    const first = await store.slots.acquire('logs#333333333333#eu-west-1', 3, 'run-1/payments', 60_000, NOW);
    const again = await store.slots.acquire('logs#333333333333#eu-west-1', 3, 'run-1/payments', 60_000, NOW + 5_000);
    expect(again?.slot).toBe(first?.slot);
    expect(again?.leaseUntil).toBe(NOW + 65_000);
    expect(await store.slots.held('logs#333333333333#eu-west-1')).toHaveLength(1);
  });

  it('frees a slot on release, and one whose holder died when its lease ends', async () => {
    const scope = 'logs#444444444444#eu-west-1';
    const a = await store.slots.acquire(scope, 2, 'a', 60_000, NOW);
    const b = await store.slots.acquire(scope, 2, 'b', 60_000, NOW);
    expect(await store.slots.acquire(scope, 2, 'c', 60_000, NOW)).toBeNull();
    if (!a || !b) throw new Error('two slots expected');
    await store.slots.release(a);
    const c = await store.slots.acquire(scope, 2, 'c', 60_000, NOW + 30_000);
    expect(c?.slot).toBe(a.slot);
    // b's holder dies: its slot is free once the lease ends, not before
    expect(await store.slots.acquire(scope, 2, 'd', 60_000, NOW + 59_000)).toBeNull();
    const d = await store.slots.acquire(scope, 2, 'd', 60_000, NOW + 60_000);
    expect(d?.slot).toBe(b.slot);
    // b comes back late and releases: d keeps the slot
    await store.slots.release(b);
    expect((await store.slots.held(scope)).find((h) => h.slot === b.slot)?.holder).toBe('d');
  });
});

/**
 * A cluster's query remembers the slot it holds (DiscoveryState.query.slot), so the poll that sees it end and the
 * assess after free it with one conditional DeleteItem each, not a Query of the scope first.
 */
describe('freeing a cluster query’s slot', () => {
  let dynamo: LocalDynamo;
  let store: AuditStore;
  const NOW = Date.parse('2026-12-08T02:00:00Z');
  const task = {
    runId: 'run-1',
    startedAt: '2026-12-08T02:00:00.000Z',
    account: '111111111111',
    region: 'eu-west-1',
    name: 'payments',
  };

  beforeAll(async () => {
    dynamo = await startDynalite({ record: true });
    store = new AuditStore({ tableName: 'fleet-audit-release' }, dynamo.client);
    await store.ensureTable();
  });
  afterAll(async () => dynamo.close());

  it('frees it in the poll that sees the query end with one conditional DeleteItem, no Query of the scope first', async () => {
    // Arrange: the slot Discover took, and the discovery it stored (one node, one command)
    const scope = 'logs-insights#111111111111#eu-west-1';
    const lease = await store.slots.acquire(scope, 50, 'run-1/payments', 600_000, NOW);
    if (!lease) throw new Error('no slot');
    const key = {
      runId: task.runId,
      startedAt: task.startedAt,
      cluster: { account: task.account, region: task.region, name: task.name },
    };
    const stored = await store.putDiscovery(
      key,
      'd-1',
      [{ instanceId: 'i-1', nodegroup: 'ng', reach: 'PENDING', reason: null }],
      ['c-1'],
    );
    const state: DiscoveryState = {
      ...task,
      kubernetesVersion: '1.31',
      endpoint: null,
      addons: { vpcCni: null, kubeProxy: null },
      nodes: { expected: 1, pending: 1, unreachable: 0, unsupported: 0 },
      commandCount: 1,
      stored,
      query: { queryId: 'q-1', logGroup: '/aws/containerinsights/payments/dataplane', slot: lease.slot },
      queryProblem: null,
      deadline: '2026-12-08T02:10:00.000Z',
    };
    const clients = {
      commands: {
        getProgress: async () => [
          {
            commandId: 'c-1',
            status: 'Success',
            targetCount: 1,
            completedCount: 1,
            errorCount: 0,
            deliveryTimedOutCount: 0,
          },
        ],
      },
      logs: { getQueryResults: async () => ({ status: 'Complete', rows: [], statistics: null }) },
    };
    const deps = {
      clientsFor: () => clients,
      store,
      publisher: null,
      settings: AuditSettingsSchema.parse({ targets: [{ account: task.account, region: task.region }] }),
      now: () => new Date(NOW + 60_000),
    } as unknown as StepDeps;
    const before = dynamo.calls.length;

    // Act
    const result = await poll(state, deps);

    // Assert: the command ids read, then the slot deleted, and nothing else
    expect(result).toEqual({ done: true, commandsDone: true, queryDone: true });
    expect(dynamo.calls.slice(before).map((c) => c.action)).toEqual(['Query', 'DeleteItem']);
    expect(dynamo.calls.at(-1)?.input.Key).toEqual({
      pk: { S: `SLOTS#${scope}` },
      sk: { S: String(lease.slot).padStart(4, '0') },
    });
    expect(await store.slots.held(scope)).toEqual([]);
  });
});
