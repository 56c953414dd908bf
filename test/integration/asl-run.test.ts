import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '#audit/model.js';
import type { RunSummary } from '#handlers/run-summary.js';
import { type FleetSession, openLocalFleet } from '#sim/local-fleet.js';
import { loadScenario, type Scenario } from '#sim/scenario.js';
import { runAudit } from '#workflow/audit-run.js';
import { type DeployedWorkflow, deployedWorkflow, executeAuditRun, realHandler, stateNames } from './asl-support.js';

let deployed: DeployedWorkflow;
const dirs: string[] = [];
const sessions: FleetSession[] = [];
type SimulatedFleet = Awaited<ReturnType<typeof openLocalFleet>>;

/**
 * The default fleet, with EKS in 111111111111/us-east-1 failing every DescribeCluster: the Discover of that
 * region's two clusters (ledger-prod, search-staging) fails after the SDK's retries, so the iteration's Catch and
 * the RecordFailure task run too.
 */
function failingDiscoverScenario(): Scenario {
  const scenario = loadScenario('default');
  return {
    ...scenario,
    faults: [
      ...scenario.faults,
      { api: 'eks:DescribeCluster', account: '111111111111', region: 'us-east-1', serverErrorFirst: 1000 },
    ],
  };
}

async function freshFleet(scenario: string | Scenario = 'default') {
  const stateDir = await mkdtemp(join(tmpdir(), 'fleet-audit-asl-'));
  dirs.push(stateDir);
  const fleet = await openLocalFleet({ stateDir, fresh: true, clusters: [], scenario });
  sessions.push(fleet);
  return fleet;
}

/** What a user compares between two runs of the same fleet: per cluster its status, nodes and rule ids. */
function digestOf(result: RunResult) {
  return result.clusters
    .map((c) => ({
      cluster: `${c.account}/${c.region}/${c.name}`,
      status: c.status,
      nodes: c.nodes,
      rules: c.findings.map((f) => `${f.ruleId}:${f.severity}`).sort(),
    }))
    .sort((a, b) => a.cluster.localeCompare(b.cluster));
}

