import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeReport, parseNodeReport } from '#audit/node-report.js';
import { collectorOutput, type SimNode, scenarioNodes } from '#sim/nodes.js';
import { loadScenario, parseScenario, type Scenario, ScenarioError } from '#sim/scenario.js';

const COLLECTED_AT = '2026-06-10T07:45:00.000Z';

function clusterOf(scenario: Scenario, name: string) {
  const found = scenario.accounts.flatMap((a) => a.regions.flatMap((r) => r.clusters)).find((c) => c.name === name);
  if (!found) throw new Error(`no cluster ${name}`);
  return found;
}

/** The reports the nodes of a cluster print, read back the way the workflow reads SSM output. */
function readReports(nodes: ReadonlyArray<SimNode>): NodeReport[] {
  return nodes.map((node) => {
    const parsed = parseNodeReport(collectorOutput(node.report, COLLECTED_AT));
    if (!parsed.ok) throw new Error(`${node.instanceId}: ${parsed.problem}`);
    return parsed.report;
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1] ?? Number.NaN;
}

describe('the default scenario', () => {
  const scenario = loadScenario('default');
  const nodes = scenarioNodes(scenario);
  const nodesOf = (cluster: string) => nodes.filter((n) => n.cluster === cluster);
  const reachable = (cluster: string) =>
    nodesOf(cluster).filter((n) => n.ssm === 'online' && n.platform === 'linux' && n.fault === null);

  it('holds six clusters in two accounts and two regions', () => {
    // Act
    const layout = scenario.accounts.flatMap((a) =>
      a.regions.flatMap((r) => r.clusters.map((c) => `${a.id}/${r.name}/${c.name}`)),
    );

    // Assert
    expect(layout).toEqual([
      '111111111111/eu-west-1/checkout-prod',
      '111111111111/eu-west-1/catalog-prod',
      '111111111111/us-east-1/ledger-prod',
      '111111111111/us-east-1/search-staging',
      '222222222222/eu-west-1/ml-platform',
      '222222222222/eu-west-1/edge-gateway',
    ]);
  });

  it('gives every node a report that parses as collector output and fits the SSM output limit', () => {
    // Act
    const outcomes = nodes.map((node) => {
      const text = collectorOutput(node.report, COLLECTED_AT);
      return { id: node.instanceId, ok: parseNodeReport(text).ok, bytes: Buffer.byteLength(text) };
    });

    // Assert
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(outcomes.filter((o) => o.bytes >= 2400)).toEqual([]);
    expect(nodes).toHaveLength(63);
  });

  it('gives every node a distinct, well-formed instance id and the same id on every load', () => {
    // Act
    const ids = nodes.map((n) => n.instanceId);
    const again = scenarioNodes(loadScenario('default')).map((n) => n.instanceId);

    // Assert
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^i-[0-9a-f]{17}$/.test(id))).toBe(true);
    expect(again).toEqual(ids);
  });

  it('keeps every report internally consistent', () => {
    // Act
    const reports = readReports(nodes);
    const inconsistent = reports.filter((r) => {
      const ipt = r.iptables;
      const rules = ipt?.rules;
      const tablesAddUp =
        !rules || rules.total === (rules.nat ?? 0) + (rules.filter ?? 0) + (rules.mangle ?? 0) + (rules.raw ?? 0);
      const endpointsCoverServices =
        ipt?.kubeServiceChains == null || (ipt.kubeEndpointChains ?? 0) >= ipt.kubeServiceChains;
      const rulesPerService =
        ipt?.kubeServiceChains == null || rules?.total == null ? 30 : rules.total / ipt.kubeServiceChains;
      return !tablesAddUp || !endpointsCoverServices || rulesPerService < 25 || rulesPerService > 35;
    });

    // Assert
    expect(inconsistent).toEqual([]);
  });

  it('describes checkout-prod as a cluster in trouble', () => {
    // Arrange
    const cluster = clusterOf(scenario, 'checkout-prod');
    const reports = readReports(reachable('checkout-prod'));

    // Act
    const services = median(reports.map((r) => r.iptables?.kubeServiceChains ?? 0));
    const busyNodes = reports.filter((r) => (r.lock?.busy ?? 0) > 0);
    const restartCounts = reports.map((r) => r.restarts?.awsNode ?? 0).filter((n) => n > 0);

    // Assert
    expect(cluster.version).toBe('1.29');
    expect(cluster.addons.find((a) => a.name === 'vpc-cni')).toEqual({
      name: 'vpc-cni',
      version: 'v1.18.3-eksbuild.1',
      status: 'ACTIVE',
    });
    expect(reports.every((r) => r.kubeProxy?.mode === 'iptables' && r.iptables?.backend === 'legacy')).toBe(true);
    expect(services).toBe(1204);
    expect(
      reports.every((r) => (r.iptables?.rules?.total ?? 0) > 35_000 && (r.iptables?.rules?.total ?? 0) < 40_000),
    ).toBe(true);
    expect(reports.every((r) => (r.iptables?.saveMs ?? 0) > 2000)).toBe(true);
    expect(busyNodes).toHaveLength(6);
    expect(busyNodes.some((r) => (r.lock?.busy ?? 0) / (r.lock?.samples ?? 1) >= 0.25)).toBe(true);
    expect(busyNodes.map((r) => r.lock?.holders)).toContainEqual([
      'kube-proxy/iptables-restor',
      'aws-k8s-agent/iptables',
    ]);
    // contention is waiting: five of the six nodes that held the lock also had writers queued, two at once
    const waited = reports.filter((r) => (r.lock?.waited ?? 0) > 0);
    expect(waited).toHaveLength(5);
    expect(Math.max(...waited.map((r) => r.lock?.waitersMax ?? 0))).toBe(2);
    expect(reports.every((r) => r.lock?.applicable === true && r.kubeProxy?.iptablesBackend === 'legacy')).toBe(true);
    expect(restartCounts.sort()).toEqual([3, 4, 5, 7]);
    expect(reports.filter((r) => (r.logs?.ipamdApiUnreachable ?? 0) > 0)).toHaveLength(3);
    expect(reports.every((r) => r.awsNode?.clusterEndpointSet === false)).toBe(true);
    // one node's restores have failed for an hour, with a change queued since then
    expect(reports.filter((r) => (r.kubeProxy?.lastQueuedAgeSeconds ?? 0) > 120)).toHaveLength(1);
    expect(nodesOf('checkout-prod').filter((n) => n.fault === 'timeout')).toHaveLength(1);
  });

  it('describes catalog-prod as healthy', () => {
    // Arrange
    const cluster = clusterOf(scenario, 'catalog-prod');
    const reports = readReports(reachable('catalog-prod'));

    // Act
    const cni = cluster.addons.find((a) => a.name === 'vpc-cni');

    // Assert
    expect(cni?.configurationValues).toEqual({ env: { CLUSTER_ENDPOINT: cluster.endpoint } });
    expect(reports).toHaveLength(14);
    expect(reports.every((r) => r.iptables?.kubeServiceChains === 80)).toBe(true);
    expect(reports.every((r) => r.lock?.busy === 0 && r.restarts?.awsNodeInWindow === 0)).toBe(true);
    // a node that restarted aws-node weeks ago, outside the window
    expect(reports.filter((r) => (r.restarts?.awsNode ?? 0) > 0)).toHaveLength(1);
    expect(reports.every((r) => (r.iptables?.saveMs ?? 0) < 1000 && (r.kubeProxy?.syncP99Seconds ?? 0) < 1)).toBe(true);
    // Amazon Linux 2023: iptables-nft, which never takes the lock aws-node's lock file is for
    expect(reports.every((r) => r.iptables?.backend === 'nft' && r.lock?.applicable === false)).toBe(true);
    expect(nodesOf('catalog-prod').filter((n) => n.provisioner === 'karpenter')).toHaveLength(4);
  });

  it('describes ledger-prod as healthy and quiet: no sync for 45 minutes, nothing queued', () => {
    const reports = readReports(reachable('ledger-prod'));
    expect(reports).toHaveLength(6);
    expect(reports.every((r) => (r.kubeProxy?.lastSyncAgeSeconds ?? 0) > 2000)).toBe(true);
    expect(reports.every((r) => r.kubeProxy?.lastQueuedAgeSeconds === 0 && r.kubeProxy?.mode === 'iptables')).toBe(
      true,
    );
  });

  it('describes search-staging as in between, with a mixed-backend node and two nodes SSM cannot reach', () => {
    // Arrange
    const all = nodesOf('search-staging');
    const reports = readReports(reachable('search-staging'));

    // Act
    const offline = all.filter((n) => n.ssm === 'offline');
    const windows = all.filter((n) => n.platform === 'windows');

    // Assert
    expect(all).toHaveLength(14);
    expect(median(reports.map((r) => r.iptables?.kubeServiceChains ?? 0))).toBe(600);
    expect(reports.filter((r) => r.iptables?.backend === 'mixed')).toHaveLength(1);
    expect(offline).toHaveLength(1);
    expect(windows.map((n) => [n.ssm, n.amiType])).toEqual([['none', 'WINDOWS_CORE_2022_x86_64']]);
    expect(reports.every((r) => (r.iptables?.saveMs ?? 0) > 1000 && (r.iptables?.saveMs ?? 0) < 5000)).toBe(true);
  });

  it('describes ml-platform as nftables mode on Kubernetes 1.33 with VPC CNI v1.23', () => {
    // Arrange
    const cluster = clusterOf(scenario, 'ml-platform');
    const reports = readReports(reachable('ml-platform'));

    // Assert
    expect(cluster.version).toBe('1.33');
    expect(cluster.addons.find((a) => a.name === 'vpc-cni')?.version).toBe('v1.23.1-eksbuild.1');
    expect(reports.every((r) => r.kubeProxy?.mode === 'nftables' && r.iptables?.backend === 'none')).toBe(true);
    expect(cluster.logGroup).toBeUndefined();
  });

  it('describes edge-gateway as Bottlerocket nodes only', () => {
    // Act
    const nodesOfEdge = nodesOf('edge-gateway');

    // Assert
    expect(nodesOfEdge.map((n) => [n.platformName, n.amiType])).toEqual([
      ['Bottlerocket', 'BOTTLEROCKET_x86_64'],
      ['Bottlerocket', 'BOTTLEROCKET_x86_64'],
      ['Bottlerocket', 'BOTTLEROCKET_x86_64'],
    ]);
  });
});

