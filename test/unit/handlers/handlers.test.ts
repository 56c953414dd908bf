import { describe, expect, it, vi } from 'vitest';
import type { TargetClients } from '#aws/ports.js';
import { type RunListStore, runListKey } from '#aws/run-lists.js';
import type { AuditStore, ClusterSnapshot } from '#aws/store.js';
import type { DiscoveryState } from '#workflow/discovery-state.js';
import { AuditSettingsSchema } from '#workflow/settings.js';
import type { StepDeps } from '#workflow/steps.js';
import { LAMBDA_ENV } from './env.js';

// Each handler module builds its real dependencies at import (cold start); the tests use the factories instead.
// The logger stays quiet: the failures below are expected.
Object.assign(process.env, LAMBDA_ENV, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
const { createPlanHandler } = await import('#handlers/plan.js');
const { createDiscoverHandler } = await import('#handlers/discover.js');
const { createPollHandler } = await import('#handlers/poll.js');
const { createAssessHandler } = await import('#handlers/assess.js');
const { createRecordFailureHandler, errorOf } = await import('#handlers/record-failure.js');
const { createReportHandler } = await import('#handlers/report.js');

const STARTED = '2026-11-30T02:00:00.000Z';
const ITEM = {
  runId: 'run-1',
  startedAt: STARTED,
  cluster: { account: '111111111111', region: 'eu-west-1', name: 'prod' },
};

/** Step dependencies with a fake store and fake clients; `overrides` replace parts of them. */
function fakeDeps(overrides: { clients?: Partial<TargetClients>; store?: Partial<AuditStore> } = {}): StepDeps {
  const clients = {
    directory: { listClusters: async () => ['prod', 'dev'] },
    commands: {},
    logs: {},
    ...overrides.clients,
  } as unknown as TargetClients;
  return {
    clientsFor: () => clients,
    store: {
      startRun: async () => true,
      putSnapshot: async () => {},
      clusterDirectory: async () => null,
      putClusterDirectory: async () => {},
      getFindingState: async () => null,
      putFindingState: async () => true,
      putHistoryPoint: async () => {},
      discoveredNodes: async () => [],
      discoveredCommandIds: async () => [],
      discovered: async () => ({ nodes: [], commandIds: [] }),
      // nothing read in batches: the report step reads each cluster on its own (getSnapshot, getFindingState)
      clusterReads: async () => new Map(),
      ...overrides.store,
    } as unknown as AuditStore,
    publisher: null,
    settings: AuditSettingsSchema.parse({
      targets: [
        { account: '111111111111', region: 'eu-west-1' },
        { account: '222222222222', region: 'us-east-1' },
      ],
    }),
    now: () => new Date(STARTED),
  };
}

const discovery = (change: Partial<DiscoveryState> = {}): DiscoveryState => ({
  runId: 'run-1',
  startedAt: STARTED,
  account: '111111111111',
  region: 'eu-west-1',
  name: 'prod',
  kubernetesVersion: '1.31',
  endpoint: 'https://example.eks.amazonaws.com',
  addons: { vpcCni: null, kubeProxy: null },
  nodes: { expected: 0, pending: 0, unreachable: 0, unsupported: 0 },
  commandCount: 0,
  stored: { discoveryId: 'd-1', nodeItems: 0, commandItems: 0 },
  query: null,
  queryProblem: null,
  deadline: '2026-11-30T02:10:00.000Z',
  ...change,
});

/** Run lists kept in memory, as S3 keeps them: the JSON text by key. */
function memoryRunLists(): RunListStore & { objects: Map<string, string> } {
  const objects = new Map<string, string>();
  return {
    objects,
    put: async (runId, items) => {
      objects.set(runListKey(runId), JSON.stringify(items));
      return { bucket: 'fleet-audit-run-lists', key: runListKey(runId) };
    },
    get: async ({ key }) => JSON.parse(objects.get(key) ?? 'null'),
  };
}

/** The list a plan handler wrote. */
function listOf(lists: ReturnType<typeof memoryRunLists>, runId: string): unknown[] {
  return JSON.parse(lists.objects.get(runListKey(runId)) ?? '[]');
}

/** Clients whose ListClusters is refused. */
const listingDenied: Partial<TargetClients> = {
  directory: {
    listClusters: async () => {
      throw new Error('AccessDenied');
    },
  } as unknown as TargetClients['directory'],
};

describe('plan handler', () => {
  it('writes the clusters to the run’s list and returns only its key and count, with the execution name as run id', async () => {
    // Arrange
    const lists = memoryRunLists();
    const handler = createPlanHandler(fakeDeps(), lists);

    // Act
    const plan = await handler({ runId: 'exec-2026-11-30' });

    // Assert
    expect(plan).toEqual({
      runId: 'exec-2026-11-30',
      startedAt: STARTED,
      clusterCount: 4,
      runList: { bucket: 'fleet-audit-run-lists', key: 'runs/exec-2026-11-30/clusters.json' },
    });
    expect(listOf(lists, 'exec-2026-11-30')).toEqual([
      { account: '111111111111', region: 'eu-west-1', name: 'dev' },
      { account: '111111111111', region: 'eu-west-1', name: 'prod' },
      { account: '222222222222', region: 'us-east-1', name: 'dev' },
      { account: '222222222222', region: 'us-east-1', name: 'prod' },
    ]);
  });

  it('keeps a target never listed before that could not be listed as one item with its error', async () => {
    const deps = fakeDeps({
      clients: listingDenied,
    });
    const lists = memoryRunLists();
    const plan = await createPlanHandler(deps, lists)({});
    expect(listOf(lists, plan.runId)[0]).toEqual({
      account: '111111111111',
      region: 'eu-west-1',
      name: '*',
      listError: 'could not list clusters: AccessDenied',
    });
  });

  it('keeps the clusters a failed listing last returned, each with the listing error', async () => {
    const deps = fakeDeps({
      clients: listingDenied,
      store: {
        clusterDirectory: async ({ account, region }: { account: string; region: string }) => ({
          account,
          region,
          names: ['prod', 'dev'],
          listedAt: '2026-11-29T02:00:00.000Z',
          runId: 'run-0',
        }),
      } as unknown as Partial<AuditStore>,
    });
    const lists = memoryRunLists();
    const plan = await createPlanHandler(deps, lists)({});
    expect(listOf(lists, plan.runId).slice(0, 2)).toEqual([
      {
        account: '111111111111',
        region: 'eu-west-1',
        name: 'dev',
        listError: 'could not list clusters: AccessDenied (clusters as last listed 2026-11-29)',
      },
      {
        account: '111111111111',
        region: 'eu-west-1',
        name: 'prod',
        listError: 'could not list clusters: AccessDenied (clusters as last listed 2026-11-29)',
      },
    ]);
  });

  it('rejects a run id that is not a string with a named error', async () => {
    await expect(createPlanHandler(fakeDeps(), memoryRunLists())({ runId: 42 })).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: 'plan: event field runId: Invalid input: expected string, received number',
    });
  });
});

