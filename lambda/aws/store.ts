import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { SourceStatesSchema } from '#audit/evidence-sources.js';
import {
  AuditStatusSchema,
  ClusterMeasuresSchema,
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
import { type Suppression, SuppressionSchema, suppressionId } from '#audit/suppressions.js';
import { isConditionFailure, isConnectionFailure } from './errors.js';
import { SlotPool } from './slots.js';

/**
 * The audit's one DynamoDB table (docs/operations.md). Keys:
 *
 * | item                 | pk                                   | sk                              |
 * |----------------------|--------------------------------------|---------------------------------|
 * | run record           | `RUN#<runId>`                        | `RUN`                           |
 * | run result, a cluster| `RUN#<runId>`                        | `CLUSTER#<position>`            |
 * | run index            | `RUNS`                               | `<startedAt>#<runId>`           |
 * | cluster snapshot     | `CLUSTER#<account>#<region>#<name>`  | `SNAPSHOT#<startedAt>#<runId>`  |
 * | finding state        | `CLUSTER#<account>#<region>#<name>`  | `STATE`                         |
 * | history point        | `CLUSTER#<account>#<region>#<name>`  | `DAY#<yyyy-mm-dd>`              |
 * | digest               | `DIGEST#<digestId>`                  | `DIGEST`                        |
 * | clusters of a target | `TARGET#<account>#<region>`          | `CLUSTERS`                      |
 * | suppression          | `SUPPRESSION`                        | `<account>/<region>/<cluster>/<ruleId>` |
 * | discovered nodes     | `DISCOVERY#<runId>#<account>#<region>#<name>` | `NODES#<chunk>`        |
 * | discovered commands  | `DISCOVERY#<runId>#<account>#<region>#<name>` | `COMMANDS#<chunk>`     |
 * | budget slot          | `SLOTS#<scope>`                      | `<slot>` (slots.ts)             |
 *
 * Every write is keyed by run id, so a retried step overwrites its own item with the same content (idempotent);
 * the run record is created with a condition so two runs never share an id. History items and per-run items carry
 * `expiresAt` (epoch seconds) for the table's TTL.
 *
 * No transactions (dynalite has none, and none are needed): every fact that must change together lives in one
 * item. A cluster's finding state and the alert changes it produced (`pending`) are one item, written with one
 * conditional PutItem (optimistic locking on `version`): a change becomes pending in the very write that makes
 * the finding NEW, WORSENED or RESOLVED, and leaves `pending` only in a later write made after the digest that
 * carries it was published. DynamoDB applies a single-item write atomically and checks its condition against
 * the stored item, so no reader ever sees a state without its pending changes or two writers overwrite each other
 * ("Optimistic locking with version number", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/BestPractices_OptimisticLocking.html);
 * every read that decides a write is strongly consistent. A crash between two writes leaves a state that the next
 * report step reads and completes (see lambda/workflow/report.ts), which is why no step needs two items to change
 * at once.
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
  /** the findings with their lifecycle state; written by versions before the finding-state item, else null */
  findings: z.array(FindingSchema).nullable(),
  auditError: z.string().nullable(),
  /** what each evidence source delivered; absent in snapshots of older versions (read as not known) */
  sources: SourceStatesSchema.optional(),
  /** what the HTML report's charts draw; absent in snapshots of older versions (their charts say "no data") */
  measures: ClusterMeasuresSchema.optional(),
});
export type ClusterSnapshot = z.infer<typeof ClusterSnapshotSchema>;

/** An alert-worthy change (NEW, WORSENED, RESOLVED) not yet in a published digest. */
export const PendingChangeSchema = z.object({
  /** `<runId>/<fingerprint>`: one change per finding per run, so a retried step records it once */
  id: z.string(),
  runId: z.string(),
  startedAt: z.string(),
  finding: FindingSchema,
  /** the digest it was given to; null until a digest takes it (a FAILED or ABANDONED digest gives it back) */
  digestId: z.string().nullable(),
});
export type PendingChange = z.infer<typeof PendingChangeSchema>;

