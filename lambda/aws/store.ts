import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import {
  AuditStatusSchema,
  type ClusterRef,
  ClusterRefSchema,
  type ClusterResult,
  ClusterResultSchema,
  EvidenceSchema,
  FindingSchema,
  type HistoryPoint,
  HistoryPointSchema,
  NodeCoverageSchema,
  NotEvaluatedSchema,
  RemediationSchema,
  RuleIdSchema,
  type RunResult,
  SeveritySchema,
} from '#audit/model.js';
import { type Suppression, SuppressionSchema } from '#audit/suppressions.js';

/**
 * The audit's one DynamoDB table (ARCHITECTURE §8). Keys:
 *
 * | item                 | pk                                   | sk                              |
 * |----------------------|--------------------------------------|---------------------------------|
 * | run record           | `RUN#<runId>`                        | `RUN`                           |
 * | digest sent          | `RUN#<runId>`                        | `DIGEST`                        |
 * | run index            | `RUNS`                               | `<startedAt>#<runId>`           |
 * | cluster snapshot     | `CLUSTER#<account>#<region>#<name>`  | `SNAPSHOT#<startedAt>#<runId>`  |
 * | suppression          | `SUPPRESSION`                        | `<account>/<region>/<cluster>/<ruleId>` |
 *
 * Every write is keyed by run id, so a retried step overwrites its own item with the same content (idempotent);
 * the run record is created with a condition so two runs never share an id. History items carry `expiresAt`
 * (epoch seconds) for the table's TTL. No transactions (dynalite has none): each item stands alone.
 */

/** What a cluster's audit stored in one run; the lifecycle of the next run reads it. */
export const ClusterSnapshotSchema = z.object({
  runId: z.string(),
  startedAt: z.string(),
  cluster: ClusterRefSchema,
  status: AuditStatusSchema,
  score: z.number().nullable(),
  nodes: NodeCoverageSchema,
  /** instance ids that were not reached, so the lifecycle can tell RESOLVED from UNKNOWN */
  uncoveredNodes: z.array(z.string()),
  kubernetesVersion: z.string().nullable(),
  serviceCount: z.number().nullable(),
  restoreFailures: z.number().nullable(),
  /** this run's detections, before the lifecycle (state is set by the report step) */
  detections: z.array(
    z.object({
      ruleId: RuleIdSchema,
      severity: SeveritySchema,
      title: z.string(),
      evidence: EvidenceSchema,
      remediation: RemediationSchema,
      fingerprint: z.string(),
    }),
  ),
  notEvaluated: z.array(NotEvaluatedSchema),
  /** the findings with their lifecycle state, once the report step has run */
  findings: z.array(FindingSchema).nullable(),
  auditError: z.string().nullable(),
});
export type ClusterSnapshot = z.infer<typeof ClusterSnapshotSchema>;

const RunStatusSchema = z.enum(['RUNNING', 'COMPLETE', 'PARTIAL', 'FAILED']);

/** The run item itself: the clusters' results are items of their own (a run may outgrow one 400 KB item). */
const StoredRunSchema = z.object({
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable().default(null),
  status: RunStatusSchema,
  clusterCount: z.number().int().nonnegative().default(0),
  /** why the run could not be reported (the state machine's Catch on its Report task stored it) */
  failure: z.string().nullable().default(null),
});

/** A run as read back: the finished result once the report step has stored it. */
export interface RunRecord {
  runId: string;
  startedAt: string;
  status: z.infer<typeof RunStatusSchema>;
  result: RunResult | null;
  /** set when the report step failed: the run is FAILED and has no result */
  failure?: string;
}

/** One line of `fleet-audit runs`: a stored run without its clusters' results. */
export interface RunSummary {
  runId: string;
  startedAt: string;
  finishedAt: string | null;
  status: z.infer<typeof RunStatusSchema>;
  clusterCount: number;
}

/** Cluster results go in batches of 25, BatchWriteItem's limit. */
const BATCH_WRITE_MAX = 25;

/** A store item that does not match its schema (written by another version, or damaged). */
export class StoredItemError extends Error {
  override readonly name = 'StoredItemError';
}

export const clusterKey = (c: ClusterRef) => `CLUSTER#${c.account ?? '-'}#${c.region ?? '-'}#${c.name}`;

export interface AuditStoreOptions {
  tableName: string;
  /** how long history items are kept, in days (TTL) */
  retentionDays?: number;
}

