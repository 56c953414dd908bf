import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLogQuery, dataplaneLogGroup } from '#audit/log-query.js';
import { parseNodeReport } from '#audit/node-report.js';
import { createAlertPublisher, createTargetClientsFactory } from '#aws/clients.js';
import { AwsCallError } from '#aws/errors.js';
import type { TargetClients, TargetClientsFactory } from '#aws/ports.js';
import { parseScenario, type ScenarioInput } from '#sim/scenario.js';
import { type SimService, type Simulator, startSimulator } from '#sim/server.js';

/**
 * Each adapter, through the real SDK clients, against the simulator: serialisation, pagination, error parsing and
 * retries on the wire. The simulator runs on a clock the tests move by hand, so command and query progress is
 * exact and nothing sleeps.
 */

const A = '111111111111';
const B = '222222222222';
const EU = 'eu-west-1';
const US = 'us-east-1';
const DAY_SECONDS = 86_400;

const REPORT = {
  durationMs: 5200,
  node: { os: 'amzn2023', kernel: '6.1.141-155.222.amzn2023.x86_64', uptimeSeconds: 86_400 },
  iptables: {
    version: 'v1.8.8 (nf_tables)',
    backend: 'nft',
    nftRules: 2466,
    rules: { total: 2466, nat: 2318, filter: 120, mangle: 16, raw: 12 },
    chains: { nat: 338, filter: 11 },
    kubeServiceChains: 80,
    kubeEndpointChains: 236,
    saveMs: 62,
  },
  lock: { path: '/run/xtables.lock', samples: 20, busy: 0, windowMs: 4900, holders: [] },
  kubeProxy: { mode: 'iptables', syncP99Seconds: 0.256, lastSyncAgeSeconds: 9, restoreFailures: 0 },
  awsNode: { clusterEndpointSet: true, version: 'v1.20.4-eksbuild.2' },
  restarts: { awsNode: 0, kubeProxy: 0 },
};

const KUBE_PROXY_STREAM =
  'ip-10-10-16-10.eu-west-1.compute.internal-dataplane.tail.var.log.containers.kube-proxy-8fz2k_kube-system_kube-proxy-3f9a.log';
const KUBELET_STREAM = 'ip-10-10-16-10.eu-west-1.compute.internal-dataplane.systemd.kubelet.service';
const APP_STREAM =
  'ip-10-10-16-10.eu-west-1.compute.internal-dataplane.tail.var.log.containers.app-1_default_app-9.log';
const LOCK_ERROR = '\texit status 4: Another app is currently holding the xtables lock. Stopped waiting after 5s.';
const RESTORE_FAILURE = 'E0610 07:32:16.910840       1 proxier.go:1564] "Failed to execute iptables-restore" err=<';
const PROBE_FAILURE =
  'containerName="aws-node" containerMessage="Container aws-node failed liveness probe, will be restarted"';