describe('discover handler', () => {
  it('rejects a Map item without its cluster', async () => {
    await expect(createDiscoverHandler(fakeDeps())({ runId: 'run-1', startedAt: STARTED })).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: 'discover: event field cluster: Invalid input: expected object, received undefined',
    });
  });

  it('rejects a start time that is not ISO 8601', async () => {
    await expect(createDiscoverHandler(fakeDeps())({ ...ITEM, startedAt: 'last night' })).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: expect.stringMatching(/^discover: event field startedAt: /),
    });
  });

  it('fails a cluster whose account could not be listed with the listing error', async () => {
    const item = {
      ...ITEM,
      cluster: { ...ITEM.cluster, name: '*', listError: 'could not list clusters: AccessDenied' },
    };
    await expect(createDiscoverHandler(fakeDeps())(item)).rejects.toThrow('could not list clusters: AccessDenied');
  });
});

describe('poll handler', () => {
  it('says done when nothing was sent and no query runs', async () => {
    await expect(createPollHandler(fakeDeps())(discovery())).resolves.toEqual({
      done: true,
      commandsDone: true,
      queryDone: true,
    });
  });

  it('says not done while a command is in progress before the deadline', async () => {
    const asked: string[][] = [];
    const deps = fakeDeps({
      store: { discoveredCommandIds: async () => ['c1'] },
      clients: {
        commands: {
          getProgress: async (ids: string[]) => {
            asked.push(ids);
            return [
              {
                commandId: 'c1',
                status: 'InProgress',
                targetCount: 3,
                completedCount: 1,
                errorCount: 0,
                deliveryTimedOutCount: 0,
              },
            ];
          },
        } as unknown as TargetClients['commands'],
      },
    });
    const state = discovery({ commandCount: 1, stored: { discoveryId: 'd-1', nodeItems: 1, commandItems: 1 } });
    await expect(createPollHandler(deps)(state)).resolves.toEqual({
      done: false,
      commandsDone: false,
      queryDone: true,
    });
    // the command ids come from the store, not the state
    expect(asked).toEqual([['c1']]);
  });

  it('rejects a discovery state without its deadline', async () => {
    const { deadline: _deadline, ...state } = discovery();
    await expect(createPollHandler(fakeDeps())(state)).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: 'poll: event field deadline: Invalid input: expected string, received undefined',
    });
  });
});

