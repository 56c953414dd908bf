import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditStore,
  COMMANDS_PER_ITEM,
  type DiscoveryKey,
  NODES_PER_ITEM,
  type PlannedNode,
  StoredItemError,
} from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';

const STARTED = '2026-11-30T02:00:00.000Z';
const TABLE = 'fleet-audit-discovery';
const key = (runId: string, name = 'big'): DiscoveryKey => ({
  runId,
  startedAt: STARTED,
  cluster: { account: '111111111111', region: 'eu-west-1', name },
});

/** `count` nodes as Discover plans them: every 50th unreachable, every 500th of those on an unsupported platform. */
function nodesOf(count: number, prefix = 'i-0'): PlannedNode[] {
  return Array.from({ length: count }, (_, i): PlannedNode => {
    const instanceId = `${prefix}${i.toString(16).padStart(16, '0')}`;
    if (i % 500 === 0) {
      return { instanceId, nodegroup: 'win', reach: 'UNREACHABLE', reason: 'Windows node', unsupported: true };
    }
    if (i % 50 === 0)
      return { instanceId, nodegroup: 'general', reach: 'UNREACHABLE', reason: 'SSM agent is Inactive' };
    return { instanceId, nodegroup: 'general', reach: 'PENDING', reason: null };
  });
}

/** One SSM command id per 50 nodes, as sendCollector batches them. */
const commandIdsOf = (nodes: number) =>
  Array.from({ length: Math.ceil(nodes / 50) }, (_, i) => `0b1c2d3e-0000-4000-8000-${String(i).padStart(12, '0')}`);

/**
 * The largest node discovery can plan: an 19-character instance id, a node group name at EKS's 63-character limit
 * (CreateNodegroup API reference), and a reason longer than any the workflow writes (the longest, VANISHED_REASON
 * and "not an SSM managed node (…)", are under 100 characters), with every attribute set.
 */
const worstNode = (i: number): PlannedNode => ({
  instanceId: `i-${i.toString(16).padStart(17, '0')}`,
  nodegroup: 'n'.repeat(63),
  reach: 'UNREACHABLE',
  reason: 'r'.repeat(120),
  unsupported: true,
});