const SCENARIO: ScenarioInput = {
  seed: 7,
  timing: { commandMs: { min: 1000, max: 3000 }, deliveryMs: 300, queryMs: 1000 },
  maxPageSize: { 'ssm:ListCommandInvocations': 20 },
  faults: [
    { api: 'ec2:DescribeInstances', account: B, throttleFirst: 1 },
    { api: 'ssm:DescribeInstanceInformation', account: B, throttleFirst: 2 },
    { api: 'eks:DescribeCluster', account: B, serverErrorFirst: 1 },
    { api: 'sns:Publish', throttleFirst: 1 },
  ],
  accounts: [
    {
      id: A,
      regions: [
        {
          name: EU,
          topics: ['alerts'],
          secrets: { 'fleet-audit/slack-webhook': 'https://hooks.slack.com/services/T0/B0/x' },
          clusters: [
            {
              name: 'big',
              version: '1.31',
              nodegroups: [
                { name: 'general', amiType: 'AL2023_x86_64_STANDARD' },
                { name: 'win', amiType: 'WINDOWS_CORE_2022_x86_64' },
              ],
              addons: [
                {
                  name: 'vpc-cni',
                  version: 'v1.20.4-eksbuild.2',
                  configurationValues: { env: { CLUSTER_ENDPOINT: 'https://big' } },
                },
                { name: 'kube-proxy', version: 'v1.31.3-eksbuild.2', configurationValues: 'mode: iptables\n' },
                { name: 'coredns', version: 'v1.11.4-eksbuild.2' },
              ],
              report: REPORT,
              nodes: [
                { nodegroup: 'general', count: 116, idPrefix: 'b1' },
                { nodegroup: 'spot', provisioner: 'karpenter', count: 1, idPrefix: 'b2' },
                { nodegroup: 'general', count: 1, idPrefix: 'b3', fault: 'truncated' },
                { nodegroup: 'general', count: 1, idPrefix: 'b4', fault: 'timeout' },
                { nodegroup: 'general', count: 1, idPrefix: 'b5', fault: 'failed' },
                { nodegroup: 'general', count: 1, idPrefix: 'b6', ssm: 'offline' },
                { nodegroup: 'win', count: 1, idPrefix: 'b7', platform: 'windows', ssm: 'none' },
              ],
              logGroup: {
                events: [
                  { ageMinutes: 10, message: LOCK_ERROR, stream: KUBE_PROXY_STREAM, repeat: 7, everyMinutes: 60 },
                  { ageMinutes: 1500, message: LOCK_ERROR, stream: KUBE_PROXY_STREAM, repeat: 3, everyMinutes: 60 },
                  { ageMinutes: 20, message: LOCK_ERROR, stream: APP_STREAM, repeat: 2 },
                  { ageMinutes: 30, message: RESTORE_FAILURE, stream: KUBE_PROXY_STREAM, repeat: 4, everyMinutes: 30 },
                  { ageMinutes: 45, message: PROBE_FAILURE, stream: KUBELET_STREAM },
                ],
              },
            },
            {
              name: 'failing-logs',
              version: '1.31',
              logGroup: {
                queryOutcome: 'Failed',
                events: [{ ageMinutes: 5, message: LOCK_ERROR, stream: KUBE_PROXY_STREAM }],
              },
            },
            {
              name: 'huge',
              version: '1.31',
              nodes: [{ nodegroup: 'workers', provisioner: 'self-managed', count: 1030, idPrefix: 'c1', ssm: 'none' }],
            },
            ...Array.from({ length: 129 }, (_, i) => ({ name: `c-${String(i).padStart(3, '0')}`, version: '1.30' })),
          ],
        },
        {
          name: US,
          clusters: [
            {
              name: 'big',
              version: '1.30',
              report: REPORT,
              nodes: [{ nodegroup: 'x', provisioner: 'self-managed', count: 2, idPrefix: 'e1' }],
            },
          ],
        },
      ],
    },
    {
      id: B,
      regions: [
        {
          name: EU,
          clusters: [
            {
              name: 'other',
              version: '1.29',
              report: REPORT,
              nodes: [{ nodegroup: 'y', provisioner: 'self-managed', count: 3, idPrefix: 'f1' }],
            },
          ],
        },
      ],
    },
  ],
};

const COLLECTOR = {
  documentName: 'FleetAudit-Collector',
  deliveryTimeoutSeconds: 60,
  maxConcurrency: '50',
  maxErrors: '100%',
  comment: 'fleet-audit integration test',
};