describe('assess handler', () => {
  it('rejects node counts that are not whole numbers', async () => {
    const state = discovery({ nodes: { expected: 2.5, pending: 0, unreachable: 0, unsupported: 0 } });
    await expect(createAssessHandler(fakeDeps())(state)).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: expect.stringMatching(/^assess: event field nodes\.expected: /),
    });
  });

  it('rejects a state without the keys of what Discover stored', async () => {
    const { stored: _stored, ...state } = discovery();
    await expect(createAssessHandler(fakeDeps())(state)).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: 'assess: event field stored: Invalid input: expected object, received undefined',
    });
  });

  it('keeps what Discover said about the log group and the add-ons through the event parse', async () => {
    // Arrange: the schema once dropped both, so a missing log group was reported as a failed query
    const snapshots: ClusterSnapshot[] = [];
    const deps = fakeDeps({
      store: {
        history: async () => [],
        putSnapshot: async (snapshot: ClusterSnapshot) => {
          snapshots.push(snapshot);
        },
        slots: { releaseHolder: async () => {} } as unknown as AuditStore['slots'],
      },
    });
    const state = discovery({
      queryProblem: 'log group /aws/eks/prod/dataplane does not exist',
      logGroupMissing: true,
      addonProblem: 'add-ons could not be read: AccessDenied',
    });

    // Act
    await createAssessHandler(deps)(state);

    // Assert
    expect(snapshots[0]?.sources?.logs).toEqual({
      state: 'MISSING',
      reason: 'log group /aws/eks/prod/dataplane does not exist',
    });
    expect(snapshots[0]?.sources?.addons).toEqual({
      state: 'FAILED',
      reason: 'add-ons could not be read: AccessDenied',
    });
  });
});

describe('record-failure handler', () => {
  it('reads a Lambda error from the Catch’s JSON cause', () => {
    const error = errorOf({
      Error: 'AwsCallError',
      Cause: JSON.stringify({
        errorType: 'AwsCallError',
        errorMessage: 'eks:DescribeCluster prod failed: AccessDeniedException: not authorized',
        trace: ['AwsCallError: …'],
      }),
    });
    expect(error.name).toBe('AwsCallError');
    expect(error.message).toBe('eks:DescribeCluster prod failed: AccessDeniedException: not authorized');
  });

  it('reads a States error with a plain-text cause, or none', () => {
    expect(errorOf({ Error: 'States.Timeout', Cause: 'Task timed out' })).toMatchObject({
      name: 'States.Timeout',
      message: 'Task timed out',
    });
    expect(errorOf({ Error: 'States.TaskFailed' })).toMatchObject({
      name: 'States.TaskFailed',
      message: 'no cause given',
    });
  });

  it('stores the cluster as FAILED with the caught error, so the run goes on', async () => {
    // Arrange
    const putSnapshot = vi.fn(async (_snapshot: ClusterSnapshot) => {});
    const handler = createRecordFailureHandler(fakeDeps({ store: { putSnapshot } }));

    // Act
    const outcome = await handler({
      ...ITEM,
      error: { Error: 'AwsCallError', Cause: '{"errorType":"AwsCallError","errorMessage":"ssm:SendCommand failed"}' },
    });

    // Assert
    expect(outcome).toEqual({
      account: '111111111111',
      region: 'eu-west-1',
      name: 'prod',
      status: 'FAILED',
      score: null,
      nodes: { expected: 0, reached: 0, failed: 0, unreachable: 0 },
    });
    expect(putSnapshot).toHaveBeenCalledOnce();
    expect(putSnapshot.mock.calls[0]?.[0]).toMatchObject({
      runId: 'run-1',
      startedAt: STARTED,
      status: 'FAILED',
      auditError: 'AwsCallError: ssm:SendCommand failed',
    });
  });

  it('rejects an event without the caught error', async () => {
    await expect(createRecordFailureHandler(fakeDeps())(ITEM)).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: 'record-failure: event field error: Invalid input: expected object, received undefined',
    });
  });
});

