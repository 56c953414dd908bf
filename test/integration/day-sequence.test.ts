import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '#audit/model.js';
import { createAlertPublisher, createTargetClientsFactory } from '#aws/clients.js';
import { AuditStore } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import { loadScenario, type Scenario, ScenarioSchema } from '#sim/scenario.js';
import { startSimulator } from '#sim/server.js';
import { runAudit } from '#workflow/audit-run.js';
import { AuditSettingsSchema } from '#workflow/settings.js';
import { healthyAs } from './default-fleet.js';

/**
 * Day 1 / day 2 / day 3 against the simulated fleet, each day a separate simulator over one dynalite table and a
 * clock moved a day forward: day 1 finds checkout-prod's problems, on day 2 one evidence source breaks, on day 3
 * the cluster is healthy and everything is read. The day-2 break must not resolve anything; day 3 must resolve
 * every open finding.
 */
const DAY1 = '2026-11-01T02:00:00.000Z';

/** The default scenario cut to checkout-prod's account and region, without its random faults. */
function baseScenario(): Scenario {
  const scenario = structuredClone(loadScenario('default'));
  const account = scenario.accounts.find((a) => a.id === '111111111111');
  const region = account?.regions.find((r) => r.name === 'eu-west-1');
  if (!account || !region) throw new Error('the default scenario lost checkout-prod');
  return ScenarioSchema.parse({
    ...scenario,
    timeScale: 0.005,
    faults: [],
    accounts: [
      { ...account, regions: [{ ...region, clusters: region.clusters.filter((c) => c.name === 'checkout-prod') }] },
    ],
  });
}

type Checkout = Scenario['accounts'][number]['regions'][number]['clusters'][number];

/** The scenario with checkout-prod changed, and scenario-level faults. */
function variant(change: (cluster: Checkout) => Checkout, faults: Scenario['faults'] = []): Scenario {
  const scenario = baseScenario();
  const region = scenario.accounts[0]?.regions[0];
  if (!region) throw new Error('no region');
  region.clusters = region.clusters.map(change);
  return ScenarioSchema.parse({ ...scenario, faults });
}

/** Day 3: checkout-prod with catalog-prod's healthy nodes, add-ons and logs, under its own name. */
function healthy(): Scenario {
  return variant((checkout) => healthyAs(checkout.name, checkout.history));
}

/**
 * The nodes' own log counts gone (the collector's window saw no lock lines, e.g. the logs rotated), so the
 * log-based findings rest on the CloudWatch query alone, as in the reported false RESOLVED.
 */
function withoutNodeLogs(cluster: Checkout): Checkout {
  const quiet = {
    windowHours: 24,
    kubeProxyLockErrors: 0,
    kubeProxyRestoreFailures: 0,
    kubeProxySlowRestores: 0,
    ipamdApiUnreachable: 0,
    ipamdStarts: 0,
  };
  const nodes = cluster.nodes.map((group) => ({
    ...group,
    overrides: Object.fromEntries(Object.entries(group.overrides).map(([i, o]) => [i, { ...o, logs: quiet }])),
    report: { ...group.report, logs: quiet },
  }));
  return { ...cluster, report: { ...cluster.report, logs: quiet }, nodes };
}

const DAY2: Record<string, () => Scenario> = {
  'its log query failed': () =>
    variant((c) => ({
      ...withoutNodeLogs(c),
      ...(c.logGroup && { logGroup: { ...c.logGroup, queryOutcome: 'Failed' as const } }),
    })),
  'its log group is gone': () =>
    variant((c) => {
      const { logGroup: _gone, ...rest } = withoutNodeLogs(c);
      return rest as Checkout;
    }),
  'ListClusters failed for its account': () =>
    variant((c) => c, [{ api: 'eks:ListClusters', account: '111111111111', serverError: 1 }] as Scenario['faults']),
  'its nodes went offline in SSM': () =>
    variant((c) => ({ ...c, nodes: c.nodes.map((group) => ({ ...group, ssm: 'offline' as const })) })),
  'the collector failed on every node': () =>
    variant((c) => ({ ...c, nodes: c.nodes.map((group) => ({ ...group, fault: 'failed' as const })) })),
};