describe('loadScenario with a bad file', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleet-audit-scenario-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const node = (report: Record<string, unknown> = {}) => ({ nodegroup: 'general', count: 2, report });
  const cluster = (name: string, nodes: unknown[] = [node()]) => ({
    name,
    version: '1.31',
    nodegroups: [{ name: 'general', amiType: 'AL2023_x86_64_STANDARD' }],
    nodes,
  });
  const scenarioWith = (clusters: unknown[]) => ({
    accounts: [{ id: '111111111111', regions: [{ name: 'eu-west-1', clusters }] }],
  });

  function loadWritten(name: string, content: unknown): () => Scenario {
    const file = join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return () => loadScenario(file);
  }

  it('names the file and the field when busy is more than samples', () => {
    // Arrange
    const four = [node(), node(), node(), node({ lock: { samples: 2, busy: 3 } })];
    const load = loadWritten('busy.json', {
      accounts: [
        {
          id: '111111111111',
          regions: [
            { name: 'eu-west-1' },
            { name: 'us-east-1', clusters: [cluster('a'), cluster('b'), cluster('c', four)] },
          ],
        },
      ],
    });

    // Act / Assert
    expect(load).toThrow(
      new ScenarioError(
        join(dir, 'busy.json'),
        'accounts.0.regions.1.clusters.2.nodes.3.report.lock.busy',
        'busy (3) is more than samples (2)',
      ),
    );
    expect(load).toThrow(
      `scenario ${join(dir, 'busy.json')}: field accounts.0.regions.1.clusters.2.nodes.3.report.lock.busy: busy (3) is more than samples (2)`,
    );
  });

  it.each([
    [
      'a wrong type',
      scenarioWith([{ ...cluster('a'), version: 1.31 }]),
      'field accounts.0.regions.0.clusters.0.version: Invalid input: expected string, received number',
    ],
    [
      'a report field the collector schema does not have',
      scenarioWith([cluster('a', [node({ iptables: { kubeServiceChain: 3 } })])]),
      'field accounts.0.regions.0.clusters.0.nodes.0.report.iptables.kubeServiceChain: unknown field of the collector report',
    ],
    [
      'a value the collector schema does not allow',
      scenarioWith([cluster('a', [node({ kubeProxy: { mode: 'userspace' } })])]),
      'field accounts.0.regions.0.clusters.0.nodes.0.report.kubeProxy.mode: Invalid option: expected one of "iptables"|"ipvs"|"nftables"',
    ],
    [
      'a negative count in one node override',
      scenarioWith([cluster('a', [{ ...node(), overrides: { '1': { restarts: { awsNode: -1 } } } }])]),
      'field accounts.0.regions.0.clusters.0.nodes.0.overrides.1.restarts.awsNode: Too small: expected number to be >=0',
    ],
    [
      'an override of a node that does not exist',
      scenarioWith([cluster('a', [{ ...node(), overrides: { '2': {} } }])]),
      'field accounts.0.regions.0.clusters.0.nodes.0.overrides.2: node 2 does not exist (count is 2)',
    ],
    [
      'duplicate cluster names',
      scenarioWith([cluster('a'), cluster('a')]),
      'field accounts.0.regions.0.clusters.1.name: duplicate cluster name "a" (also clusters.0)',
    ],
    [
      'a managed node group that is not declared',
      scenarioWith([cluster('a', [{ nodegroup: 'gpu', count: 1 }])]),
      'field accounts.0.regions.0.clusters.0.nodes.0.nodegroup: managed node group "gpu" is not declared in the cluster\'s nodegroups',
    ],
    [
      'a field the simulator fills in',
      scenarioWith([cluster('a', [node({ node: { instanceId: 'i-1' } })])]),
      'field accounts.0.regions.0.clusters.0.nodes.0.report.node.instanceId: filled in by the simulator; leave it out',
    ],
    [
      'an unknown scenario field',
      { ...scenarioWith([cluster('a')]), timescale: 0.1 },
      'field timescale: unknown field',
    ],
    [
      'a fault on an API name that is not one',
      { ...scenarioWith([cluster('a')]), faults: [{ api: 'ssm.SendCommand', throttle: 0.5 }] },
      'field faults.0.api: expected "<service>:<Action>", "<service>:*" or "*" (services: eks, ec2, ssm, logs, sns, secretsmanager, securityhub, organizations, sts, s3, dynamodb)',
    ],
    [
      'a fault that does nothing',
      { ...scenarioWith([cluster('a')]), faults: [{ api: 'eks:DescribeCluster', cluster: 'a' }] },
      'field faults.0: a fault needs one of throttle, throttleFirst, serverError, serverErrorFirst, reset, resetFirst, garbage, garbageFirst, latencyMs',
    ],
    [
      'a fault on a cluster the scenario does not have',
      { ...scenarioWith([cluster('a')]), faults: [{ api: 'eks:*', region: 'eu-west-1', cluster: 'b', reset: 1 }] },
      'field faults.0.cluster: no cluster "b" in eu-west-1 in the scenario',
    ],
    [
      'a fault on one cluster of a call about none',
      { ...scenarioWith([cluster('a')]), faults: [{ api: 'eks:ListClusters', cluster: 'a', throttle: 1 }] },
      'field faults.0.cluster: eks:ListClusters calls are about no cluster, so this fault would never fire; drop cluster',
    ],
    [
      'a DynamoDB fault that names a cluster',
      { ...scenarioWith([cluster('a')]), faults: [{ api: 'dynamodb:PutItem', cluster: 'a', throttle: 1 }] },
      "field faults.0.cluster: not for dynamodb faults (the store's proxy injects throttle and serverError, on every table)",
    ],
    [
      'a duplicate instance id fault on a single node',
      scenarioWith([cluster('a', [{ ...node(), count: 1, fault: 'duplicateId' }])]),
      'field accounts.0.regions.0.clusters.0.nodes.0.count: fault "duplicateId" needs at least 2 nodes (the others answer with the first node\'s id)',
    ],
    [
      'a clock that is not a time',
      { ...scenarioWith([cluster('a')]), clock: { at: 'tomorrow' } },
      'field clock.at: expected an ISO 8601 UTC time like 2026-11-01T02:00:00Z',
    ],
    [
      'a variation of a field that is not a number',
      scenarioWith([cluster('a', [{ ...node(), vary: { 'lock.holders': 0.1 } }])]),
      'field accounts.0.regions.0.clusters.0.nodes.0.vary.lock.holders: the report has no number there to vary',
    ],
    [
      'an organization member in an OU the organization does not have',
      {
        ...scenarioWith([cluster('a')]),
        organization: {
          id: 'o-a1b2c3d4e5',
          managementAccount: '999999999999',
          rootId: 'r-ab12',
          members: [{ id: '111111111111', name: 'prod', parent: 'ou-ab12-missing1' }],
        },
      },
      'field organization.members.0.parent: parent ou-ab12-missing1 is neither the root nor an OU of the organization',
    ],
  ])('names the file and the field for %s, in one line', (_case, content, expected) => {
    // Arrange
    const load = loadWritten('bad.json', content);

    // Act
    let message = '';
    try {
      load();
    } catch (error) {
      message = (error as Error).message;
    }

    // Assert
    expect(message).toBe(`scenario ${join(dir, 'bad.json')}: ${expected}`);
    expect(message).not.toContain('\n');
  });

  it('says a file that is not JSON is not JSON', () => {
    // Arrange
    const load = loadWritten('broken.json', '{"accounts": [');

    // Act / Assert
    expect(load).toThrow(new RegExp(`^scenario ${join(dir, 'broken.json')}: not JSON \\(.+\\)$`));
  });

  it('says an unknown name is neither a built-in scenario nor a file', () => {
    // Act / Assert
    expect(() => loadScenario('no-such-fleet')).toThrow(
      'scenario no-such-fleet: not found (expected a built-in scenario: default, default-day2, default-org, or a JSON file)',
    );
  });

  it('throws a ScenarioError that carries the source, the field and the problem', () => {
    // Act
    let caught: unknown;
    try {
      parseScenario(scenarioWith([cluster('a'), cluster('a')]), 'inline');
    } catch (error) {
      caught = error;
    }

    // Assert
    expect(caught).toBeInstanceOf(ScenarioError);
    expect(caught).toMatchObject({
      source: 'inline',
      field: 'accounts.0.regions.0.clusters.1.name',
      problem: 'duplicate cluster name "a" (also clusters.0)',
    });
  });
});
