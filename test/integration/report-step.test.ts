import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessCluster, type Detection } from '#audit/assess.js';
import type { Finding, RuleId } from '#audit/model.js';
import { renderRunHtml } from '#audit/render/html.js';
import { DEFAULT_THRESHOLDS } from '#audit/thresholds.js';
import { AuditStore, type ClusterSnapshot } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import { report } from '#workflow/report.js';
import { AuditSettingsSchema } from '#workflow/settings.js';
import type { StepDeps } from '#workflow/steps.js';
import { clusterEvidence, reachedNodes } from '../unit/audit/evidence-builders.js';
import { LAMBDA_ENV } from '../unit/handlers/env.js';

// The handler module builds its real dependencies at import (cold start); the test uses the factory instead.
Object.assign(process.env, LAMBDA_ENV, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
const { createReportHandler } = await import('#handlers/report.js');

const cluster = { account: '111111111111', region: 'eu-west-1', name: 'payments' };

function detection(ruleId: RuleId): Detection {
  return {
    ruleId,
    severity: 'HIGH',
    title: ruleId,
    evidence: { summary: `${ruleId} fired`, values: {}, nodes: ['i-1'], moreNodes: 0 },
    remediation: { summary: 'fix it', configurationValues: null, command: null, links: [] },
    fingerprint: `111111111111/eu-west-1/payments/${ruleId}`,
  };
}

function snapshot(
  runId: string,
  startedAt: string,
  detections: Detection[],
  findings: Finding[] | null,
): ClusterSnapshot {
  return {
    runId,
    startedAt,
    cluster,
    status: 'COMPLETE',
    score: 70,
    nodes: { expected: 1, reached: 1, unreachable: 0, failed: 0 },
    uncoveredNodes: [],
    kubernetesVersion: '1.31',
    serviceCount: 600,
    restoreFailures: 0,
    detections,
    notEvaluated: [],
    findings,
    auditError: null,
  };
}

describe('the report step on dynalite', () => {
  let dynamo: LocalDynamo;
  let deps: StepDeps;

  beforeAll(async () => {
    dynamo = await startDynalite();
    const store = new AuditStore({ tableName: 'fleet-audit-report' }, dynamo.client);
    await store.ensureTable();
    deps = {
      clientsFor: () => {
        throw new Error('the report step calls no AWS API but the store and SNS');
      },
      store,
      publisher: null,
      settings: AuditSettingsSchema.parse({ targets: [{ account: cluster.account, region: cluster.region }] }),
      now: () => new Date('2026-11-03T00:10:00.000Z'),
    };
  });
  afterAll(async () => dynamo.close());

  it('compares with the newest reported run, so detections of a run that died before reporting are still NEW', async () => {
    // Arrange: run a was reported with CNI-RESTARTS; run b died before its report step (findings null) after
    // detecting KP-IPTABLES-SCALE too; run c sees both.
    const restarts = detection('CNI-RESTARTS');
    const scale = detection('KP-IPTABLES-SCALE');
    await deps.store.putSnapshot(
      snapshot('a', '2026-11-01T00:00:00.000Z', [restarts], [{ ...restarts, state: 'NEW' }]),
    );
    await deps.store.putSnapshot(snapshot('b', '2026-11-02T00:00:00.000Z', [restarts, scale], null));
    await deps.store.putSnapshot(snapshot('c', '2026-11-03T00:00:00.000Z', [restarts, scale], null));

    // Act
    const output = await report(
      {
        runId: 'c',
        startedAt: '2026-11-03T00:00:00.000Z',
        clusters: [{ runId: 'c', startedAt: '2026-11-03T00:00:00.000Z', ...cluster }],
      },
      deps,
    );

    // Assert
    expect(output.result.clusters[0]?.findings.map((f) => [f.ruleId, f.state])).toEqual([
      ['CNI-RESTARTS', 'ONGOING'],
      ['KP-IPTABLES-SCALE', 'NEW'],
    ]);
  });

  it('tells the detections of a first run that died before reporting as NEW on the next run, not as ONGOING', async () => {
    // Arrange: another cluster's only earlier run (f) stored its snapshot and was killed before its report step
    const fresh = { ...cluster, name: 'ledger' };
    const restarts = { ...detection('CNI-RESTARTS'), fingerprint: '111111111111/eu-west-1/ledger/CNI-RESTARTS' };
    await deps.store.putSnapshot({ ...snapshot('f', '2026-11-05T00:00:00.000Z', [restarts], null), cluster: fresh });
    await deps.store.putSnapshot({ ...snapshot('g', '2026-11-06T00:00:00.000Z', [restarts], null), cluster: fresh });

    // Act
    const output = await report(
      {
        runId: 'g',
        startedAt: '2026-11-06T00:00:00.000Z',
        clusters: [{ runId: 'g', startedAt: '2026-11-06T00:00:00.000Z', ...fresh }],
      },
      deps,
    );

    // Assert
    expect(output.result.clusters[0]?.findings.map((f) => [f.ruleId, f.state])).toEqual([['CNI-RESTARTS', 'NEW']]);
  });

  it('keeps one history point per cluster per day, the last complete audit of the day: partial and killed runs add none', async () => {
    // Arrange: on 11-07 a complete run, a partial one and one killed before its report step; on 11-08 two complete
    const trend = { ...cluster, name: 'trend' };
    const audit = (runId: string, startedAt: string, serviceCount: number, status: ClusterSnapshot['status']) => ({
      ...snapshot(runId, startedAt, [], null),
      cluster: trend,
      status,
      serviceCount,
    });
    const runs = [
      audit('h', '2026-11-07T01:00:00.000Z', 600, 'COMPLETE'),
      audit('i', '2026-11-07T02:00:00.000Z', 700, 'PARTIAL'),
      audit('j', '2026-11-07T03:00:00.000Z', 800, 'COMPLETE'),
      audit('k', '2026-11-08T01:00:00.000Z', 650, 'COMPLETE'),
      audit('l', '2026-11-08T05:00:00.000Z', 660, 'COMPLETE'),
    ];
    for (const run of runs) await deps.store.putSnapshot(run);

    // Act: every run but j reports
    for (const run of runs.filter((r) => r.runId !== 'j')) {
      await report(
        {
          runId: run.runId,
          startedAt: run.startedAt,
          clusters: [{ ...trend, runId: run.runId, startedAt: run.startedAt }],
        },
        deps,
      );
    }

    // Assert
    expect(await deps.store.history(trend, '2026-11-09T00:00:00.000Z')).toEqual([
      { runId: 'h', at: '2026-11-07T01:00:00.000Z', serviceCount: 600, restoreFailures: 0 },
      { runId: 'l', at: '2026-11-08T05:00:00.000Z', serviceCount: 660, restoreFailures: 0 },
    ]);
  });

  it('stores the chart measures with the run result, and a snapshot of an older version without them renders as no data', async () => {
    // Arrange: the cluster's run m was audited by a version before the charts (no measures), run n by this one
    const charted = { ...cluster, name: 'charted' };
    const measures = assessCluster(
      clusterEvidence({ cluster: charted, nodes: reachedNodes(2, { iptables: { kubeServiceChains: 640 } }) }),
      DEFAULT_THRESHOLDS,
    ).measures;
    const older = { ...snapshot('m', '2026-11-09T00:00:00.000Z', [], null), cluster: charted };
    const newer = { ...snapshot('n', '2026-11-10T00:00:00.000Z', [], null), cluster: charted, measures };
    for (const s of [older, newer]) {
      await deps.store.putSnapshot(s);
      await report(
        { runId: s.runId, startedAt: s.startedAt, clusters: [{ ...charted, runId: s.runId, startedAt: s.startedAt }] },
        deps,
      );
    }

    // Act
    const [m, n] = await Promise.all([deps.store.getRun('m'), deps.store.getRun('n')]);

    // Assert
    expect(n?.result?.clusters[0]?.measures).toEqual(measures);
    expect(n?.result?.clusters[0]?.measures?.services).toBe(640);
    expect(m?.result?.clusters[0]).not.toHaveProperty('measures');
    const page = m?.result ? renderRunHtml(m.result) : '';
    expect(page).toContain('This run did not record its thresholds');
    expect(page).toContain('>not recorded: audited by a version before the charts</text>');
  });

  it('RecordRunFailure keeps a run the report step had already stored as finished, and fails a run still RUNNING', async () => {
    // Arrange: run d was reported (its digest then failed, say); run e died before its report step stored it
    const startedAt = '2026-11-04T00:00:00.000Z';
    await deps.store.startRun('d', startedAt);
    await deps.store.putSnapshot(snapshot('d', startedAt, [], null));
    const finished = await report({ runId: 'd', startedAt, clusters: [{ runId: 'd', startedAt, ...cluster }] }, deps);
    await deps.store.startRun('e', '2026-11-04T01:00:00.000Z');
    // RecordRunFailure never reads the run's list: a store that refuses proves it
    const unread = {
      put: () => Promise.reject(new Error('not written')),
      get: () => Promise.reject(new Error('not read')),
    };
    const recordRunFailure = createReportHandler(deps, unread, () => {});
    const runList = { bucket: 'fleet-audit-run-lists', key: 'runs/d/clusters.json' };
    const caught = { Error: 'TimeoutError', Cause: '{"errorType":"TimeoutError","errorMessage":"Task timed out"}' };

    // Act
    const kept = await recordRunFailure({ runId: 'd', startedAt, clusterCount: 1, runList, error: caught });
    const failed = await recordRunFailure({
      runId: 'e',
      startedAt: '2026-11-04T01:00:00.000Z',
      clusterCount: 1,
      runList,
      error: caught,
    });

    // Assert
    expect(kept).toMatchObject({ runId: 'd', status: 'FAILED', runRecord: 'KEPT' });
    expect(await deps.store.getRun('d')).toEqual({
      runId: 'd',
      startedAt,
      status: 'COMPLETE',
      result: finished.result,
    });
    expect(failed).toMatchObject({ runId: 'e', status: 'FAILED', runRecord: 'FAILED' });
    // a retried RecordRunFailure rewrites its own FAILED record
    expect(
      await recordRunFailure({
        runId: 'e',
        startedAt: '2026-11-04T01:00:00.000Z',
        clusterCount: 1,
        runList,
        error: caught,
      }),
    ).toMatchObject({ runRecord: 'FAILED' });
    expect(await deps.store.getRun('e')).toEqual({
      runId: 'e',
      startedAt: '2026-11-04T01:00:00.000Z',
      status: 'FAILED',
      result: null,
      failure: 'report step failed: TimeoutError: Task timed out',
    });
  });
});
