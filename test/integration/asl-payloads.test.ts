import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openLocalFleet } from '#sim/local-fleet.js';
import { loadScenario, parseScenario, type Scenario } from '#sim/scenario.js';
import { type DeployedWorkflow, deployedWorkflow, executeAuditRun, realHandler } from './asl-support.js';

/**
 * One cluster of `nodes` nodes in the default scenario's hub account and region: all but two are healthy Amazon
 * Linux 2023 nodes (catalog-prod's), one has its SSM agent offline and one is a Windows node, so the cluster has
 * pending, unreachable and unsupported nodes whatever its size. Its name has the same length for every size.
 */
function oneClusterOf(nodes: number): Scenario {
  const base = loadScenario('default');
  const [account] = base.accounts;
  const region = account?.regions[0];
  const template = region?.clusters.find((c) => c.name === 'catalog-prod');
  const [general] = template?.nodes ?? [];
  if (!account || !region || !template || !general) throw new Error('the default scenario changed');
  const cluster = {
    ...template,
    name: `nodes-${String(nodes).padStart(4, '0')}`,
    nodegroups: [
      ...template.nodegroups,
      { name: 'windows', amiType: 'WINDOWS_CORE_2022_x86_64', releaseVersion: '1.30-2025.07.15' },
    ],
    nodes: [
      { ...general, count: nodes - 2, overrides: {} },
      { nodegroup: 'general', count: 1, instanceType: 'r5.xlarge', ssm: 'offline' as const },
      {
        nodegroup: 'windows',
        count: 1,
        instanceType: 'm5.xlarge',
        platform: 'windows' as const,
        ssm: 'none' as const,
        report: { node: { os: 'other', kernel: null } },
      },
    ],
  };
  return parseScenario(
    { ...base, accounts: [{ ...account, regions: [{ ...region, clusters: [cluster] }] }] },
    `one cluster of ${nodes} nodes`,
  );
}

type SimulatedFleet = Awaited<ReturnType<typeof openLocalFleet>>;

/** The per-cluster states: their payloads are the ones that grew with the cluster before. */
const CLUSTER_STATES = ['AuditCluster', 'Discover', 'WaitForCollectors', 'Poll', 'CollectorsDone?', 'Assess'];

describe('the deployed AuditRun with a 5,000-node cluster, under the 256 KiB state quota', () => {
  let deployed: DeployedWorkflow;
  const sessions: SimulatedFleet[] = [];
  const dirs: string[] = [];
  const runs = new Map<number, Awaited<ReturnType<typeof executeAuditRun>>>();
  const fleets = new Map<number, SimulatedFleet>();

  beforeAll(async () => {
    deployed = deployedWorkflow();
    for (const nodes of [5, 5000]) {
      const stateDir = await mkdtemp(join(tmpdir(), 'fleet-audit-asl-payloads-'));
      dirs.push(stateDir);
      const fleet = await openLocalFleet({ stateDir, fresh: true, clusters: [], scenario: oneClusterOf(nodes) });
      sessions.push(fleet);
      fleets.set(nodes, fleet);
      // run ids of one length, as execution names of one length would be
      const name = `payloads-${nodes}`.padEnd(14, '-');
      // the budget slot a query holds is in the state and picked at random among the free ones (lambda/aws/slots.ts):
      // slot 0 in both runs, so that its digits are not counted as the cluster's size
      const random = vi.spyOn(Math, 'random').mockReturnValue(0);
      try {
        runs.set(nodes, await executeAuditRun(deployed, { deps: fleet.deps, simulator: fleet.simulator, name }));
      } finally {
        random.mockRestore();
      }
    }
  }, 240_000);
  afterAll(async () => {
    for (const session of sessions) await session.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('audits the 5,000-node cluster: the run succeeds and every reachable node’s report is read', async () => {
    const run = runs.get(5000);
    expect(run?.error).toBeUndefined();
    expect(run?.status).toBe('SUCCEEDED');
    const stored = await fleets.get(5000)?.deps.store.getRun('payloads-5000-');
    expect(stored?.result?.clusters.map((c) => [c.name, c.status, c.nodes])).toEqual([
      ['nodes-5000', 'PARTIAL', { expected: 5000, reached: 4998, unreachable: 2, failed: 0 }],
    ]);
  });

  it('gives every per-cluster state the same payload size for 5,000 nodes as for 5, but for the digits of the counts', () => {
    const small = runs.get(5)?.payloads.byState;
    const large = runs.get(5000)?.payloads.byState;
    // The discovery state's nodes.expected 5 → 5000 (+3), nodes.pending 3 → 4998 (+3), commandCount 1 → 100 (+2)
    // and stored.nodeItems 1 → 10 (+1): 9 bytes. AuditCluster's largest is its output, the cluster's outcome,
    // whose coverage counts expected 5 → 5000 and reached 3 → 4998: 6 bytes. One entry per node was ~104 bytes.
    const differences = Object.fromEntries(
      CLUSTER_STATES.map((state) => [state, (large?.get(state) ?? Number.NaN) - (small?.get(state) ?? Number.NaN)]),
    );
    expect(differences).toEqual({
      AuditCluster: 6,
      Discover: 9,
      WaitForCollectors: 9,
      Poll: 9,
      'CollectorsDone?': 9,
      Assess: 9,
    });
  });

  it('counts each node once when Discover ran twice for the cluster (a Lambda retried after it had stored its items)', async () => {
    // Arrange: the first invocation stores its items and sends the collector, its answer is lost, the retry runs
    const fleet = fleets.get(5000);
    if (!fleet) throw new Error('no 5,000-node fleet');
    const discover = realHandler('discover', fleet.deps, deployed, fleet.simulator);
    let invocations = 0;

    // Act
    const run = await executeAuditRun(deployed, {
      deps: fleet.deps,
      simulator: fleet.simulator,
      name: 'payloads-retry',
      override: {
        discover: async (event, context) => {
          invocations += 1;
          await discover(event, context);
          return discover(event, context);
        },
      },
    });

    // Assert
    expect(run.status).toBe('SUCCEEDED');
    expect(invocations).toBe(1);
    const stored = await fleet.deps.store.getRun('payloads-retry');
    expect(stored?.result?.clusters.map((c) => c.nodes)).toEqual([
      { expected: 5000, reached: 4998, unreachable: 2, failed: 0 },
    ]);
  }, 120_000);

  it('keeps the largest state input or output of the whole execution under 32 KB for 5,000 nodes', () => {
    // the largest is the Poll loop's state (the Map item, its discovery state and the last poll result)
    const largest = runs.get(5000)?.payloads.maxBytes ?? Number.POSITIVE_INFINITY;
    const smallest = runs.get(5)?.payloads.maxBytes ?? 0;
    expect(largest).toBeLessThanOrEqual(32 * 1024);
    expect(largest - smallest).toBe(9);
  });
});