describe('report handler', () => {
  const snapshot = (name: string, status: ClusterSnapshot['status']): ClusterSnapshot => ({
    runId: 'run-1',
    startedAt: STARTED,
    cluster: { account: '111111111111', region: 'eu-west-1', name },
    status,
    score: status === 'FAILED' ? null : 100,
    nodes: { expected: 2, reached: status === 'FAILED' ? 0 : 2, unreachable: 0, failed: 0 },
    uncoveredNodes: [],
    kubernetesVersion: '1.31',
    serviceCount: 40,
    restoreFailures: 0,
    detections: [],
    notEvaluated: [],
    findings: null,
    auditError: status === 'FAILED' ? 'discovery failed' : null,
  });

  it('returns a summary of the run, not the run, and emits the run metrics', async () => {
    // Arrange
    const snapshots = new Map([
      ['prod', snapshot('prod', 'COMPLETE')],
      ['dev', snapshot('dev', 'FAILED')],
    ]);
    const getSnapshot = vi.fn(async (cluster: { name: string }, runId: string, startedAt: string) =>
      runId === 'run-1' && startedAt === STARTED ? (snapshots.get(cluster.name) ?? null) : null,
    );
    const finishRun = vi.fn(async () => {});
    const emitMetrics = vi.fn();
    const deps = fakeDeps({
      store: {
        suppressions: async () => [],
        getSnapshot,
        snapshotsBefore: async () => [],
        finishRun,
      } as unknown as Partial<AuditStore>,
    });
    // Every call to the clock is a minute later than the one before.
    let now = Date.parse(STARTED);
    deps.now = () => {
      now += 60_000;
      return new Date(now);
    };

    const lists = memoryRunLists();
    const runList = await lists.put('run-1', [
      { account: '111111111111', region: 'eu-west-1', name: 'prod' },
      { account: '111111111111', region: 'eu-west-1', name: 'dev' },
    ]);

    // Act
    const summary = await createReportHandler(
      deps,
      lists,
      emitMetrics,
    )({ runId: 'run-1', startedAt: STARTED, clusterCount: 2, runList });
    if (!('durationSeconds' in summary)) throw new Error(`not a run summary: ${JSON.stringify(summary)}`);

    // Assert
    expect(summary).toMatchObject({
      runId: 'run-1',
      status: 'PARTIAL',
      clusters: 2,
      clustersByStatus: { COMPLETE: 1, PARTIAL: 0, FAILED: 1 },
      alertMessageId: null,
      alertProblem: null,
    });
    expect(summary).not.toHaveProperty('result');
    expect(finishRun).toHaveBeenCalledOnce();
    expect(emitMetrics).toHaveBeenCalledWith({
      clustersAudited: 1,
      clustersFailed: 1,
      durationSeconds: summary.durationSeconds,
      openFindingsBySeverity: { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, INFO: 0 },
    });
    expect(summary.durationSeconds).toBeGreaterThan(0);
  });

  it('rejects a plan without its cluster count', async () => {
    await expect(
      createReportHandler(fakeDeps(), memoryRunLists(), vi.fn())({ runId: 'run-1', startedAt: STARTED }),
    ).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: 'report: event field clusterCount: Invalid input: expected number, received undefined',
    });
  });

  it('refuses a run list that holds another number of clusters than the plan wrote, naming the object', async () => {
    const lists = memoryRunLists();
    const runList = await lists.put('run-1', [{ account: '111111111111', region: 'eu-west-1', name: 'prod' }]);
    await expect(
      createReportHandler(fakeDeps(), lists, vi.fn())({ runId: 'run-1', startedAt: STARTED, clusterCount: 2, runList }),
    ).rejects.toMatchObject({
      name: 'InvalidEventError',
      message:
        'report: run list s3://fleet-audit-run-lists/runs/run-1/clusters.json holds 1 clusters, the plan wrote 2',
    });
  });

  it('refuses a run list whose entry is not a cluster, naming the entry', async () => {
    const lists = memoryRunLists();
    const runList = await lists.put('run-1', [{ account: '111111111111', region: 'eu-west-1' }]);
    await expect(
      createReportHandler(fakeDeps(), lists, vi.fn())({ runId: 'run-1', startedAt: STARTED, clusterCount: 1, runList }),
    ).rejects.toMatchObject({
      name: 'InvalidEventError',
      message:
        'report: run list s3://fleet-audit-run-lists/runs/run-1/clusters.json: entry 0.name: Invalid input: expected string, received undefined',
    });
  });
});
