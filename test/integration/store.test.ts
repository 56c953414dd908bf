import { BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '#audit/model.js';
import { AuditStore, type ClusterSnapshot } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';

const cluster = { account: '111111111111', region: 'eu-west-1', name: 'payments' };

function snapshot(
  runId: string,
  startedAt: string,
  serviceCount: number | null,
  status: ClusterSnapshot['status'] = 'COMPLETE',
): ClusterSnapshot {
  return {
    runId,
    startedAt,
    cluster,
    status,
    score: status === 'FAILED' ? null : 90,
    nodes: { expected: 3, reached: 3, unreachable: 0, failed: 0 },
    uncoveredNodes: [],
    kubernetesVersion: '1.31',
    serviceCount,
    restoreFailures: 2,
    detections: [],
    notEvaluated: [],
    findings: null,
    auditError: status === 'FAILED' ? 'boom' : null,
  };
}

describe('AuditStore on dynalite', () => {
  let dynamo: LocalDynamo;
  let store: AuditStore;

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new AuditStore({ tableName: 'fleet-audit-test' }, dynamo.client);
    await store.ensureTable();
  });
  afterAll(async () => dynamo.close());

  it('creates a run once and refuses a second run with the same id', async () => {
    expect(await store.startRun('r1', '2026-11-01T00:00:00.000Z')).toBe(true);
    expect(await store.startRun('r1', '2026-11-01T00:00:00.000Z')).toBe(false);
    expect(await store.getRun('r1')).toEqual({
      runId: 'r1',
      startedAt: '2026-11-01T00:00:00.000Z',
      status: 'RUNNING',
      result: null,
    });
  });

  it('names the newest run and keeps its finished result', async () => {
    // Arrange
    await store.startRun('r2', '2026-11-02T00:00:00.000Z');
    const result: RunResult = {
      runId: 'r2',
      status: 'COMPLETE',
      startedAt: '2026-11-02T00:00:00.000Z',
      finishedAt: '2026-11-02T00:05:00.000Z',
      clusters: [],
    };

    // Act
    await store.finishRun(result);

    // Assert
    expect(await store.latestRunId()).toBe('r2');
    expect((await store.getRun('r2'))?.result).toEqual(result);
  });

  it('writes the run index again when a retried plan step finds its run already created', async () => {
    // Arrange: a first attempt that created the run item but failed before the index item
    await store.startRun('r3', '2026-11-05T00:00:00.000Z');
    await DynamoDBDocumentClient.from(dynamo.client).send(
      new DeleteCommand({ TableName: 'fleet-audit-test', Key: { pk: 'RUNS', sk: '2026-11-05T00:00:00.000Z#r3' } }),
    );

    // Act
    const created = await store.startRun('r3', '2026-11-05T00:00:00.000Z');

    // Assert
    expect(created).toBe(false);
    expect(await store.latestRunId()).toBe('r3');
  });

  it('keeps a run larger than one DynamoDB item whole and in order', async () => {
    // Arrange: 150 clusters × 10 findings × ~600 bytes of evidence ≈ 1 MB, well over the 400 KB item limit
    const finding = (i: number) => ({
      ruleId: 'KP-IPTABLES-SCALE' as const,
      severity: 'HIGH' as const,
      title: 'kube-proxy runs in iptables mode with many Services',
      state: 'NEW' as const,
      evidence: {
        summary: `finding ${i} `.padEnd(600, 'x'),
        values: { servicesP50: 1200 },
        nodes: ['i-1'],
        moreNodes: 0,
      },
      remediation: {
        summary: 'move off iptables mode',
        configurationValues: { mode: 'ipvs' },
        command: null,
        links: [],
      },
      fingerprint: `111111111111/eu-west-1/c/KP-IPTABLES-SCALE#${i}`,
    });
    const result: RunResult = {
      runId: 'big',
      status: 'COMPLETE',
      startedAt: '2026-11-03T00:00:00.000Z',
      finishedAt: '2026-11-03T01:00:00.000Z',
      clusters: Array.from({ length: 150 }, (_, c) => ({
        account: '111111111111',
        region: 'eu-west-1',
        name: `cluster-${149 - c}`,
        status: 'COMPLETE' as const,
        score: 70,
        nodes: { expected: 3, reached: 3, unreachable: 0, failed: 0 },
        findings: Array.from({ length: 10 }, (_, i) => finding(i)),
        notEvaluated: [],
      })),
    };
    await store.startRun('big', result.startedAt);

    // Act
    const whileRunning = await store.getRun('big');
    await store.finishRun(result);
    await store.finishRun(result);

    // Assert
    expect(whileRunning).toEqual({ runId: 'big', startedAt: result.startedAt, status: 'RUNNING', result: null });
    expect((await store.getRun('big'))?.result).toEqual(result);
  });

  it('rewrites a snapshot idempotently and keeps it apart from the history points', async () => {
    await store.putSnapshot(snapshot('c', '2026-10-03T00:00:00.000Z', 450));
    await store.putSnapshot(snapshot('c', '2026-10-03T00:00:00.000Z', 450));
    await store.putSnapshot(snapshot('d', '2026-10-04T00:00:00.000Z', 500));

    expect((await store.snapshotsBefore(cluster, '2026-10-04T00:00:00.000Z', 1)).map((s) => s.runId)).toEqual(['c']);
    expect((await store.getSnapshot(cluster, 'd', '2026-10-04T00:00:00.000Z'))?.serviceCount).toBe(500);
  });

  it('keeps one history point a day, the last of the day, and returns the days before the current one oldest first', async () => {
    // Arrange: two runs minutes apart on 1 Oct, a late retry of the earlier one, a point on the current day
    const point = (runId: string, at: string, serviceCount: number) => ({
      runId,
      at,
      serviceCount,
      restoreFailures: 2,
    });
    const other = { ...cluster, name: 'history-days' };
    await store.putHistoryPoint(other, point('a1', '2026-10-01T02:00:00.000Z', 400));
    await store.putHistoryPoint(other, point('a2', '2026-10-01T02:09:00.000Z', 410));
    await store.putHistoryPoint(other, point('a1', '2026-10-01T02:00:00.000Z', 400));
    await store.putHistoryPoint(other, point('c', '2026-10-03T02:00:00.000Z', 450));
    await store.putHistoryPoint(other, point('d', '2026-10-04T01:00:00.000Z', 500));

    // Act
    const history = await store.history(other, '2026-10-04T02:00:00.000Z');

    // Assert
    expect(history).toEqual([
      point('a2', '2026-10-01T02:09:00.000Z', 410),
      point('c', '2026-10-03T02:00:00.000Z', 450),
    ]);
  });

  it('moves a digest between statuses only from the status the caller read, so two report steps never both send it', async () => {
    expect(await store.createDigest('r9', 'r9', '2026-11-09T00:00:00.000Z')).toBe(true);
    expect(await store.createDigest('r9', 'r9', '2026-11-09T00:00:00.000Z')).toBe(false);
    const open = await store.getDigest('r9');
    expect(open?.status).toBe('OPEN');
    if (!open) throw new Error('digest r9 was not stored');

    expect(await store.moveDigest({ ...open, status: 'SENDING', changes: 3 }, 'OPEN')).toBe(true);
    expect(await store.moveDigest({ ...open, status: 'ABANDONED' }, 'OPEN')).toBe(false);
    expect(await store.getDigest('r9')).toMatchObject({ status: 'SENDING', changes: 3 });
  });

  it('reads 120 clusters’ snapshots and finding states in three BatchGetItem calls, null where none is stored', async () => {
    // Arrange: every third cluster has a snapshot of the run, every second a finding state
    const recorded = await startDynalite({ record: true });
    try {
      const own = new AuditStore({ tableName: 'fleet-audit-reads' }, recorded.client);
      await own.ensureTable();
      const clusters = Array.from({ length: 120 }, (_, i) => ({ ...cluster, name: `c-${i}` }));
      const at = '2026-11-05T00:00:00.000Z';
      for (const [i, c] of clusters.entries()) {
        if (i % 3 === 0) await own.putSnapshot({ ...snapshot('run-b', at, i), cluster: c });
        if (i % 2 === 0) {
          await own.putFindingState({
            cluster: c,
            runId: 'run-a',
            startedAt: '2026-11-04T00:00:00.000Z',
            version: 0,
            findings: [],
            pending: [],
            droppedChanges: 0,
          });
        }
      }
      const before = recorded.calls.length;

      // Act
      const reads = await own.clusterReads(clusters, 'run-b', at);

      // Assert: 240 items, 100 a call
      const calls = recorded.calls.slice(before);
      expect(calls.map((c) => c.action)).toEqual(['BatchGetItem', 'BatchGetItem', 'BatchGetItem']);
      expect(reads.size).toBe(120);
      const of = (i: number) => reads.get(`CLUSTER#111111111111#eu-west-1#c-${i}`);
      expect(of(3)?.snapshot?.serviceCount).toBe(3);
      expect(of(3)?.state).toBeNull();
      expect(of(4)?.snapshot).toBeNull();
      expect(of(4)?.state?.runId).toBe('run-a');
      expect(of(119)).toEqual({ snapshot: null, state: null });
      expect(of(0)?.snapshot).toEqual(await own.getSnapshot(clusters[0] ?? cluster, 'run-b', at));
    } finally {
      await recorded.close();
    }
  });

  it('writes a finding state only over the version it read', async () => {
    const state = {
      cluster: { ...cluster, name: 'versions' },
      runId: 'r1',
      startedAt: '2026-11-01T00:00:00.000Z',
      version: 0,
      findings: [],
      pending: [],
      droppedChanges: 0,
    };
    expect(await store.putFindingState(state)).toBe(true);
    expect(await store.putFindingState(state)).toBe(false);
    expect(await store.putFindingState({ ...state, runId: 'r2', version: 1 })).toBe(true);
    expect(await store.putFindingState({ ...state, runId: 'r3', version: 1 })).toBe(false);
    expect((await store.getFindingState(state.cluster))?.runId).toBe('r2');
  });

  it('keeps suppressions with their reason, owner and expiry', async () => {
    const suppression = {
      account: '111111111111',
      region: 'eu-west-1',
      cluster: 'payments',
      ruleId: 'KP-IPTABLES-SCALE' as const,
      reason: 'IPVS migration scheduled for Q1',
      owner: 'platform-team',
      expiresAt: '2027-01-31T00:00:00Z',
    };
    await store.putSuppression(suppression);
    expect(await store.suppressions()).toEqual([suppression]);
  });
});

