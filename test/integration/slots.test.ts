import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';

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