/**
 * A cluster's current finding state: the findings of the newest reported run and the changes no published digest
 * has carried yet. `version` grows by one with every write (optimistic locking).
 */
export const FindingStateSchema = z.object({
  cluster: ClusterRefSchema,
  runId: z.string(),
  startedAt: z.string(),
  version: z.number().int().nonnegative(),
  findings: z.array(FindingSchema),
  pending: z.array(PendingChangeSchema),
  /** changes given up because `pending` was full (digests undelivered for weeks); told in the next digest */
  droppedChanges: z.number().int().nonnegative().default(0),
});
export type FindingState = z.infer<typeof FindingStateSchema>;

export const DIGEST_STATUSES = ['OPEN', 'SENDING', 'SENT', 'FAILED', 'ABANDONED'] as const;

/**
 * One digest: OPEN while its report step gives it changes, SENDING from just before its first Publish, SENT once
 * every part was published; FAILED when its first Publish was refused, ABANDONED when another run's report step
 * found it OPEN past the lease (its owner died). Changes of a FAILED or ABANDONED digest go to the next one. A
 * digest too large for one SNS message is sent in parts: `partKeys` (set with SENDING) says where each part ends
 * and `messageIds` grows by one write per published part, so a retried step sends only the parts after those.
 */
export const DigestRecordSchema = z.object({
  digestId: z.string(),
  runId: z.string(),
  createdAt: z.string(),
  status: z.enum(DIGEST_STATUSES),
  changes: z.number().int().nonnegative().default(0),
  /** the message id of each part published so far, in part order */
  messageIds: z.array(z.string()).default([]),
  /** each part's last change (its order in the digest); empty for a digest split before parts were recorded */
  partKeys: z.array(z.string()).default([]),
  sentAt: z.string().nullable().default(null),
  problem: z.string().nullable().default(null),
});
export type DigestRecord = z.infer<typeof DigestRecordSchema>;

/** The clusters ListClusters last returned for an account and region. */
const ClusterDirectorySchema = z.object({
  account: z.string(),
  region: z.string(),
  names: z.array(z.string()),
  listedAt: z.string(),
  runId: z.string(),
});
export type ClusterDirectoryRecord = z.infer<typeof ClusterDirectorySchema>;

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

/** A node as Discover left it, before assessment; stored in the run's discovery items, never in the state. */
export const PlannedNodeSchema = z.object({
  instanceId: z.string(),
  nodegroup: z.string().nullable(),
  /** PENDING: the collector was sent to it */
  reach: z.enum(['PENDING', 'UNREACHABLE']),
  reason: z.string().nullable(),
  /** on a platform the collector can never run on (Windows, Bottlerocket): unseen in every run alike */
  unsupported: z.boolean().optional(),
});
export type PlannedNode = z.infer<typeof PlannedNodeSchema>;

/**
 * Where one Discover attempt stored a cluster's nodes and command ids: how many items of each it wrote, and its own
 * id, written into every item. Readers read only items `0 … count - 1` and only with this id, so the items of an
 * earlier attempt (a Discover retried with fewer nodes leaves its higher items behind) are never counted.
 */
export const StoredDiscoverySchema = z.object({
  discoveryId: z.string().min(1),
  nodeItems: z.number().int().nonnegative(),
  commandItems: z.number().int().nonnegative(),
});
export type StoredDiscovery = z.infer<typeof StoredDiscoverySchema>;

/** Which run's discovery of which cluster. */
export interface DiscoveryKey {
  runId: string;
  startedAt: string;
  cluster: ClusterRef;
}

/**
 * Nodes per discovery item. DynamoDB caps an item at 400 KB, attribute names included, a map costing 3 bytes and
 * each list element 1 more ("Item size",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html;
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html). A node is at most
 * about 250 bytes (a 63-character node group, the longest reason, every attribute set), so 500 nodes stay under
 * 130 KB, a third of the cap, whatever the cluster (test/integration/discovery-store.test.ts writes the worst case).
 */
