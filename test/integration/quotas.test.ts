import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTargetClientsFactory } from '#aws/clients.js';
import { AuditStore } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import { INSIGHTS_CONCURRENT_QUERIES } from '#sim/fleet.js';
import { parseScenario, type ScenarioInput } from '#sim/scenario.js';
import { type Simulator, startSimulator } from '#sim/server.js';
import { AuditSettingsSchema } from '#workflow/settings.js';
import { assess, discover, poll, type StepDeps, VANISHED_REASON } from '#workflow/steps.js';

/**
 * The workflow steps with the real adapters, through the real SDK, against a simulator that enforces AWS's
 * limits, and dynalite: a node terminated before SendCommand, a Logs Insights quota another team has used up,
 * and a query still running at a cluster's deadline. The simulator's clock is moved by hand.
 */

const A = '111111111111';
const EU = 'eu-west-1';
const US = 'us-east-1';

const REPORT = {
  iptables: { backend: 'nft', nftRules: 900, kubeServiceChains: 40, kubeEndpointChains: 90, saveMs: 40 },
  kubeProxy: { mode: 'iptables' },
  awsNode: { clusterEndpointSet: true, version: 'v1.20.4-eksbuild.2' },
};

const LOG_GROUP = {
  events: [{ ageMinutes: 30, message: 'I0610 proxier.go:800] "SyncProxyRules complete"', stream: 'kube-proxy' }],
};

const SCENARIO: ScenarioInput = {
  seed: 3,
  // a query runs for a simulated hour: longer than any cluster's deadline
  timing: { commandMs: { min: 1000, max: 2000 }, deliveryMs: 300, queryMs: 3_600_000 },
  accounts: [
    {
      id: A,
      regions: [
        {
          name: EU,
          // dashboards of other teams hold every Logs Insights slot of the account
          insightsQueriesInUse: INSIGHTS_CONCURRENT_QUERIES,
          clusters: [
            {
              name: 'busy',
              version: '1.31',
              nodegroups: [{ name: 'general', amiType: 'AL2023_x86_64_STANDARD' }],
              report: REPORT,
              nodes: [{ nodegroup: 'general', count: 2 }],
              logGroup: LOG_GROUP,
            },
          ],
        },
        {
          name: US,
          clusters: [
            {
              name: 'karpenter',
              version: '1.31',
              report: REPORT,
              nodes: [
                { nodegroup: 'default', provisioner: 'karpenter', count: 30, idPrefix: 'a' },
                { nodegroup: 'default', provisioner: 'karpenter', count: 1, idPrefix: 'b', fault: 'terminated' },
                { nodegroup: 'default', provisioner: 'karpenter', count: 29, idPrefix: 'c' },
              ],
              logGroup: LOG_GROUP,
            },
          ],
        },
      ],
    },
  ],
};

describe('the audit against AWS quotas and races, through the real SDK', () => {
  let now = Date.parse('2026-06-10T08:00:00Z');
  let sim: Simulator;
  let dynamo: LocalDynamo;
  let deps: StepDeps;
  const task = (region: string, name: string) => ({
    runId: 'run-1',
    startedAt: new Date(now).toISOString(),
    account: A,
    region,
    name,
  });

  beforeAll(async () => {
    sim = await startSimulator(parseScenario(SCENARIO, 'quotas'), { timeScale: 1, now: () => now });
    dynamo = await startDynalite();
    const store = new AuditStore({ tableName: 'fleet-audit-quotas' }, dynamo.client);
    await store.ensureTable();
    deps = {
      clientsFor: createTargetClientsFactory({ endpoint: sim.endpoint }),
      store,
      publisher: null,
      settings: AuditSettingsSchema.parse({
        targets: [
          { account: A, region: EU },
          { account: A, region: US },
        ],
      }),
      now: () => new Date(now),
    };
  });

  afterAll(async () => {
    await sim.close();
    await dynamo.close();
  });

  it('reports a node terminated before SendCommand as vanished and still collects the rest of its batch', async () => {
    // Arrange
    const vanished = sim.fleet.region(A, US).instances.find((n) => n.fault === 'terminated')?.instanceId;

    // Act
    const state = await discover(task(US, 'karpenter'), deps);
    now += 10_000;
    const progress = await poll(state, deps);
    const outcome = await assess(state, deps);

    // Assert
    expect(state.nodes).toEqual({ expected: 60, pending: 59, unreachable: 1, unsupported: 0 });
    const planned = await deps.store.discoveredNodes(
      { runId: state.runId, startedAt: state.startedAt, cluster: { account: A, region: US, name: 'karpenter' } },
      state.stored,
    );
    expect(planned.filter((n) => n.reach === 'UNREACHABLE')).toEqual([
      { instanceId: vanished, nodegroup: 'default', reach: 'UNREACHABLE', reason: VANISHED_REASON },
    ]);
    const sent = sim.fleet.region(A, US).commands();
    expect(sent.flatMap((c) => c.instanceIds)).toHaveLength(59);
    expect(sent.flatMap((c) => c.instanceIds)).not.toContain(vanished);
    expect(progress.commandsDone).toBe(true);
    expect(outcome.status).not.toBe('FAILED');
    const [snapshot] = await deps.store.snapshotsBefore(
      { account: A, region: US, name: 'karpenter' },
      '2100-01-01T00:00:00.000Z',
      1,
    );
    expect(snapshot?.nodes).toEqual({ expected: 60, reached: 59, unreachable: 1, failed: 0 });
  });

  it('stops the log query still running at the deadline, freeing its slot in the account quota', async () => {
    // Arrange: the karpenter cluster's query (above) has run past its deadline and was assessed
    const region = sim.fleet.region(A, US);

    // Act / Assert
    expect(region.runningQueries()).toBe(0);
    expect(sim.calls.filter((c) => c.action === 'StopQuery').map((c) => [c.region, c.status])).toEqual([[US, 200]]);
  });

  it('puts off a log query the account quota has no room for, retries it each poll, and says so at the deadline', async () => {
    // Act: other teams hold every slot of the account's quota in eu-west-1 for the whole audit
    const state = await discover(task(EU, 'busy'), deps);
    now += 10_000;
    const polled = await poll(state, deps);
    now += 3_600_000;
    const outcome = await assess(state, deps);

    // Assert
    expect([state.query, state.queryProblem, state.queryDeferred]).toEqual([null, null, true]);
    expect(polled.queryDone).toBe(false);
    const starts = sim.calls.filter((c) => c.action === 'StartQuery' && c.region === EU);
    // Discover's StartQuery and the poll's, each with the SDK's own retries, all refused
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(starts.every((c) => c.status === 400)).toBe(true);
    const reason =
      'log signals of cluster busy not evaluated: its Logs Insights query could not start before the ' +
      `cluster's deadline, the audit's budget of 50 concurrent queries in account ${A} in ${EU} or the account's ` +
      'quota (100, dashboards included, LimitExceededException) being in use; raise logsInsightsBudget, lower ' +
      'clusterConcurrency, or stop queries there';
    expect(outcome.warning).toBe(reason);
    expect([outcome.status, outcome.score === null]).toEqual(['COMPLETE', false]);
    // nothing of the budget is left held
    expect(await deps.store.slots.held(`logs-insights#${A}#${EU}`)).toEqual([]);
  });
});
