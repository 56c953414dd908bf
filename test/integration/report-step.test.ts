import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detection } from '#audit/assess.js';
import type { Finding, RuleId } from '#audit/model.js';
import { AuditStore, type ClusterSnapshot } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import { report } from '#workflow/report.js';
import { AuditSettingsSchema } from '#workflow/settings.js';
import type { StepDeps } from '#workflow/steps.js';

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
});
