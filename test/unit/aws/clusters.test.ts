import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import {
  DescribeAddonCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  EKSClient,
  EKSServiceException,
  ListAddonsCommand,
  ListClustersCommand,
  ListNodegroupsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EksClusterDirectory } from '#aws/clusters.js';
import { AwsCallError } from '#aws/errors.js';

const eks = mockClient(EKSClient);
const ec2 = mockClient(EC2Client);

function directory(): EksClusterDirectory {
  return new EksClusterDirectory({
    eks: new EKSClient({ region: 'eu-west-1' }),
    ec2: new EC2Client({ region: 'eu-west-1' }),
  });
}

describe('EksClusterDirectory', () => {
  beforeEach(() => {
    eks.reset();
    ec2.reset();
  });

  it('lists the clusters of every ListClusters page', async () => {
    // Arrange
    eks
      .on(ListClustersCommand)
      .resolvesOnce({ clusters: ['a', 'b'], nextToken: 'page-2' })
      .resolvesOnce({ clusters: ['c'] });

    // Act
    const names = await directory().listClusters();

    // Assert
    expect(names).toEqual(['a', 'b', 'c']);
    expect(eks).toHaveReceivedCommandTimes(ListClustersCommand, 2);
    expect(eks).toHaveReceivedNthCommandWith(ListClustersCommand, 2, { nextToken: 'page-2' });
  });

  it('describes a cluster by its version, endpoint and status', async () => {
    // Arrange
    eks.on(DescribeClusterCommand, { name: 'a' }).resolves({
      cluster: {
        name: 'a',
        version: '1.29',
        endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com',
        status: 'ACTIVE',
      },
    });

    // Act
    const summary = await directory().describeCluster('a');

    // Assert
    expect(summary).toEqual({
      name: 'a',
      kubernetesVersion: '1.29',
      endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com',
      status: 'ACTIVE',
    });
  });

  it('turns a missing cluster into an AwsCallError that says not found and keeps the SDK error', async () => {
    // Arrange
    const notFound = new ResourceNotFoundException({ message: 'No cluster found for name: gone.', $metadata: {} });
    eks.on(DescribeClusterCommand).rejects(notFound);

    // Act
    const error = await directory()
      .describeCluster('gone')
      .catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(AwsCallError);
    expect(error).toMatchObject({
      message: 'eks:DescribeCluster cluster gone failed: ResourceNotFoundException: No cluster found for name: gone.',
      operation: 'eks:DescribeCluster',
      code: 'ResourceNotFoundException',
      notFound: true,
      cause: notFound,
    });
  });

  it('reports a throttled call that the SDK gave up on with its error code', async () => {
    // Arrange
    eks.on(ListClustersCommand).rejects(
      new EKSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        $metadata: {},
      }),
    );

    // Act
    const error = await directory()
      .listClusters()
      .catch((e: unknown) => e);

    // Assert
    expect(error).toMatchObject({ code: 'ThrottlingException', notFound: false });
  });

  it('describes every node group of a cluster', async () => {
    // Arrange
    eks.on(ListNodegroupsCommand, { clusterName: 'a' }).resolves({ nodegroups: ['general', 'gpu'] });
    eks.on(DescribeNodegroupCommand, { nodegroupName: 'general' }).resolves({
      nodegroup: {
        nodegroupName: 'general',
        amiType: 'AL2_x86_64',
        releaseVersion: '1.29.15-20250715',
        scalingConfig: { desiredSize: 12 },
      },
    });
    eks.on(DescribeNodegroupCommand, { nodegroupName: 'gpu' }).resolves({ nodegroup: { nodegroupName: 'gpu' } });

    // Act
    const nodegroups = await directory().listNodegroups('a');

    // Assert
    expect(nodegroups).toEqual([
      { name: 'general', amiType: 'AL2_x86_64', releaseVersion: '1.29.15-20250715', desiredSize: 12 },
      { name: 'gpu', amiType: null, releaseVersion: null, desiredSize: null },
    ]);
    expect(eks).toHaveReceivedCommandWith(DescribeNodegroupCommand, { clusterName: 'a', nodegroupName: 'gpu' });
  });

  it('describes every add-on and reads JSON and YAML configuration values alike, so IPVS set in YAML is IPVS', async () => {
    // Arrange
    eks.on(ListAddonsCommand).resolves({ addons: ['vpc-cni', 'coredns', 'kube-proxy', 'aws-ebs-csi-driver'] });
    eks.on(DescribeAddonCommand, { addonName: 'vpc-cni' }).resolves({
      addon: {
        addonName: 'vpc-cni',
        addonVersion: 'v1.18.3-eksbuild.1',
        status: 'ACTIVE',
        configurationValues: '{"env":{"CLUSTER_ENDPOINT":"https://x"}}',
      },
    });
    eks.on(DescribeAddonCommand, { addonName: 'coredns' }).resolves({
      addon: { addonName: 'coredns', addonVersion: 'v1.11.1', status: 'DEGRADED' },
    });
    eks.on(DescribeAddonCommand, { addonName: 'kube-proxy' }).resolves({
      addon: {
        addonName: 'kube-proxy',
        addonVersion: 'v1.29.0-eksbuild.1',
        status: 'ACTIVE',
        configurationValues: '# set by platform team\nmode: ipvs\nipvs:\n  scheduler: rr\n',
      },
    });
    eks.on(DescribeAddonCommand, { addonName: 'aws-ebs-csi-driver' }).resolves({
      addon: {
        addonName: 'aws-ebs-csi-driver',
        addonVersion: 'v1.30.0-eksbuild.1',
        status: 'ACTIVE',
        configurationValues: 'controller: [replicas: 2',
      },
    });

    // Act
    const addons = await directory().listAddons('a');

    // Assert
    expect(addons).toEqual([
      {
        name: 'vpc-cni',
        version: 'v1.18.3-eksbuild.1',
        configuration: { env: { CLUSTER_ENDPOINT: 'https://x' } },
        status: 'ACTIVE',
        configurationValues: '{"env":{"CLUSTER_ENDPOINT":"https://x"}}',
        configurationProblem: null,
      },
      {
        name: 'coredns',
        version: 'v1.11.1',
        configuration: null,
        status: 'DEGRADED',
        configurationValues: null,
        configurationProblem: null,
      },
      {
        name: 'kube-proxy',
        version: 'v1.29.0-eksbuild.1',
        configuration: { mode: 'ipvs', ipvs: { scheduler: 'rr' } },
        status: 'ACTIVE',
        configurationValues: '# set by platform team\nmode: ipvs\nipvs:\n  scheduler: rr\n',
        configurationProblem: null,
      },
      {
        name: 'aws-ebs-csi-driver',
        version: 'v1.30.0-eksbuild.1',
        configuration: null,
        status: 'ACTIVE',
        configurationValues: 'controller: [replicas: 2',
        configurationProblem: expect.stringMatching(/^neither JSON nor valid YAML \(.+ at line 1, column \d+\)$/),
      },
    ]);
  });

  it('describes only the add-ons asked for, when named', async () => {
    // Arrange
    eks.on(ListAddonsCommand).resolves({ addons: ['vpc-cni', 'coredns', 'kube-proxy', 'aws-ebs-csi-driver'] });
    eks.on(DescribeAddonCommand).callsFake((input: { addonName: string }) => ({
      addon: { addonName: input.addonName, addonVersion: 'v1.0.0-eksbuild.1', status: 'ACTIVE' },
    }));

    // Act
    const addons = await directory().listAddons('a', ['vpc-cni', 'kube-proxy']);

    // Assert
    expect(addons.map((a) => a.name)).toEqual(['vpc-cni', 'kube-proxy']);
    expect(eks).toHaveReceivedCommandTimes(DescribeAddonCommand, 2);
  });

  it('lists the running instances tagged for the cluster, page by page, with node group and platform', async () => {
    // Arrange
    const launched = new Date('2026-06-01T10:00:00Z');
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              { InstanceId: 'i-1', LaunchTime: launched, Tags: [{ Key: 'eks:nodegroup-name', Value: 'general' }] },
              // EC2 sends "windows" although the SDK's enum spells it "Windows"
              {
                InstanceId: 'i-2',
                Platform: 'windows' as Instance['Platform'],
                Tags: [{ Key: 'eks:nodegroup-name', Value: 'win' }],
              },
            ],
          },
        ],
        NextToken: 'more',
      })
      .resolvesOnce({
        Reservations: [{ Instances: [{ InstanceId: 'i-3', Tags: [{ Key: 'karpenter.sh/nodepool', Value: 'spot' }] }] }],
      });

    // Act
    const instances = await directory().listInstances('a');

    // Assert
    expect(instances).toEqual([
      { instanceId: 'i-1', nodegroup: 'general', platform: 'linux', launchTime: '2026-06-01T10:00:00.000Z' },
      { instanceId: 'i-2', nodegroup: 'win', platform: 'windows', launchTime: null },
      { instanceId: 'i-3', nodegroup: 'spot', platform: 'linux', launchTime: null },
    ]);
    expect(ec2).toHaveReceivedNthCommandWith(DescribeInstancesCommand, 1, {
      Filters: [
        { Name: 'tag-key', Values: ['kubernetes.io/cluster/a'] },
        { Name: 'instance-state-name', Values: ['running'] },
      ],
      MaxResults: 1000,
    });
    expect(ec2).toHaveReceivedNthCommandWith(DescribeInstancesCommand, 2, { NextToken: 'more' });
  });
});