export const NODES_PER_ITEM = 500;
/** Command ids (36 characters each) per discovery item: about 40 KB. One id covers up to 50 nodes. */
export const COMMANDS_PER_ITEM = 1000;

/** Cluster results go in batches of 25, BatchWriteItem's limit. */
const BATCH_WRITE_MAX = 25;

/** Days of history points a run reads (SCALE-GROWTH needs a few; the projection uses every one). */
const HISTORY_DAYS = 60;

/** A run that started but has no stored result. */
export interface UnfinishedRun {
  runId: string;
  startedAt: string;
  status: z.infer<typeof RunStatusSchema>;
  /** why its report step failed, when RecordRunFailure stored it; else null (killed, or still running) */
  failure: string | null;
}

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
  /** account-wide budgets shared by every step of every run, e.g. concurrent Logs Insights queries (slots.ts) */
  readonly slots: SlotPool;
  private readonly retentionSeconds: number;

  constructor(
    options: AuditStoreOptions,
    private readonly client: DynamoDBClient = new DynamoDBClient({}),
  ) {
    this.doc = namingFailures(
      DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
      options.tableName,
    );
    this.tableName = options.tableName;
    this.slots = new SlotPool(this.doc, this.tableName);

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
      if (!isConditionFailure(error)) throw error;
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
   * A run the report step already stored as finished (it failed later, e.g. while sending the digest) keeps its
   * record and result: the write is conditional on the run not being finished, and false says it was kept.
   */
  async failRun(runId: string, startedAt: string, finishedAt: string, failure: string): Promise<boolean> {
    try {
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
          // RUNNING (or missing: a plan step that failed between its writes), or FAILED by an earlier attempt (a
          // string `failure`); attribute_type and attribute_not_exists as in
          // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html
          ConditionExpression: 'attribute_not_exists(pk) OR #status = :running OR attribute_type(failure, :string)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':running': 'RUNNING', ':string': 'S' },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
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

  /**
   * BatchWriteItem until every item is written. DynamoDB may accept a batch yet leave some of it unwritten
   * (`UnprocessedItems`, under throttling or an internal failure); AWS asks callers to resend those with
   * exponential back-off (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
   * The SDK's retry does not cover them: the call itself succeeded.
   */
  private async batchPut(items: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt === BATCH_ATTEMPTS) {
        throw new Error(
          `DynamoDB left ${requests.length} items unwritten after ${BATCH_ATTEMPTS} BatchWriteItem calls`,
        );
      }
      if (attempt > 0) await backOff(attempt);
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
   * The newest run that finished (its report step stored the result), and the runs started after it that did not
   * (killed, still running, or failed before their report step), newest first. Looks back at most `lookBack` runs.
   */
  async newestFinishedRun(lookBack = 50): Promise<{ run: RunRecord | null; unfinished: UnfinishedRun[] }> {
    const unfinished: UnfinishedRun[] = [];
    const pages = paginateQuery(
      { client: this.doc, pageSize: 10 },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'RUNS' },
        ScanIndexForward: false,
      },
    );
    let seen = 0;
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (typeof item.runId !== 'string' || seen++ >= lookBack) continue;
        const record = await this.getRun(item.runId);
        if (record?.result) return { run: record, unfinished };
        unfinished.push({
          runId: item.runId,
          startedAt: String(item.startedAt),
          status: record?.status ?? 'RUNNING',
          failure: record?.failure ?? null,
        });
      }
      if (seen >= lookBack) break;
    }
    return { run: null, unfinished };
  }

  /**
   * Stores what Discover found in a cluster for a run, so that the state carries counts only: its nodes,
   * {@link NODES_PER_ITEM} an item, and its SSM command ids, {@link COMMANDS_PER_ITEM} an item. Idempotent: a
   * retried Discover writes the same keys again, and the record it returns (carried in the state) names its own
   * items only. One PutItem an item, all at once: a cluster has few items (11 for 5,000 nodes), a PutItem either
   * writes its item or fails (no unprocessed items to resend), and it costs what BatchWriteItem would, which carries
   * "individual PutItem … operations" billed item by item (BatchWriteItem API reference,
   * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html;
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html). It also keeps
   * BatchWriteItem the report step's call alone, so a failing BatchWriteItem still fails the report, not discovery.
   */
  async putDiscovery(
    key: DiscoveryKey,
    discoveryId: string,
    nodes: ReadonlyArray<PlannedNode>,
    commandIds: ReadonlyArray<string>,
  ): Promise<StoredDiscovery> {
    const common = {
      pk: discoveryPartition(key),
      runId: key.runId,
      cluster: key.cluster,
      discoveryId,
      expiresAt: this.expiry(key.startedAt),
    };
    const nodeItems = chunksOf(nodes, NODES_PER_ITEM).map((chunk, i) => ({
      ...common,
      sk: discoverySortKey('NODES', i),
      ...StoredNodesSchema.parse({ nodes: chunk }),
    }));
    const commandItems = chunksOf(commandIds, COMMANDS_PER_ITEM).map((chunk, i) => ({
      ...common,
      sk: discoverySortKey('COMMANDS', i),
      commandIds: chunk,
    }));
    await Promise.all(
      [...nodeItems, ...commandItems].map((Item) => this.doc.send(new PutCommand({ TableName: this.tableName, Item }))),
    );
    return { discoveryId, nodeItems: nodeItems.length, commandItems: commandItems.length };
  }

  /**
   * The log query a poll started for a cluster whose Discover had to put it off (the Logs Insights budget or quota
   * in use), or why it could not start: poll and assess read it, since a poll's result does not change the state.
   */
  async putLateLogQuery(key: DiscoveryKey, discoveryId: string, late: LateLogQuery): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: discoveryPartition(key),
          sk: 'QUERY',
          discoveryId,
          expiresAt: this.expiry(key.startedAt),
          ...LateLogQuerySchema.parse(late),
        },
      }),
    );
  }

  /** The query a poll started late for this Discover attempt, or null when none has (yet). */
  async lateLogQuery(key: DiscoveryKey, discoveryId: string): Promise<LateLogQuery | null> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: discoveryPartition(key), sk: 'QUERY' },
        ConsistentRead: true,
      }),
    );
    if (!out.Item || out.Item.discoveryId !== discoveryId) return null;
    return parseItem(LateLogQuerySchema, out.Item, `late log query of ${key.cluster.name}`);
  }

  /** The nodes Discover stored for a cluster. */
  async discoveredNodes(key: DiscoveryKey, stored: StoredDiscovery): Promise<PlannedNode[]> {
    return (await this.discovered(key, { ...stored, commandItems: 0 })).nodes;
  }

  /** The SSM command ids Discover stored for a cluster (poll reads them on every poll). */
  async discoveredCommandIds(key: DiscoveryKey, stored: StoredDiscovery): Promise<string[]> {
    return (await this.discovered(key, { ...stored, nodeItems: 0 })).commandIds;
  }

  /**
   * The nodes and the command ids Discover stored, in one strongly consistent Query (Discover wrote them moments
   * ago): the command items sort before the node items (`COMMANDS#…` < `NODES#…`), so one key range holds both, and
   * assess reads its cluster's discovery in one call. Items in key order. Any item missing or written by another
   * Discover attempt fails the read: counting a mix of two attempts would be wrong.
   */
  async discovered(
    key: DiscoveryKey,
    stored: StoredDiscovery,
  ): Promise<{ nodes: PlannedNode[]; commandIds: string[] }> {
    const kinds = [
      { kind: 'COMMANDS' as const, count: stored.commandItems },
      { kind: 'NODES' as const, count: stored.nodeItems },
    ].filter((k) => k.count > 0);
    const first = kinds[0];
    const last = kinds.at(-1);
    if (!first || !last) return { nodes: [], commandIds: [] };
    const items: Array<Record<string, unknown>> = [];
    const pages = paginateQuery(
      { client: this.doc },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :first AND :last',
        ExpressionAttributeValues: {
          ':pk': discoveryPartition(key),
          ':first': discoverySortKey(first.kind, 0),
          ':last': discoverySortKey(last.kind, last.count - 1),
        },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    const own = (kind: DiscoveryItemKind, count: number) => {
      const wanted = new Set(Array.from({ length: count }, (_, i) => discoverySortKey(kind, i)));
      const found = items.filter((item) => wanted.has(String(item.sk)) && item.discoveryId === stored.discoveryId);
      if (found.length !== count) {
        const noun = kind === 'NODES' ? 'node' : 'command';
        throw new StoredItemError(
          `stored discovery of ${key.cluster.account}/${key.cluster.region}/${key.cluster.name} in run ${key.runId} ` +
            `is not readable: ${count - found.length} of its ${count} ${noun} items are missing or another Discover ` +
            `attempt's than ${stored.discoveryId}; audit the cluster again`,
        );
      }
      return found;
    };
    return {
      nodes: own('NODES', stored.nodeItems).flatMap(
        (item) => parseItem(StoredNodesSchema, item, `discovery item ${item.sk}`).nodes,
      ),
      commandIds: own('COMMANDS', stored.commandItems).flatMap(
        (item) => parseItem(StoredCommandsSchema, item, `discovery item ${item.sk}`).commandIds,
      ),
    };
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

  /**
   * For each cluster of a run, its snapshot of that run and its finding state (null where none is stored), in one
   * strongly consistent BatchGetItem a hundred items (its limit: "up to 100 items", BatchGetItem API reference,
   * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html) instead of two GetItem
   * calls a cluster. Keys DynamoDB hands back unread (`UnprocessedKeys`, under throttling or for a 16 MB answer)
   * are asked again with back-off, as AWS asks of callers. Billed as the GetItem calls would be (each item read
   * rounds up to 4 KB on its own).
   */
  async clusterReads(
    clusters: ReadonlyArray<ClusterRef>,
    runId: string,
    startedAt: string,
  ): Promise<Map<string, { snapshot: ClusterSnapshot | null; state: FindingState | null }>> {
    const snapshotSk = `SNAPSHOT#${startedAt}#${runId}`;
    const keys = clusters.flatMap((cluster) => [
      { pk: clusterKey(cluster), sk: snapshotSk },
      { pk: clusterKey(cluster), sk: 'STATE' },
    ]);
    const items = new Map<string, Record<string, unknown>>();
    for (const batch of chunksOf(keys, BATCH_GET_MAX)) {
      let pending: Array<Record<string, unknown>> = batch;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt === BATCH_ATTEMPTS) {
          throw new Error(`DynamoDB left ${pending.length} items unread after ${BATCH_ATTEMPTS} BatchGetItem calls`);
        }
        if (attempt > 0) await backOff(attempt);
        const out = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) items.set(`${item.pk}|${item.sk}`, item);
        pending = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return new Map(
      clusters.map((cluster) => {
        const pk = clusterKey(cluster);
        const snapshot = items.get(`${pk}|${snapshotSk}`);
        const state = items.get(`${pk}|STATE`);
        return [
          pk,
          {
            snapshot: snapshot ? parseItem(ClusterSnapshotSchema, snapshot, `snapshot ${pk} ${runId}`) : null,
            state: state ? parseItem(FindingStateSchema, state, `finding state ${pk}`) : null,
          },
        ];
      }),
    );
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

  /**
   * Records a cluster's history point for the day of `at` (UTC): the last complete snapshot of the day wins, so a
   * late retry of an earlier run never replaces a newer point. Only the report step writes points, so a run
   * killed before it (or a cluster whose audit was partial or failed, which the caller leaves out) adds none.
   */
  async putHistoryPoint(cluster: ClusterRef, point: HistoryPoint): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: clusterKey(cluster),
            sk: `DAY#${point.at.slice(0, 10)}`,
            ...HistoryPointSchema.parse(point),
            expiresAt: this.expiry(point.at),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #at <= :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': point.at },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Trend points of the days before the day of `before` (UTC), oldest first, at most `limit` days: one per day,
   * the last complete snapshot of that day. Runs minutes apart therefore count once, and the current run's own
   * day is its own point.
   */
  async history(cluster: ClusterRef, before: string, limit = HISTORY_DAYS): Promise<HistoryPoint[]> {
    const today = before.slice(0, 10);
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': clusterKey(cluster), ':from': 'DAY#', ':to': `DAY#${today}` },
        ScanIndexForward: false,
        Limit: limit + 1,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? [])
      .filter((item) => item.sk !== `DAY#${today}`)
      .slice(0, limit)
      .reverse()
      .map((item) => parseItem(HistoryPointSchema, item, `history point ${clusterKey(cluster)} ${item.sk}`));
  }

  /** A cluster's current finding state, read strongly consistent; null before its first report. */
  async getFindingState(cluster: ClusterRef): Promise<FindingState | null> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: clusterKey(cluster), sk: 'STATE' },
        ConsistentRead: true,
      }),
    );
    return out.Item ? parseItem(FindingStateSchema, out.Item, `finding state ${clusterKey(cluster)}`) : null;
  }

  /**
   * Writes a cluster's finding state if the stored one is still the version the caller read (`state.version - 1`;
   * for version 0: if there is none). False when another writer came first: read again and redo.
   */
  async putFindingState(state: FindingState): Promise<boolean> {
    const item = FindingStateSchema.parse(state);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: clusterKey(item.cluster), sk: 'STATE', ...item },
          ...(item.version === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :read',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':read': item.version - 1 },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Creates a digest record, OPEN; false when one with this id exists already. */
  async createDigest(digestId: string, runId: string, createdAt: string): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `DIGEST#${digestId}`,
            sk: 'DIGEST',
            ...DigestRecordSchema.parse({ digestId, runId, createdAt, status: 'OPEN' }),
            expiresAt: this.expiry(createdAt),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async getDigest(digestId: string): Promise<DigestRecord | null> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `DIGEST#${digestId}`, sk: 'DIGEST' },
        ConsistentRead: true,
      }),
    );
    return out.Item ? parseItem(DigestRecordSchema, out.Item, `digest ${digestId}`) : null;
  }

  /**
   * Moves a digest to its next status if it is still in `from` (the status the caller read): the single-item
   * condition is what keeps two report steps from both publishing one digest. False when it was not in `from`.
   */
  async moveDigest(record: DigestRecord, from: DigestRecord['status']): Promise<boolean> {
    return this.putDigestIf(record, '#status = :from', { '#status': 'status' }, { ':from': from });
  }

  /**
   * Records one more published part of a SENDING digest: only if it is still SENDING with `published` parts
   * recorded, so two report steps never record the same part twice. False when it was not.
   */
  async recordDigestPart(record: DigestRecord, published: number): Promise<boolean> {
    // size() of a list attribute is its number of elements (DynamoDB condition expression functions,
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html)
    return this.putDigestIf(
      record,
      '#status = :sending AND size(#ids) = :published',
      { '#status': 'status', '#ids': 'messageIds' },
      { ':sending': 'SENDING', ':published': published },
    );
  }

  /** Writes a digest record if `condition` holds for the stored one; false when it did not. */
  private async putDigestIf(
    record: DigestRecord,
    condition: string,
    names: Record<string, string>,
    values: Record<string, string | number>,
  ): Promise<boolean> {
    const item = DigestRecordSchema.parse(record);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `DIGEST#${item.digestId}`, sk: 'DIGEST', ...item, expiresAt: this.expiry(item.createdAt) },
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Remembers the clusters ListClusters returned for a target, so a run whose listing fails still reports them. */
  async putClusterDirectory(record: ClusterDirectoryRecord): Promise<void> {
    const item = ClusterDirectorySchema.parse(record);
    await this.doc
      .send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `TARGET#${item.account}#${item.region}`, sk: 'CLUSTERS', ...item },
          ConditionExpression: 'attribute_not_exists(pk) OR listedAt <= :at',
          ExpressionAttributeValues: { ':at': item.listedAt },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  /** The clusters last listed for a target, or null when it was never listed. */
  async clusterDirectory(target: { account: string; region: string }): Promise<ClusterDirectoryRecord | null> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `TARGET#${target.account}#${target.region}`, sk: 'CLUSTERS' },
        ConsistentRead: true,
      }),
    );
    return out.Item
      ? parseItem(ClusterDirectorySchema, out.Item, `clusters of ${target.account}/${target.region}`)
      : null;
  }

  /** Stores a suppression under its id (its scope and rule); returns the one it replaced, if any. */
  async putSuppression(suppression: Suppression): Promise<Suppression | null> {
    const s = SuppressionSchema.parse(suppression);
    const out = await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'SUPPRESSION', sk: suppressionId(s), ...s },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes ? parseItem(SuppressionSchema, out.Attributes, `suppression ${suppressionId(s)}`) : null;
  }

  /**
   * Gives an ended suppression's notice to a digest: only if the suppression is still the one read (same expiry:
   * not renewed) and its notice is free (`from`: none given yet, or given to that digest, which failed or was
   * abandoned). False when it was renewed, removed or taken by another report step.
   */
  async claimSuppressionNotice(s: Suppression, digestId: string, from: string | null): Promise<boolean> {
    return this.updateSuppressionNotice(s, { digestId, sent: false }, from);
  }

  /** Marks an ended suppression's notice as delivered by its digest; false if the notice is no longer that digest's. */
  async settleSuppressionNotice(s: Suppression, digestId: string): Promise<boolean> {
    return this.updateSuppressionNotice(s, { digestId, sent: true }, digestId);
  }

  private async updateSuppressionNotice(
    s: Suppression,
    notice: { digestId: string; sent: boolean },
    from: string | null,
  ): Promise<boolean> {
    // A conditional PutItem of the whole suppression as read (the calls the report step already makes): the
    // condition on the expiry keeps a renewal made meanwhile.
    const item = SuppressionSchema.parse({ ...s, endNotice: notice });
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: 'SUPPRESSION', sk: suppressionId(item), ...item },
          ConditionExpression:
            from === null
              ? 'expiresAt = :expiresAt AND attribute_not_exists(endNotice)'
              : 'expiresAt = :expiresAt AND endNotice.digestId = :from',
          ExpressionAttributeValues: {
            ':expiresAt': s.expiresAt,
            ...(from !== null && { ':from': from }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Deletes the suppression with this id; returns it, or null when there was none. */
  async deleteSuppression(id: string): Promise<Suppression | null> {
    const out = await this.doc.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: 'SUPPRESSION', sk: id },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes ? parseItem(SuppressionSchema, out.Attributes, `suppression ${id}`) : null;
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

const StoredNodesSchema = z.object({ nodes: z.array(PlannedNodeSchema) });

/**
 * A cluster's running log query: its id, its log group, and the slot of the audit's Logs Insights budget it holds
 * (lambda/aws/slots.ts), so that freeing it is one conditional DeleteItem, not a Query of the scope first. No slot:
 * a state written before slots were remembered; the holder's slots are then looked up. `indexField`: the query was
 * built with `filterIndex` on that field (lambda/audit/log-query.ts), which leaves kubelet's journal, and so the
 * probe-kill count, unread.
 */
export const LogQueryRefSchema = z.object({
  queryId: z.string(),
  logGroup: z.string(),
  slot: z.number().int().nonnegative().optional(),
  indexField: z.string().optional(),
});
export type LogQueryRef = z.infer<typeof LogQueryRefSchema>;

/** A log query started by a poll, or the reason it could not start. */
export const LateLogQuerySchema = z.object({
  query: LogQueryRefSchema.nullable(),
  problem: z.string().nullable(),
  logGroupMissing: z.boolean().optional(),
});
export type LateLogQuery = z.infer<typeof LateLogQuerySchema>;
const StoredCommandsSchema = z.object({ commandIds: z.array(z.string()) });

type DiscoveryItemKind = 'NODES' | 'COMMANDS';

/** One partition per run and cluster: a cluster's discovery items are read with one Query, and only its own. */
const discoveryPartition = (key: DiscoveryKey) =>
  `DISCOVERY#${key.runId}#${key.cluster.account ?? '-'}#${key.cluster.region ?? '-'}#${key.cluster.name}`;

/** Zero-padded, so that key order is chunk order and `BETWEEN` selects a range of chunks. */
const discoverySortKey = (kind: DiscoveryItemKind, chunk: number) => `${kind}#${String(chunk).padStart(6, '0')}`;

function chunksOf<T>(values: ReadonlyArray<T>, size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < values.length; i += size) chunks.push(values.slice(i, i + size));
  return chunks;
}

/** BatchGetItem reads at most 100 items a call. */
const BATCH_GET_MAX = 100;

/** BatchWriteItem calls for one batch before the store gives up on its unprocessed items. */
const BATCH_ATTEMPTS = 8;

/** Full-jitter exponential back-off: a random wait up to 50 ms × 2^attempt, capped at 5 s. */
function backOff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(5000, 50 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The DynamoDB operation of each document-client command the store sends. */
const OPERATIONS: Record<string, string> = {
  PutCommand: 'PutItem',
  GetCommand: 'GetItem',
  QueryCommand: 'Query',
  BatchWriteCommand: 'BatchWriteItem',
  BatchGetCommand: 'BatchGetItem',
  DeleteCommand: 'DeleteItem',
};

/**
 * The document client with a `send` that names the failing call: an SDK error alone says "Internal server error",
 * not which write of which table failed. Paginators send through it too (it is still a DynamoDBDocumentClient), and
 * the client passed in is left as it was (the document client shares its middleware stack). The error's name and
 * class stay the SDK's, so callers still tell the errors apart.
 */
function namingFailures(doc: DynamoDBDocumentClient, table: string): DynamoDBDocumentClient {
  const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
  const named: DynamoDBDocumentClient = Object.create(doc);
  Object.defineProperty(named, 'send', {
    value: async (command: { constructor: { name: string } }) => {
      try {
        return await send(command);
      } catch (error) {
        const name = command.constructor.name;
        throw withStoreCall(error, OPERATIONS[name] ?? name.replace(/Command$/, ''), table);
      }
    },
  });
  return named;
}

/**
 * The error with the DynamoDB operation, the table and the SDK's attempts in its message
 * (`dynamodb:BatchWriteItem on table fleet-audit failed: Internal server error (6 attempts)`). A condition failure
 * is an answer, not a failure, and a broken connection names the endpoint already (the CLI says which service it
 * could not reach): both stay as they are.
 */
function withStoreCall(error: unknown, operation: string, table: string): unknown {
  if (!(error instanceof Error) || isConditionFailure(error) || isConnectionFailure(error)) return error;
  const attempts = (error as { $metadata?: { attempts?: unknown } }).$metadata?.attempts;
  const tries = typeof attempts === 'number' && attempts > 1 ? ` (${attempts} attempts)` : '';
  const first = error.message.split('\n')[0] ?? '';
  if (!first.startsWith('dynamodb:'))
    error.message = `dynamodb:${operation} on table ${table} failed: ${first}${tries}`;
  return error;
}

function parseItem<T extends z.ZodType>(schema: T, item: Record<string, unknown>, what: string): z.output<T> {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new StoredItemError(`stored ${what} is not readable: ${issue?.path.join('.')}: ${issue?.message}`);
}
