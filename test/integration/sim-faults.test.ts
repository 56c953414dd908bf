import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterResult, Finding } from '#audit/model.js';
import { createAlertPublisher, createTargetClientsFactory } from '#aws/clients.js';
import { AuditStore } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import { loadScenario, type Scenario, type ScenarioInput, ScenarioSchema } from '#sim/scenario.js';
import { startSimulator } from '#sim/server.js';
import { runAudit } from '#workflow/audit-run.js';
import { AuditSettingsSchema } from '#workflow/settings.js';

/**
 * The simulator's fault kinds (docs/simulator-faults.md), each from a scenario, against the real product: the real
 * adapters through the real SDK, dynalite as the store. What the user sees is asserted: the broken part's findings
 * UNKNOWN with the reason (never RESOLVED), one clear warning line, every other cluster audited as before, and the
 * run and its snapshots stored.
 */

const DAY1 = '2026-11-01T02:00:00.000Z';
const DAY2 = '2026-11-02T02:00:00.000Z';

type ClusterSpec = Scenario['accounts'][number]['regions'][number]['clusters'][number];

/** checkout-prod (findings) and catalog-prod (healthy) of 111111111111/eu-west-1, without the default's faults. */
function baseScenario(change: Partial<ScenarioInput> = {}, cluster: (c: ClusterSpec) => ClusterSpec = (c) => c) {
  const scenario = structuredClone(loadScenario('default'));
  const account = scenario.accounts.find((a) => a.id === '111111111111');
  const region = account?.regions.find((r) => r.name === 'eu-west-1');
  if (!account || !region) throw new Error('the default scenario lost 111111111111/eu-west-1');
  return ScenarioSchema.parse({
    ...scenario,
    timeScale: 0.005,
    faults: [],
    clock: { at: DAY1 },
    accounts: [{ ...account, regions: [{ ...region, clusters: region.clusters.map(cluster) }] }],
    ...change,
  });
}

const byName = (clusters: ReadonlyArray<ClusterResult>, name: string) => {
  const cluster = clusters.find((c) => c.name === name);
  if (!cluster) throw new Error(`no cluster ${name} in ${clusters.map((c) => c.name).join(', ')}`);
  return cluster;
};
const statesOf = (findings: ReadonlyArray<Finding>) => findings.map((f) => `${f.ruleId} ${f.state}`).sort();

describe('simulator faults against the real product', () => {
  let dynamo: LocalDynamo;
  let tables = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  /** One run of `scenario` against `table`, on the scenario's clock; the warning lines the CLI would print. */
  async function runOnce(scenario: Scenario, table: string, runId: string) {
    const sim = await startSimulator(scenario);
    const warnings: string[] = [];
    try {
      const store = new AuditStore({ tableName: table }, dynamo.client);
      await store.ensureTable();
      const deps = {
        clientsFor: createTargetClientsFactory({ endpoint: sim.endpoint }),
        store,
        publisher: createAlertPublisher({
          region: 'eu-west-1',
          topicArn: sim.topicArns[0] ?? '',
          endpoint: sim.endpoint,
        }),
        settings: AuditSettingsSchema.parse({
          targets: sim.targets,
          pollIntervalSeconds: 0.05,
          clusterDeadlineSeconds: 5,
        }),
        now: sim.auditorNow,
      };
      const output = await runAudit(deps, { runId, warn: (line) => warnings.push(line) });
      return { output, warnings, calls: sim.calls, store };
    } finally {
      await sim.close();
    }
  }

  /** Day 1 healthy, day 2 with `day2`: the day-2 run, its warnings, and day 1's findings of checkout-prod. */
  async function dayTwo(day2: Scenario) {
    const table = `faults-${tables++}`;
    const first = await runOnce(baseScenario(), table, 'day1');
    const second = await runOnce(day2, table, 'day2');
    const opened = byName(first.output.result.clusters, 'checkout-prod').findings;
    const neighbourBefore = byName(first.output.result.clusters, 'catalog-prod');
    return { ...second, opened, neighbourBefore };
  }

  /** Every day-1 finding of checkout-prod is still there on day 2: seen again, or UNKNOWN with a reason. */
  function expectNothingResolved(opened: ReadonlyArray<Finding>, now: ReadonlyArray<Finding>) {
    expect(now.filter((f) => f.state === 'RESOLVED').map((f) => f.ruleId)).toEqual([]);
    for (const before of opened) {
      const after = now.find((f) => f.fingerprint === before.fingerprint);
      expect(after?.state, before.ruleId).toMatch(/^(ONGOING|WORSENED|UNKNOWN)$/);
      if (after?.state === 'UNKNOWN') expect(after.stateReason, before.ruleId).toMatch(/\S/);
    }
  }

  /** catalog-prod, in the same account and region, is audited on day 2 exactly as on day 1. */
  function expectNeighbourUnharmed(before: ClusterResult, clusters: ReadonlyArray<ClusterResult>) {
    const after = byName(clusters, 'catalog-prod');
    expect(after.status).toBe('COMPLETE');
    expect(after.nodes).toEqual(before.nodes);
    expect(statesOf(after.findings)).toEqual(statesOf(before.findings).map((s) => s.replace(/ NEW$/, ' ONGOING')));
  }

  describe('a fault on one cluster by name', () => {
    const NOT_AUDITED = /^cluster 111111111111\/eu-west-1\/checkout-prod not audited: AwsCallError: /;
    it.each([
      ['eks:DescribeCluster', NOT_AUDITED],
      ['eks:ListAddons', /^cluster 111111111111\/eu-west-1\/checkout-prod: add-ons could not be read: /],
      ['ec2:DescribeInstances', NOT_AUDITED],
      ['ssm:SendCommand', NOT_AUDITED],
      ['ssm:ListCommandInvocations', NOT_AUDITED],
      ['logs:StartQuery', /^log query on \/aws\/containerinsights\/checkout-prod\/dataplane could not start: /],
    ])(
      '%s failing for checkout-prod breaks checkout-prod only',
      async (api, warning) => {
        const { output, warnings, opened, neighbourBefore, store } = await dayTwo(
          baseScenario({ clock: { at: DAY2 }, faults: [{ api, cluster: 'checkout-prod', serverError: 1 }] }),
        );

        const clusters = output.result.clusters;
        expectNothingResolved(opened, byName(clusters, 'checkout-prod').findings);
        expectNeighbourUnharmed(neighbourBefore, clusters);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(warning);
        expect(warnings[0]).not.toContain('\n');
        const stored = await store.getRun('day2');
        expect(stored?.result?.clusters.map((c) => `${c.name} ${c.status}`).sort()).toEqual(
          clusters.map((c) => `${c.name} ${c.status}`).sort(),
        );
      },
      120_000,
    );
  });
});