describe('AuditStore: a cluster’s discovery as items, not state (dynalite)', () => {
  let dynamo: LocalDynamo;
  let store: AuditStore;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = await startDynalite({ record: true });
    store = new AuditStore({ tableName: TABLE, retentionDays: 30 }, dynamo.client);
    await store.ensureTable();
    doc = DynamoDBDocumentClient.from(dynamo.client);
  });
  afterAll(async () => dynamo.close());

  const itemsOf = async (k: DiscoveryKey) =>
    (
      await doc.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `DISCOVERY#${k.runId}#111111111111#eu-west-1#${k.cluster.name}` },
        }),
      )
    ).Items ?? [];

  it('stores a 5,000-node cluster as 10 node items and 1 command item, and reads it back whole and in order', async () => {
    // Arrange
    const nodes = nodesOf(5000);
    const commandIds = commandIdsOf(5000);
    const before = dynamo.calls.length;

    // Act
    const stored = await store.putDiscovery(key('run-5000'), 'attempt-1', nodes, commandIds);
    const writes = dynamo.calls.slice(before).map((c) => c.action);

    // Assert
    expect(stored).toEqual({ discoveryId: 'attempt-1', nodeItems: 10, commandItems: 1 });
    expect(writes).toEqual(Array.from({ length: 11 }, () => 'PutItem'));
    expect(await store.discoveredNodes(key('run-5000'), stored)).toEqual(nodes);
    expect(await store.discoveredCommandIds(key('run-5000'), stored)).toEqual(commandIds);
  });

  it('sets the TTL attribute on every item as on the run’s other items (start time + retention)', async () => {
    const items = await itemsOf(key('run-5000'));
    expect(items).toHaveLength(11);
    const expiresAt = Date.parse(STARTED) / 1000 + 30 * 86_400;
    expect(new Set(items.map((item) => item.expiresAt))).toEqual(new Set([expiresAt]));
  });

  it('reads nodes and command ids for assess in one strongly consistent Query, 5,000 nodes whole and in order', async () => {
    const stored = { discoveryId: 'attempt-1', nodeItems: 10, commandItems: 1 };
    const before = dynamo.calls.length;

    const discovered = await store.discovered(key('run-5000'), stored);

    const queries = dynamo.calls.slice(before);
    expect(queries.map((c) => [c.action, c.input.ConsistentRead])).toEqual([['Query', true]]);
    expect(queries[0]?.input.ExpressionAttributeValues).toMatchObject({
      ':first': { S: 'COMMANDS#000000' },
      ':last': { S: 'NODES#000009' },
    });
    expect(discovered).toEqual({ nodes: nodesOf(5000), commandIds: commandIdsOf(5000) });
  });

  it('reads only the command items on a poll: one strongly consistent Query of one item for 5,000 nodes', async () => {
    const stored = { discoveryId: 'attempt-1', nodeItems: 10, commandItems: 1 };
    const before = dynamo.calls.length;

    await store.discoveredCommandIds(key('run-5000'), stored);

    const queries = dynamo.calls.slice(before);
    expect(queries.map((c) => [c.action, c.input.ConsistentRead])).toEqual([['Query', true]]);
    expect(queries[0]?.input.ExpressionAttributeValues).toMatchObject({
      ':first': { S: 'COMMANDS#000000' },
      ':last': { S: 'COMMANDS#000000' },
    });
  });

  it('keeps a chunk of the largest nodes a third under DynamoDB’s 400 KB item limit', async () => {
    // Arrange: three chunks' worth of the largest nodes in one item must still fit, or the margin is gone
    const worst = Array.from({ length: NODES_PER_ITEM }, (_, i) => worstNode(i));
    const tripled = Array.from({ length: 3 * NODES_PER_ITEM }, (_, i) => worstNode(i));

    // Act
    const stored = await store.putDiscovery(key('run-worst'), 'attempt-1', worst, []);
    const tripledWrite = doc.send(
      new PutCommand({ TableName: TABLE, Item: { pk: 'LIMIT', sk: 'tripled', nodes: tripled } }),
    );

    // Assert
    expect(await store.discoveredNodes(key('run-worst'), stored)).toEqual(worst);
    await expect(tripledWrite).resolves.toBeDefined();
  });

  it('would be refused by DynamoDB if the largest nodes were not chunked (a 5,000-node cluster in one item)', async () => {
    const all = Array.from({ length: 5000 }, (_, i) => worstNode(i));
    await expect(
      doc.send(new PutCommand({ TableName: TABLE, Item: { pk: 'LIMIT', sk: 'unchunked', nodes: all } })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Item size has exceeded the maximum allowed size',
    });
  });

  it('chunks command ids too: 1,001 ids are two items', async () => {
    const ids = Array.from({ length: COMMANDS_PER_ITEM + 1 }, (_, i) => `cmd-${i}`);
    const stored = await store.putDiscovery(key('run-ids'), 'attempt-1', [], ids);
    expect(stored).toEqual({ discoveryId: 'attempt-1', nodeItems: 0, commandItems: 2 });
    expect(await store.discoveredCommandIds(key('run-ids'), stored)).toEqual(ids);
  });

  it('a cluster without nodes stores nothing and reads nothing', async () => {
    const before = dynamo.calls.length;
    const stored = await store.putDiscovery(key('run-empty'), 'attempt-1', [], []);
    expect(await store.discoveredNodes(key('run-empty'), stored)).toEqual([]);
    expect(await store.discoveredCommandIds(key('run-empty'), stored)).toEqual([]);
    expect(stored).toEqual({ discoveryId: 'attempt-1', nodeItems: 0, commandItems: 0 });
    expect(dynamo.calls.length).toBe(before);
  });

  describe('a Discover retried for the same run and cluster', () => {
    const first = nodesOf(1200, 'i-a');
    const second = nodesOf(600, 'i-b');
    let firstStored: Awaited<ReturnType<AuditStore['putDiscovery']>>;
    let secondStored: Awaited<ReturnType<AuditStore['putDiscovery']>>;

    beforeAll(async () => {
      // the first attempt found 1,200 nodes (3 items), the retry 600 (2 items): item 2 of the first stays behind
      firstStored = await store.putDiscovery(key('run-retry'), 'attempt-1', first, commandIdsOf(1200));
      secondStored = await store.putDiscovery(key('run-retry'), 'attempt-2', second, commandIdsOf(600));
    });

    it('overwrites the same keys, leaving only the first attempt’s higher item behind', async () => {
      const items = await itemsOf(key('run-retry'));
      expect(items.map((i) => [i.sk, i.discoveryId])).toEqual([
        ['COMMANDS#000000', 'attempt-2'],
        ['NODES#000000', 'attempt-2'],
        ['NODES#000001', 'attempt-2'],
        ['NODES#000002', 'attempt-1'],
      ]);
    });

    it('reads the retry’s nodes only: the stale higher item is not counted', async () => {
      const nodes = await store.discoveredNodes(key('run-retry'), secondStored);
      expect(nodes).toEqual(second);
    });

    it('refuses the first attempt’s record, whose items were overwritten, instead of mixing two attempts', async () => {
      await expect(store.discoveredNodes(key('run-retry'), firstStored)).rejects.toThrow(
        new StoredItemError(
          'stored discovery of 111111111111/eu-west-1/big in run run-retry is not readable: 2 of its 3 node items ' +
            "are missing or another Discover attempt's than attempt-1; audit the cluster again",
        ),
      );
    });
  });
});
