import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditStore } from '#aws/store.js';

// the store sends through a document client over the DynamoDBClient it is given
const dynamodb = mockClient(DynamoDBDocumentClient);
const cluster = (name: string) => ({ account: '111111111111', region: 'eu-west-1', name });
const stateItem = (name: string) => ({
  pk: `CLUSTER#111111111111#eu-west-1#${name}`,
  sk: 'STATE',
  cluster: cluster(name),
  runId: 'run-a',
  startedAt: '2026-11-04T00:00:00.000Z',
  version: 0,
  findings: [],
  pending: [],
  droppedChanges: 0,
});

describe('AuditStore.clusterReads', () => {
  beforeEach(() => dynamodb.reset());

  it('asks again for the keys DynamoDB handed back unread, until every one is read', async () => {
    // Arrange: the first answer reads one finding state and leaves the other cluster's keys unprocessed
    const store = new AuditStore(
      { tableName: 't' },
      new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    );
    const unread = [
      { pk: 'CLUSTER#111111111111#eu-west-1#b', sk: 'SNAPSHOT#2026-11-05T00:00:00.000Z#run-b' },
      { pk: 'CLUSTER#111111111111#eu-west-1#b', sk: 'STATE' },
    ];
    dynamodb
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { t: [stateItem('a')] }, UnprocessedKeys: { t: { Keys: unread } } })
      .resolvesOnce({ Responses: { t: [stateItem('b')] } });

    // Act
    const reads = await store.clusterReads([cluster('a'), cluster('b')], 'run-b', '2026-11-05T00:00:00.000Z');

    // Assert
    const calls = dynamodb.commandCalls(BatchGetCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.args[0].input.RequestItems?.t?.Keys).toHaveLength(4);
    expect(calls[0]?.args[0].input.RequestItems?.t?.ConsistentRead).toBe(true);
    expect(calls[1]?.args[0].input.RequestItems?.t?.Keys).toEqual(unread);
    expect(reads.get('CLUSTER#111111111111#eu-west-1#b')?.state?.runId).toBe('run-a');
    expect(reads.get('CLUSTER#111111111111#eu-west-1#a')?.snapshot).toBeNull();
  });
});