describe('AuditStore against DynamoDB’s write limits (dynalite)', () => {
  let dynamo: LocalDynamo;
  let store: AuditStore;
  const tableName = 'fleet-audit-limits';

  beforeAll(async () => {
    // the first three BatchWriteItem calls write half their items and return the rest as UnprocessedItems
    dynamo = await startDynalite({ batchWriteUnprocessedFirst: 3 });
    store = new AuditStore({ tableName }, dynamo.client);
    await store.ensureTable();
  });
  afterAll(async () => dynamo.close());

  const runOf = (runId: string, clusters: number): RunResult => ({
    runId,
    status: 'COMPLETE',
    startedAt: '2026-11-04T00:00:00.000Z',
    finishedAt: '2026-11-04T01:00:00.000Z',
    clusters: Array.from({ length: clusters }, (_, c) => ({
      account: '111111111111',
      region: 'eu-west-1',
      name: `cluster-${String(c).padStart(3, '0')}`,
      status: 'COMPLETE' as const,
      score: 90,
      nodes: { expected: 3, reached: 3, unreachable: 0, failed: 0 },
      findings: [],
      notEvaluated: [],
    })),
  });

  it('writes again the items BatchWriteItem hands back unprocessed, so a finished run is whole', async () => {
    // Arrange: 60 cluster results are three batches of at most 25, each half-processed at first
    const result = runOf('unprocessed', 60);
    await store.startRun(result.runId, result.startedAt);

    // Act
    await store.finishRun(result);

    // Assert
    expect((await store.getRun(result.runId))?.result?.clusters.map((c) => c.name)).toEqual(
      result.clusters.map((c) => c.name),
    );
  });

  it('is refused by DynamoDB for a 26th request in one BatchWriteItem, the limit the store batches by', async () => {
    // Arrange
    const doc = DynamoDBDocumentClient.from(dynamo.client);
    const requests = Array.from({ length: 26 }, (_, i) => ({ PutRequest: { Item: { pk: 'LIMIT', sk: `${i}` } } }));

    // Act
    const error = await doc
      .send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }))
      .catch((e: unknown) => e);

    // Assert
    expect(error).toMatchObject({ name: 'ValidationException' });
    expect(String((error as Error).message)).toMatch(/length less than or equal to 25/);
  });

  it('is refused by DynamoDB for an item over 400 KB', async () => {
    // Arrange
    const doc = DynamoDBDocumentClient.from(dynamo.client);

    // Act
    const error = await doc
      .send(new PutCommand({ TableName: tableName, Item: { pk: 'LIMIT', sk: 'big', blob: 'x'.repeat(400 * 1024) } }))
      .catch((e: unknown) => e);

    // Assert
    expect(error).toMatchObject({
      name: 'ValidationException',
      message: 'Item size has exceeded the maximum allowed size',
    });
  });
});