describe('the AWS adapters through the real SDK against the simulator', () => {
  let now = Date.parse('2026-06-10T08:00:00Z');
  const advance = (ms: number) => {
    now += ms;
  };
  let sim: Simulator;
  let clientsFor: TargetClientsFactory;
  let a: TargetClients;

  const callsOf = (service: SimService, action: string, account = A, region = EU) =>
    sim.calls
      .filter((c) => c.service === service && c.action === action && c.account === account && c.region === region)
      .map((c) => [c.status, c.fault]);

  beforeAll(async () => {
    sim = await startSimulator(parseScenario(SCENARIO, 'integration'), { timeScale: 1, now: () => now });
    clientsFor = createTargetClientsFactory({ endpoint: sim.endpoint });
    a = clientsFor({ account: A, region: EU });
  });

  afterAll(async () => {
    await sim.close();
  });

  describe('EKS and EC2 (clusters.ts)', () => {
    it('lists every cluster of an account and region across ListClusters pages', async () => {
      // Act
      const names = await a.directory.listClusters();

      // Assert
      expect(names).toHaveLength(132);
      expect(names.slice(0, 4)).toEqual(['big', 'failing-logs', 'huge', 'c-000']);
      expect(names.at(-1)).toBe('c-128');
      expect(callsOf('eks', 'ListClusters')).toEqual([
        [200, null],
        [200, null],
      ]);
    });

    it('describes a cluster', async () => {
      // Act
      const cluster = await a.directory.describeCluster('big');

      // Assert
      expect(cluster).toEqual({
        name: 'big',
        kubernetesVersion: '1.31',
        endpoint: expect.stringMatching(/^https:\/\/[0-9A-F]{32}\.gr7\.eu-west-1\.eks\.amazonaws\.com$/),
        status: 'ACTIVE',
      });
    });

    it('says a cluster that does not exist is not found', async () => {
      // Act
      const error = await a.directory.describeCluster('nope').catch((e: unknown) => e);

      // Assert
      expect(error).toBeInstanceOf(AwsCallError);
      expect(error).toMatchObject({
        code: 'ResourceNotFoundException',
        notFound: true,
        message: 'eks:DescribeCluster cluster nope failed: ResourceNotFoundException: No cluster found for name: nope.',
      });
    });

    it('lists node groups with their AMI type and desired size', async () => {
      // Act
      const nodegroups = await a.directory.listNodegroups('big');

      // Assert
      expect(nodegroups).toEqual([
        { name: 'general', amiType: 'AL2023_x86_64_STANDARD', releaseVersion: '1.31.0-20260101', desiredSize: 120 },
        { name: 'win', amiType: 'WINDOWS_CORE_2022_x86_64', releaseVersion: '1.31.0-20260101', desiredSize: 1 },
      ]);
    });

    it('lists add-ons with JSON and YAML configuration values parsed alike', async () => {
      // Act
      const addons = await a.directory.listAddons('big');

      // Assert
      expect(addons).toEqual([
        {
          name: 'vpc-cni',
          version: 'v1.20.4-eksbuild.2',
          configuration: { env: { CLUSTER_ENDPOINT: 'https://big' } },
          status: 'ACTIVE',
          configurationValues: '{"env":{"CLUSTER_ENDPOINT":"https://big"}}',
          configurationProblem: null,
        },
        {
          name: 'kube-proxy',
          version: 'v1.31.3-eksbuild.2',
          configuration: { mode: 'iptables' },
          status: 'ACTIVE',
          configurationValues: 'mode: iptables\n',
          configurationProblem: null,
        },
        {
          name: 'coredns',
          version: 'v1.11.4-eksbuild.2',
          configuration: null,
          status: 'ACTIVE',
          configurationValues: null,
          configurationProblem: null,
        },
      ]);
    });

    it('lists a cluster’s running instances with node group, node pool and Windows platform', async () => {
      // Act
      const instances = await a.directory.listInstances('big');

      // Assert
      expect(instances).toHaveLength(122);
      expect(instances[0]).toEqual({
        instanceId: 'i-b1000000000000000',
        nodegroup: 'general',
        platform: 'linux',
        launchTime: new Date(Date.parse('2026-06-10T08:00:00Z') - 86_400_000).toISOString(),
      });
      expect(instances.find((i) => i.instanceId.startsWith('i-b2'))).toMatchObject({
        nodegroup: 'spot',
        platform: 'linux',
      });
      expect(instances.find((i) => i.instanceId.startsWith('i-b7'))).toMatchObject({
        nodegroup: 'win',
        platform: 'windows',
      });
    });

    it('pages through more than 1,000 instances', async () => {
      // Arrange
      const before = callsOf('ec2', 'DescribeInstances').length;

      // Act
      const instances = await a.directory.listInstances('huge');

      // Assert
      expect(instances).toHaveLength(1030);
      expect(new Set(instances.map((i) => i.instanceId)).size).toBe(1030);
      expect(instances.every((i) => i.nodegroup === null)).toBe(true);
      expect(callsOf('ec2', 'DescribeInstances').length - before).toBe(2);
    });
  });

  describe('SSM Run Command (commands.ts)', () => {
    const allIds = async () => (await a.directory.listInstances('big')).map((i) => i.instanceId);
    const onlineLinuxIds = async () => {
      const managed = await a.commands.describeManagedInstances(await allIds());
      return managed.filter((m) => m.pingStatus === 'Online' && m.platformType === 'Linux').map((m) => m.instanceId);
    };

    it('asks about more than 50 instances in batches and sees who is online', async () => {
      // Arrange
      const ids = await allIds();
      const before = callsOf('ssm', 'DescribeInstanceInformation').length;

      // Act
      const managed = await a.commands.describeManagedInstances(ids);

      // Assert
      expect(managed).toHaveLength(121);
      expect(managed.filter((m) => m.pingStatus === 'ConnectionLost').map((m) => m.instanceId)).toEqual([
        'i-b6000000000000000',
      ]);
      expect(managed.find((m) => m.instanceId.startsWith('i-b7'))).toBeUndefined();
      expect(managed[0]).toEqual({
        instanceId: 'i-b1000000000000000',
        pingStatus: 'Online',
        platformType: 'Linux',
        platformName: 'Amazon Linux',
      });
      expect(callsOf('ssm', 'DescribeInstanceInformation').length - before).toBe(3);
    });

    // SendCommand InstanceIds: "you can specify up to 50 IDs" (SSM API reference, SendCommand); the SDK does not
    // check it, the service does
    it('is refused by SSM for a 51st instance id in one SendCommand, the limit the adapter batches by', async () => {
      // Arrange: the real SDK client, without the adapter's batching
      const ids = (await onlineLinuxIds()).slice(0, 51);
      const ssm = new SSMClient({
        region: EU,
        endpoint: sim.endpoint,
        credentials: { accessKeyId: A, secretAccessKey: 'simulated' },
        maxAttempts: 1,
      });

      // Act
      const sent = ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: ids }));

      // Assert
      expect(ids).toHaveLength(51);
      await expect(sent).rejects.toMatchObject({ name: 'ValidationException' });
      await expect(sent).rejects.toThrow(/instanceIds.*less than or equal to 50/);
      ssm.destroy();
    });

    it('sends the collector to 120 instances as three commands whose progress moves to Success', async () => {
      // Arrange
      const ids = await onlineLinuxIds();

      // Act
      const { commandIds } = await a.commands.sendCollector(ids, COLLECTOR);
      const atStart = await a.commands.getProgress(commandIds);
      advance(10_000);
      const afterTenSeconds = await a.commands.getProgress(commandIds);
      advance(60_000);
      const afterTheTimeOut = await a.commands.getProgress(commandIds);

      // Assert
      expect(ids).toHaveLength(120);
      expect(commandIds).toHaveLength(3);
      expect(atStart.map((p) => [p.status, p.targetCount, p.completedCount])).toEqual([
        ['Pending', 50, 0],
        ['Pending', 50, 0],
        ['Pending', 20, 0],
      ]);
      expect(afterTenSeconds.map((p) => [p.status, p.completedCount, p.errorCount])).toEqual([
        ['Success', 50, 0],
        ['Success', 50, 0],
        ['InProgress', 19, 1],
      ]);
      expect(afterTheTimeOut.map((p) => [p.status, p.completedCount, p.errorCount])).toEqual([
        ['Success', 50, 0],
        ['Success', 50, 0],
        ['Success', 20, 2],
      ]);
    });

    it('reads every page of invocations, and each output parses as a collector report', async () => {
      // Arrange
      const ids = await onlineLinuxIds();
      const {
        commandIds: [first],
      } = await a.commands.sendCollector(ids.slice(0, 50), COLLECTOR);
      advance(10_000);
      const before = callsOf('ssm', 'ListCommandInvocations').length;

      // Act
      const invocations = await a.commands.readInvocations(first ?? '');

      // Assert
      expect(invocations).toHaveLength(50);
      expect(callsOf('ssm', 'ListCommandInvocations').length - before).toBe(3);
      const reports = invocations.map((i) => parseNodeReport(i.output ?? ''));
      expect(reports.every((r) => r.ok)).toBe(true);
      expect(reports.map((r) => (r.ok ? r.report.node?.instanceId : null))).toEqual(ids.slice(0, 50));
      expect(invocations.every((i) => i.status === 'Success' && i.statusDetails === 'Success')).toBe(true);
    });

    it('returns truncated output, a timed-out node and a failed node as SSM reports them', async () => {
      // Arrange
      const ids = await onlineLinuxIds();
      const faulty = ids.filter((id) => /^i-b[345]/.test(id));
      const {
        commandIds: [commandId],
      } = await a.commands.sendCollector(faulty, COLLECTOR);
      advance(61_000);

      // Act
      const invocations = await a.commands.readInvocations(commandId ?? '');

      // Assert
      const [truncated, timedOut, failed] = invocations;
      expect(truncated?.status).toBe('Success');
      expect(truncated?.output?.endsWith('\n---Output truncated---')).toBe(true);
      expect(Buffer.byteLength(truncated?.output ?? '')).toBe(2400);
      expect(parseNodeReport(truncated?.output ?? '')).toEqual({
        ok: false,
        problem: 'not JSON (expected one collector JSON object)',
      });
      expect(timedOut).toEqual({
        instanceId: 'i-b4000000000000000',
        status: 'TimedOut',
        output: null,
        statusDetails: 'ExecutionTimedOut',
      });
      expect(failed).toEqual({
        instanceId: 'i-b5000000000000000',
        status: 'Failed',
        output: null,
        statusDetails: 'Failed: collect.sh: line 57: awk: command not found',
      });
    });
  });

  describe('CloudWatch Logs Insights (logs.ts)', () => {
    const window = () => ({ startTime: Math.floor(now / 1000) - DAY_SECONDS, endTime: Math.floor(now / 1000) });

    it('counts exactly the planted events inside the window that pass the query filter', async () => {
      // Arrange
      const queryId = await a.logs.startQuery({
        logGroup: dataplaneLogGroup('big'),
        queryString: buildLogQuery(),
        ...window(),
      });

      // Act
      const first = await a.logs.getQueryResults(queryId ?? '');
      advance(1000);
      const done = await a.logs.getQueryResults(queryId ?? '');

      // Assert
      expect(first).toEqual({ status: 'Running', rows: [] });
      expect(done).toEqual({
        status: 'Complete',
        rows: [
          {
            kubeProxyLockErrors: '7',
            kubeProxyRestoreFailures: '4',
            kubeProxySlowRestores: '0',
            ipamdApiUnreachable: '0',
            awsNodeProbeFailures: '1',
          },
        ],
      });
    });

    it('returns null for a cluster without a log group', async () => {
      // Act
      const queryId = await a.logs.startQuery({
        logGroup: dataplaneLogGroup('c-000'),
        queryString: buildLogQuery(),
        ...window(),
      });

      // Assert
      expect(queryId).toBeNull();
      expect(callsOf('logs', 'StartQuery').at(-1)).toEqual([400, null]);
    });

    it('reports a query that fails as Failed', async () => {
      // Arrange
      const queryId = await a.logs.startQuery({
        logGroup: dataplaneLogGroup('failing-logs'),
        queryString: buildLogQuery(),
        ...window(),
      });
      await a.logs.getQueryResults(queryId ?? '');
      advance(1000);

      // Act
      const results = await a.logs.getQueryResults(queryId ?? '');

      // Assert
      expect(results).toEqual({ status: 'Failed', rows: [] });
    });
  });

  describe('Secrets Manager (the Slack notifier’s webhook secret)', () => {
    const secrets = () =>
      new SecretsManagerClient({
        region: EU,
        endpoint: sim.endpoint,
        credentials: { accessKeyId: A, secretAccessKey: 'simulated' },
        maxAttempts: 1,
      });

    it('answers GetSecretValue by name and by the ARN it gives, with the name’s six-character suffix', async () => {
      // Act
      const byName = await secrets().send(new GetSecretValueCommand({ SecretId: 'fleet-audit/slack-webhook' }));
      const byArn = await secrets().send(new GetSecretValueCommand({ SecretId: byName.ARN }));

      // Assert
      expect(byName).toMatchObject({
        Name: 'fleet-audit/slack-webhook',
        SecretString: 'https://hooks.slack.com/services/T0/B0/x',
        VersionStages: ['AWSCURRENT'],
      });
      expect(byName.ARN).toMatch(
        /^arn:aws:secretsmanager:eu-west-1:111111111111:secret:fleet-audit\/slack-webhook-\w{6}$/,
      );
      expect(byArn.SecretString).toBe(byName.SecretString);
    });

    it('says ResourceNotFoundException for a secret that is not there, or in another region', async () => {
      // Act
      const missing = secrets().send(new GetSecretValueCommand({ SecretId: 'nope' }));
      const elsewhere = new SecretsManagerClient({
        region: US,
        endpoint: sim.endpoint,
        credentials: { accessKeyId: A, secretAccessKey: 'simulated' },
        maxAttempts: 1,
      }).send(new GetSecretValueCommand({ SecretId: 'fleet-audit/slack-webhook' }));

      // Assert
      await expect(missing).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      await expect(elsewhere).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    });
  });

  describe('SNS (notify.ts)', () => {
    it('publishes a json-structured message with attributes, retrying a throttled first attempt', async () => {
      // Arrange
      const topicArn = `arn:aws:sns:${EU}:${A}:alerts`;
      const publisher = createAlertPublisher({ region: EU, endpoint: sim.endpoint, topicArn });
      const chatbot = { version: '1.0', source: 'custom', content: { title: 'checkout-prod: 2 new findings' } };

      // Act
      const messageId = await publisher.publish({
        subject: 'fleet-audit: 2 new findings',
        text: 'checkout-prod\n  XT-LOCK-CONTENTION HIGH',
        chatbot,
        attributes: { severity: 'HIGH', account: A, cluster: 'checkout-prod' },
      });

      // Assert
      expect(sim.outbox).toHaveLength(1);
      expect(sim.outbox[0]).toMatchObject({
        messageId,
        account: A,
        region: EU,
        topicArn,
        subject: 'fleet-audit: 2 new findings',
        messageStructure: 'json',
        parts: { default: JSON.stringify(chatbot), email: 'checkout-prod\n  XT-LOCK-CONTENTION HIGH' },
        attributes: {
          severity: { dataType: 'String', value: 'HIGH' },
          account: { dataType: 'String', value: A },
          cluster: { dataType: 'String', value: 'checkout-prod' },
        },
      });
      expect(callsOf('sns', 'Publish')).toEqual([
        [400, 'throttle'],
        [200, null],
      ]);
    });

    it('says a topic that does not exist is not found', async () => {
      // Arrange
      const publisher = createAlertPublisher({
        region: EU,
        endpoint: sim.endpoint,
        topicArn: `arn:aws:sns:${EU}:${A}:nope`,
      });

      // Act
      const error = await publisher
        .publish({ subject: 's', text: 't', chatbot: {}, attributes: { severity: 'LOW', account: A, cluster: 'x' } })
        .catch((e: unknown) => e);

      // Assert
      expect(error).toMatchObject({ name: 'AwsCallError', code: 'NotFoundException', notFound: true });
    });
  });

  describe('retries and isolation', () => {
    it('retries throttled and failing calls through the SDK until they succeed', async () => {
      // Arrange
      const b = clientsFor({ account: B, region: EU });

      // Act
      const cluster = await b.directory.describeCluster('other');
      const instances = await b.directory.listInstances('other');
      const managed = await b.commands.describeManagedInstances(instances.map((i) => i.instanceId));

      // Assert
      expect(cluster.kubernetesVersion).toBe('1.29');
      expect(instances).toHaveLength(3);
      expect(managed).toHaveLength(3);
      expect(callsOf('eks', 'DescribeCluster', B)).toEqual([
        [500, 'serverError'],
        [200, null],
      ]);
      expect(callsOf('ec2', 'DescribeInstances', B)).toEqual([
        [503, 'throttle'],
        [200, null],
      ]);
      expect(callsOf('ssm', 'DescribeInstanceInformation', B)).toEqual([
        [400, 'throttle'],
        [400, 'throttle'],
        [200, null],
      ]);
    });

    it('keeps accounts and regions apart', async () => {
      // Arrange
      const us = clientsFor({ account: A, region: US });
      const b = clientsFor({ account: B, region: EU });

      // Act
      const usClusters = await us.directory.listClusters();
      const usBig = await us.directory.describeCluster('big');
      const usInstances = await us.directory.listInstances('big');
      const bClusters = await b.directory.listClusters();
      const bSeesNoBig = await b.directory.describeCluster('big').catch((e: unknown) => e);

      // Assert
      expect(usClusters).toEqual(['big']);
      expect(usBig.kubernetesVersion).toBe('1.30');
      expect(usBig.endpoint).toMatch(/\.gr7\.us-east-1\.eks\.amazonaws\.com$/);
      expect(usInstances.map((i) => i.instanceId)).toEqual(['i-e1000000000000000', 'i-e1000000000000001']);
      expect(bClusters).toEqual(['other']);
      expect(bSeesNoBig).toMatchObject({ notFound: true });
      expect(callsOf('eks', 'ListClusters', A, US)).toEqual([[200, null]]);
      expect(callsOf('eks', 'ListClusters', B, EU)).toEqual([[200, null]]);
    });

    it('refuses an account the scenario does not have', async () => {
      // Arrange
      const stranger = clientsFor({ account: '333333333333', region: EU });

      // Act
      const error = await stranger.directory.listClusters().catch((e: unknown) => e);

      // Assert
      expect(error).toMatchObject({ name: 'AwsCallError', code: 'UnrecognizedClientException' });
    });
  });
});
