import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { isConditionFailure } from './errors.js';

/**
 * Counting semaphores held in the audit's table, shared by every Lambda of every run: a scope (say the Logs Insights
 * queries of one account and region) has `limit` numbered slots, items `SLOTS#<scope>` / `<slot>`, each held by one
 * holder until it releases it or its lease ends. A slot never written, released or past its lease is free.
 *
 * Acquiring is one strongly consistent Query of the scope's held slots (at most `limit` small items) and one
 * conditional PutItem on a free one, redone on a lost race; a holder that already holds a slot of the scope gets
 * the same one back, so a retried step does not take two. DynamoDB checks a condition against the stored item and
 * applies a single-item write atomically, so two writers never both get a slot
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html). A lease
 * that ends frees the slot of a holder that died without releasing (a Lambda killed mid-step): nothing is held
 * for ever. The items carry `expiresAt` (epoch seconds) a day after their lease, for the table's TTL.
 */

const SlotItemSchema = z.object({
  pk: z.string(),
  sk: z.string(),
  holder: z.string(),
  /** epoch milliseconds: from then on the slot is free */
  leaseUntil: z.number(),
});

export interface SlotLease {
  scope: string;
  slot: number;
  holder: string;
  leaseUntil: number;
}

export class SlotPool {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * A slot of `scope` for `holder` until `now + leaseMs`, or null when all `limit` are held. The holder's own slot
   * is renewed, not doubled.
   */
  async acquire(scope: string, limit: number, holder: string, leaseMs: number, now: number): Promise<SlotLease | null> {
    // Each race lost is a slot another holder took, so after `limit` lost races every slot was taken: null then
    // means "all held" (or freed only since), never "gave up while one was free".
    for (let attempt = 0; attempt <= limit; attempt++) {
      const held = await this.held(scope);
      const own = held.find((s) => s.holder === holder && s.leaseUntil > now);
      const busy = new Set(held.filter((s) => s.leaseUntil > now).map((s) => s.slot));
      const free = own ? [own.slot] : [...Array(limit).keys()].filter((slot) => !busy.has(slot));
      if (free.length === 0) return null;
      // a random free slot: concurrent acquirers of one scope rarely race for the same item
      const slot = free[Math.floor(Math.random() * free.length)] ?? 0;
      const previous = held.find((s) => s.slot === slot);
      const lease = { scope, slot, holder, leaseUntil: now + leaseMs };
      if (await this.write(lease, previous ?? null)) return lease;
    }
    return null;
  }

  /** Frees the slot if `lease.holder` still holds it (a lease taken over after it ended stays the new holder's). */
  async release(lease: SlotLease): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: pkOf(lease.scope), sk: skOf(lease.slot) },
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': lease.holder },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Frees every slot of `scope` that `holder` holds (it need not remember which). */
  async releaseHolder(scope: string, holder: string): Promise<void> {
    const held = await this.held(scope);
    await Promise.all(
      held
        .filter((s) => s.holder === holder)
        .map((s) => this.release({ scope, slot: s.slot, holder, leaseUntil: s.leaseUntil })),
    );
  }

  /** The scope's slots as stored (held, or held once and not deleted: a lease may have ended). */
  async held(scope: string): Promise<Array<{ slot: number; holder: string; leaseUntil: number }>> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pkOf(scope) },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((raw) => {
      const item = SlotItemSchema.parse(raw);
      return { slot: Number(item.sk), holder: item.holder, leaseUntil: item.leaseUntil };
    });
  }

  /** Writes the lease if the slot is still as read: absent, or the same holder and lease end as `previous`. */
  private async write(lease: SlotLease, previous: { holder: string; leaseUntil: number } | null): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: pkOf(lease.scope),
            sk: skOf(lease.slot),
            holder: lease.holder,
            leaseUntil: lease.leaseUntil,
            expiresAt: Math.ceil(lease.leaseUntil / 1000) + 86_400,
          },
          ...(previous === null
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'holder = :holder AND leaseUntil = :until',
                ExpressionAttributeValues: { ':holder': previous.holder, ':until': previous.leaseUntil },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

const pkOf = (scope: string) => `SLOTS#${scope}`;
/** Zero-padded, so the slots sort in order in a Query. */
const skOf = (slot: number) => String(slot).padStart(4, '0');