beforeAll(() => {
  deployed = deployedWorkflow();
}, 120_000);
afterAll(async () => {
  for (const session of sessions) await session.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('the synthesized AuditRun state machine, executed state by state against the simulated fleet', () => {
  let asl: Awaited<ReturnType<typeof executeAuditRun>>;
  let aslRun: RunResult;
  let failedReport: Awaited<ReturnType<typeof executeAuditRun>>;
  let failedReportFleet: SimulatedFleet;
  let aslFleet: SimulatedFleet;

  beforeAll(async () => {
    aslFleet = await freshFleet(failingDiscoverScenario());
    asl = await executeAuditRun(deployed, { deps: aslFleet.deps, simulator: aslFleet.simulator, name: 'asl-e2e-1' });
    const stored = await aslFleet.deps.store.getRun('asl-e2e-1');
    if (!stored?.result) throw new Error(`run not stored: ${JSON.stringify(stored)} ${asl.error} ${asl.cause}`);
    aslRun = stored.result;

    // The report step failing as it did in AWS (the report role could not BatchWriteItem, issue 7).
    failedReportFleet = await freshFleet();
    const report = realHandler('report', failedReportFleet.deps, deployed, failedReportFleet.simulator);
    failedReport = await executeAuditRun(deployed, {
      deps: failedReportFleet.deps,
      simulator: failedReportFleet.simulator,
      name: 'asl-report-fails',
      override: {
        report: async (event, context) => {
          if ((event as { error?: unknown }).error === undefined) {
            const denied = new Error('User is not authorized to perform: dynamodb:BatchWriteItem');
            denied.name = 'AccessDeniedException';
            throw denied;
          }
          return report(event, context);
        },
      },
    });
  }, 240_000);

  it('a failing Report stores the run as FAILED with the reason and fails the execution, for the RunFailed alarm', async () => {
    expect(failedReport.status).toBe('FAILED');
    expect(failedReport.error).toBe('RunFailed');
    const stored = await failedReportFleet.deps.store.getRun('asl-report-fails');
    expect(stored).toMatchObject({
      status: 'FAILED',
      result: null,
      failure: 'report step failed: AccessDeniedException: User is not authorized to perform: dynamodb:BatchWriteItem',
    });
  });

  it('succeeds and returns the report summary of all six clusters, three of them not audited', () => {
    expect(asl.error).toBeUndefined();
    expect(asl.status).toBe('SUCCEEDED');
    const summary = asl.output as RunSummary;
    expect(summary.runId).toBe('asl-e2e-1');
    expect(summary.status).toBe('PARTIAL');
    expect(summary.clusters).toBe(6);
    // edge-gateway (Bottlerocket only) and the two clusters whose DescribeCluster fails
    expect(summary.clustersByStatus.FAILED).toBe(3);
    expect(aslRun.clusters.find((c) => c.name === 'search-staging')?.findings.map((f) => f.ruleId)).toEqual([
      'AUDIT-FAILED',
    ]);
  });

  it('enters every state of the definition between a good run and a failed report, so no state goes untested', () => {
    const entered = new Set(
      [asl, failedReport]
        .flatMap((run) => [run.history, ...run.children.map((c) => c.history)])
        .flatMap((history) => history.events)
        .filter((e) => e.type.endsWith('StateEntered'))
        .map((e) => e.stateName),
    );
    expect([...entered].sort()).toEqual(stateNames(deployed.definition as { States: Record<string, unknown> }).sort());
  });

  it('invokes each function through the ARN the stack wired to its Task, and Plan and Report once', () => {
    const byStep = new Map(deployed.functions.map((f) => [f.arn, f.step]));
    const calls = asl.lambda.invocations.map((i) => `${i.stateName}→${byStep.get(i.functionArn)}`);
    expect(new Set(calls)).toEqual(
      new Set([
        'Plan→plan',
        'Discover→discover',
        'Poll→poll',
        'Assess→assess',
        'RecordFailure→recordFailure',
        'Report→report',
      ]),
    );
    expect(calls.filter((c) => c === 'Plan→plan')).toHaveLength(1);
    expect(calls.filter((c) => c === 'Report→report')).toHaveLength(1);
  });

  it('keeps the histories AWS would keep: one child execution per cluster, the parent’s history without them', () => {
    const parent = asl.history.counts();
    expect(parent.ExecutionStarted).toBe(1);
    expect(parent.ExecutionSucceeded).toBe(1);
    expect(parent.MapRunStarted).toBe(1);
    expect(parent.MapRunSucceeded).toBe(1);
    expect(parent.MapIterationStarted).toBeUndefined();
    // Plan and Report only: every cluster's calls are in its own child's history
    expect(parent.LambdaFunctionScheduled).toBe(2);
    expect(asl.children.map((c) => c.status)).toEqual(Array(6).fill('SUCCEEDED'));
    const childCounts = asl.children.map((c) => c.history.counts());
    const all = (type: string) => childCounts.reduce((sum, counts) => sum + (counts[type] ?? 0), parent[type] ?? 0);
    expect(all('LambdaFunctionScheduled')).toBe(asl.lambda.invocations.length);
    expect(all('LambdaFunctionSucceeded')).toBe(asl.lambda.invocations.length - 8);
    // ledger-prod's and search-staging's Discover fail (a 5xx past the SDK's retries: TransientAwsError), are tried
    // four times (the cluster steps' Retry), and the Parallel's Catch records each, inside their child
    expect(all('LambdaFunctionFailed')).toBe(8);
    expect(all('ParallelStateFailed')).toBe(2);
    expect(asl.maxHistoryEvents).toBe(
      Math.max(...[asl.history, ...asl.children.map((c) => c.history)].map((h) => h.events.length)),
    );
    expect(asl.maxHistoryEvents).toBeLessThan(5_000);
  });

  it('reads the Map’s items from the run list the Plan function wrote to S3, as the state machine', () => {
    const s3 = aslFleet.simulator.calls.filter((c) => c.service === 's3');
    expect(s3.map((c) => `${c.caller} ${c.action} ${c.input.Key} ${c.status}`)).toEqual([
      'plan PutObject runs/asl-e2e-1/clusters.json 200',
      'stateMachine GetObject runs/asl-e2e-1/clusters.json 200',
      'report GetObject runs/asl-e2e-1/clusters.json 200',
    ]);
    expect(asl.history.events.find((e) => e.type === 'TaskStateExited' && e.stateName === 'Plan')).toBeDefined();
  });

  it('stores the same run as the local runner (`fleet-audit run --local`) does for the same fleet', async () => {
    const fleet = await freshFleet(failingDiscoverScenario());
    const local = await runAudit(fleet.deps, { pollIntervalMs: fleet.pollIntervalMs, runId: 'runner-1' });

    expect(digestOf(aslRun)).toEqual(digestOf(local.result));
    expect(aslRun.status).toBe(local.result.status);
  }, 180_000);
});

describe('drift between the definition and the handlers fails the run', () => {
  it('a Poll state that stops selecting $.discovery makes every cluster fail with the poll handler naming the field', async () => {
    // Arrange: the definition as it would be if the construct dropped Poll's inputPath
    const definition = structuredClone(deployed.definition) as unknown as DefinitionShape;
    const branch = definition.States.AuditClusters.ItemProcessor.States.AuditCluster.Branches[0];
    delete branch?.States.Poll?.InputPath;
    const fleet = await freshFleet();

    // Act
    const run = await executeAuditRun(deployed, {
      deps: fleet.deps,
      simulator: fleet.simulator,
      name: 'asl-drift-poll',
      definition,
    });

    // Assert
    expect(run.status).toBe('SUCCEEDED');
    const stored = await fleet.deps.store.getRun('asl-drift-poll');
    const audited = (stored?.result?.clusters ?? []).filter((c) => c.status !== 'FAILED');
    expect(audited).toEqual([]);
    const failures = run.children.flatMap(functionErrors);
    expect(failures).toContain('InvalidEventError');
  }, 180_000);

  it('a plan handler that returns its list under another key fails the execution at the Map', async () => {
    const fleet = await freshFleet();
    const run = await executeAuditRun(deployed, {
      deps: fleet.deps,
      simulator: fleet.simulator,
      name: 'asl-drift-plan',
      override: { plan: async () => ({ runId: 'asl-drift-plan', startedAt: new Date().toISOString(), items: [] }) },
    });

    // The ItemReader's Key path selects nothing (States.ParameterPathFailure): the Map's Catch sends the plan to
    // RecordRunFailure, which cannot name the run's list either, and the execution fails with no cluster audited.
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('InvalidEventError');
    expect(JSON.parse(run.cause ?? '{}').errorMessage).toMatch(/^report: event field clusterCount: /);
    expect(run.children).toEqual([]);
  }, 60_000);
});

describe('a cluster step that meets a transient AWS failure past the SDK’s retries', () => {
  it('is run again by the state machine’s Retry, and the cluster is audited, not AUDIT-FAILED', async () => {
    // Arrange: each cluster's first Discover fails as the handler names a throttled call (TransientAwsError)
    const fleet = await freshFleet();
    const discover = realHandler('discover', fleet.deps, deployed, fleet.simulator);
    const failedOnce = new Set<string>();
    const run = await executeAuditRun(deployed, {
      deps: fleet.deps,
      simulator: fleet.simulator,
      name: 'asl-transient-retry',
      override: {
        discover: async (event, context) => {
          const { account, region, name } = (event as { cluster: { account: string; region: string; name: string } })
            .cluster;
          const place = `${account}/${region}/${name}`;
          if (!failedOnce.has(place)) {
            failedOnce.add(place);
            const error = new Error(`eks:DescribeCluster cluster ${name} failed: ThrottlingException: Rate exceeded`);
            error.name = 'TransientAwsError';
            throw error;
          }
          return discover(event, context);
        },
      },
    });

    // Assert: every cluster's first Discover failed and was retried; none was recorded failed for it
    expect(run.status).toBe('SUCCEEDED');
    const stored = await fleet.deps.store.getRun('asl-transient-retry');
    const clusters = stored?.result?.clusters ?? [];
    expect(clusters.length).toBe(6);
    expect(failedOnce.size).toBe(6);
    for (const child of run.children) {
      expect(functionErrors(child).filter((e) => e === 'TransientAwsError')).toHaveLength(1);
    }
    const snapshots = await Promise.all(
      clusters.map((c) => fleet.deps.store.getSnapshot(c, 'asl-transient-retry', stored?.result?.startedAt ?? '')),
    );
    expect(snapshots.filter((snapshot) => snapshot?.auditError?.includes('Rate exceeded'))).toEqual([]);
    expect(clusters.filter((c) => c.status !== 'FAILED').length).toBeGreaterThan(0);
  }, 120_000);
});

interface DefinitionShape {
  States: {
    AuditClusters: {
      ItemProcessor: {
        States: { AuditCluster: { Branches: Array<{ States: Record<string, Record<string, unknown>> }> } };
      };
    };
  } & Record<string, Record<string, unknown>>;
}

function functionErrors(run: { history: { events: Array<{ type: string; error?: string }> } }): string[] {
  return run.history.events.filter((e) => e.type === 'LambdaFunctionFailed').map((e) => e.error ?? '');
}