describe('day 1 / day 2 / day 3: a broken evidence source never resolves a finding', () => {
  let dynamo: LocalDynamo;

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  /** One nightly run of `scenario` on `day` (0-based from DAY1) by the scenario's clock, against the table `table`. */
  async function runDay(table: string, scenario: Scenario, day: number) {
    const sim = await startSimulator({ ...scenario, clock: { ...scenario.clock, at: DAY1, offsetDays: day } });
    try {
      const store = new AuditStore({ tableName: table }, dynamo.client);
      await store.ensureTable();
      const topic = sim.topicArns[0] ?? '';
      const deps = {
        clientsFor: createTargetClientsFactory({ endpoint: sim.endpoint }),
        store,
        publisher: createAlertPublisher({ region: 'eu-west-1', topicArn: topic, endpoint: sim.endpoint }),
        settings: AuditSettingsSchema.parse({
          targets: sim.targets,
          pollIntervalSeconds: 0.05,
          clusterDeadlineSeconds: 5,
        }),
        now: sim.auditorNow,
      };
      const output = await runAudit(deps, { runId: `day${day + 1}` });
      return { output, outbox: sim.outbox };
    } finally {
      await sim.close();
    }
  }

  const stateOf = (findings: ReadonlyArray<Finding>) => findings.map((f) => `${f.ruleId} ${f.state}`).sort();

  for (const [index, [what, day2]] of Object.entries(DAY2).entries()) {
    it(`keeps every finding of day 1 open on day 2 when ${what}, and resolves them all on day 3`, async () => {
      const table = `days-${index}`;
      const day1 = await runDay(table, baseScenario(), 0);
      const opened = day1.output.result.clusters.flatMap((c) => c.findings);
      expect(stateOf(opened)).toEqual(
        expect.arrayContaining(['XT-LOCK-CONTENTION NEW', 'CNI-RESTARTS NEW', 'KP-IPTABLES-SCALE NEW']),
      );

      const second = await runDay(table, day2(), 1);
      const [cluster] = second.output.result.clusters;
      const findings = second.output.result.clusters.flatMap((c) => c.findings);
      expect(cluster?.name).toBe('checkout-prod');
      expect(findings.filter((f) => f.state === 'RESOLVED').map((f) => f.ruleId)).toEqual([]);
      // every day-1 finding is still there, either seen again or UNKNOWN with the reason
      for (const before of opened) {
        const now = findings.find((f) => f.fingerprint === before.fingerprint);
        expect(now?.state, `${before.ruleId} on day 2`).toMatch(/^(ONGOING|WORSENED|UNKNOWN)$/);
        if (now?.state === 'UNKNOWN') expect(now.stateReason, `${before.ruleId} reason`).toMatch(/\S/);
      }

      const day3 = await runDay(table, healthy(), 2);
      const after = day3.output.result.clusters.flatMap((c) => c.findings);
      const openOnDay2 = findings.filter((f) => f.state !== 'SUPPRESSED');
      expect(
        after.filter((f) => f.state !== 'RESOLVED').map((f) => `${f.ruleId} ${f.state}: ${f.stateReason}`),
      ).toEqual([]);
      expect(after.map((f) => f.fingerprint).sort()).toEqual(openOnDay2.map((f) => f.fingerprint).sort());
    }, 120_000);
  }

  it('reports the clusters of a target whose listing failed, each UNKNOWN with the listing error', async () => {
    const table = 'days-listing';
    await runDay(table, baseScenario(), 0);
    const second = await runDay(table, DAY2['ListClusters failed for its account']?.() ?? baseScenario(), 1);
    const [cluster] = second.output.result.clusters;
    expect(cluster).toMatchObject({ name: 'checkout-prod', status: 'FAILED' });
    expect(cluster?.findings.find((f) => f.ruleId === 'XT-LOCK-CONTENTION')?.stateReason).toMatch(
      /^the cluster was not audited: could not list clusters: .* \(clusters as last listed 2026-11-01\)$/,
    );
  }, 120_000);
});