export class AuditStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;

  constructor(
    options: AuditStoreOptions,
    private readonly client: DynamoDBClient = new DynamoDBClient({}),
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.tableName = options.tableName;
    this.retentionSeconds = (options.retentionDays ?? 400) * 86_400;
  }

  /** Creates the table when it does not exist (local mode only; CDK owns the deployed table). */
  async ensureTable(): Promise<void> {
    try {
      await this.client.send(
        new CreateTableCommand({
          TableName: this.tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    for (let attempt = 0; attempt < 50; attempt++) {
      const table = await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
      if (table.Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`table ${this.tableName} did not become ACTIVE`);
  }

  /**
   * Records a new run. Returns false when a run with this id already exists (a retried plan step). The run index
   * item is written either way, so a plan step that failed between the two writes is mended by its retry.
   */
  async startRun(runId: string, startedAt: string): Promise<boolean> {
    let created = true;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `RUN#${runId}`, sk: 'RUN', runId, startedAt, status: 'RUNNING', finishedAt: null },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
      created = false;
    }
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'RUNS', sk: `${startedAt}#${runId}`, runId, startedAt, expiresAt: this.expiry(startedAt) },
      }),
    );
    return created;
  }

  /**
   * Stores a finished run: each cluster's result as its own item (`RUN#<runId>` / `CLUSTER#<position>`), then the
   * run item with its status — last, so a finished status means every cluster item is there. Rewriting the same
   * run writes the same keys.
   */
  async finishRun(result: RunResult): Promise<void> {
    const expiresAt = this.expiry(result.startedAt);
    const items = result.clusters.map((cluster, index) => ({
      pk: `RUN#${result.runId}`,
      sk: `CLUSTER#${String(index).padStart(6, '0')}`,
      cluster,
      expiresAt,
    }));
    for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) {
      await this.batchPut(items.slice(i, i + BATCH_WRITE_MAX));
    }
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `RUN#${result.runId}`,
          sk: 'RUN',
          runId: result.runId,
          startedAt: result.startedAt,
          finishedAt: result.finishedAt,
          status: result.status,
          clusterCount: result.clusters.length,
          expiresAt,
        },
      }),
    );
  }

  /**
   * Marks a run whose report step failed as FAILED, with the reason, in one PutItem (the run item only): a run
   * must not stay RUNNING because its last step failed. Cluster items already written stay; the run has no result.
   */
  async failRun(runId: string, startedAt: string, finishedAt: string, failure: string): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `RUN#${runId}`,
          sk: 'RUN',
          runId,
          startedAt,
          finishedAt,
          status: 'FAILED',
          clusterCount: 0,
          failure,
          expiresAt: this.expiry(startedAt),
        },
      }),
    );
  }

  /** A run and, once it has finished, its whole result (read back from its cluster items in order). */
  async getRun(runId: string): Promise<RunRecord | null> {
    let run: z.infer<typeof StoredRunSchema> | null = null;
    const clusters: Array<{ sk: string; cluster: ClusterResult }> = [];
    const pages = paginateQuery(
      { client: this.doc },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `RUN#${runId}` },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const sk = String(item.sk);
        if (sk === 'RUN') run = parseItem(StoredRunSchema, item, `run ${runId}`);
        else if (sk.startsWith('CLUSTER#')) {
          clusters.push({ sk, cluster: parseItem(ClusterResultSchema, item.cluster, `run ${runId} ${sk}`) });
        }
      }
    }
    if (!run) return null;
    const { status, startedAt, finishedAt } = run;
    if (run.failure !== null) return { runId, startedAt, status, result: null, failure: run.failure };
    if (status === 'RUNNING' || finishedAt === null) return { runId, startedAt, status, result: null };
    if (clusters.length !== run.clusterCount) {
      throw new StoredItemError(
        `stored run ${runId} lists ${run.clusterCount} clusters but ${clusters.length} are stored`,
      );
    }
    clusters.sort((a, b) => a.sk.localeCompare(b.sk));
    return {
      runId,
      startedAt,
      status,
      result: { runId, status, startedAt, finishedAt, clusters: clusters.map((c) => c.cluster) },
    };
  }

  private async batchPut(items: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt === 8) throw new Error(`DynamoDB left ${requests.length} items unwritten after 8 attempts`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
      requests = (out.UnprocessedItems?.[this.tableName] ?? []).flatMap((r) =>
        r.PutRequest?.Item ? [{ PutRequest: { Item: r.PutRequest.Item } }] : [],
      );
    }
  }

  /**
   * The newest runs, newest first (at most `limit`): the run index, then each run's own item for its status and
   * cluster count. A run in the index whose item is missing (a plan step that failed between its two writes) is
   * listed as RUNNING with no clusters.
   */
  async listRuns(limit = 20): Promise<RunSummary[]> {
    const runs: RunSummary[] = [];
    for (const entry of await this.newestRunEntries(limit)) {
      const runId = String(entry.runId);
      const item = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: `RUN#${runId}`, sk: 'RUN' }, ConsistentRead: true }),
      );
      const run = item.Item ? parseItem(StoredRunSchema, item.Item, `run ${runId}`) : null;
      runs.push({
        runId,
        startedAt: String(entry.startedAt),
        finishedAt: run?.finishedAt ?? null,
        status: run?.status ?? 'RUNNING',
        clusterCount: run?.clusterCount ?? 0,
      });
    }
    return runs;
  }

  /** The newest run's id, or null when there has been none. */
  async latestRunId(): Promise<string | null> {
    const item = (await this.newestRunEntries(1))[0];
    return typeof item?.runId === 'string' ? item.runId : null;
  }

  /** The run index's newest entries (`RUNS` / `<startedAt>#<runId>`), newest first. */
  private async newestRunEntries(limit: number): Promise<Array<Record<string, unknown>>> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'RUNS' },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return out.Items ?? [];
  }

  /**
   * Claims the right to send a run's digest: true the first time for a run, false after (a retried report step),
   * so the digest goes out once per run.
   */
  async claimDigest(runId: string, startedAt: string): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `RUN#${runId}`, sk: 'DIGEST', runId, expiresAt: this.expiry(startedAt) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Writes (or rewrites, for a retried step) a cluster's snapshot for a run. */
  async putSnapshot(snapshot: ClusterSnapshot): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: clusterKey(snapshot.cluster),
          sk: `SNAPSHOT#${snapshot.startedAt}#${snapshot.runId}`,
          ...snapshot,
          expiresAt: this.expiry(snapshot.startedAt),
        },
      }),
    );
  }

  /** The snapshot a run wrote for a cluster, or null. */
  async getSnapshot(cluster: ClusterRef, runId: string, startedAt: string): Promise<ClusterSnapshot | null> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: clusterKey(cluster), sk: `SNAPSHOT#${startedAt}#${runId}` },
        ConsistentRead: true,
      }),
    );
    return out.Item ? parseItem(ClusterSnapshotSchema, out.Item, `snapshot ${clusterKey(cluster)} ${runId}`) : null;
  }

  /** Snapshots of a cluster from runs that started before `before`, newest first, at most `limit`. */
  async snapshotsBefore(cluster: ClusterRef, before: string, limit: number): Promise<ClusterSnapshot[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': clusterKey(cluster), ':from': 'SNAPSHOT#', ':to': `SNAPSHOT#${before}` },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((item) => parseItem(ClusterSnapshotSchema, item, `snapshot ${item.sk}`));
  }

  /** Trend points of earlier runs, oldest first, from snapshots that were audited. */
  async history(cluster: ClusterRef, before: string, limit = 30): Promise<HistoryPoint[]> {
    const snapshots = await this.snapshotsBefore(cluster, before, limit);
    return snapshots
      .filter((s) => s.status !== 'FAILED')
      .reverse()
      .map((s) =>
        HistoryPointSchema.parse({
          runId: s.runId,
          at: s.startedAt,
          serviceCount: s.serviceCount,
          restoreFailures: s.restoreFailures,
        }),
      );
  }

  async putSuppression(suppression: Suppression): Promise<void> {
    const s = SuppressionSchema.parse(suppression);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'SUPPRESSION', sk: `${s.account}/${s.region}/${s.cluster}/${s.ruleId}`, ...s },
      }),
    );
  }

  /** Every stored suppression (expired ones too: the lifecycle decides). */
  async suppressions(): Promise<Suppression[]> {
    const items: Suppression[] = [];
    const pages = paginateQuery(
      { client: this.doc },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'SUPPRESSION' },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) items.push(parseItem(SuppressionSchema, item, `suppression ${item.sk}`));
    }
    return items;
  }

  private expiry(startedAt: string): number {
    return Math.floor(Date.parse(startedAt) / 1000) + this.retentionSeconds;
  }
}

function parseItem<T extends z.ZodType>(schema: T, item: Record<string, unknown>, what: string): z.output<T> {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new StoredItemError(`stored ${what} is not readable: ${issue?.path.join('.')}: ${issue?.message}`);
}
