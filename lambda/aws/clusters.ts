import { EC2Client, type Instance, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import {
  DescribeAddonCommand,
  type DescribeAddonResponse,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  EKSClient,
  paginateListAddons,
  paginateListClusters,
  paginateListNodegroups,
} from '@aws-sdk/client-eks';
import { readConfigurationValues } from '#audit/addon-config.js';
import type { Addon } from '#audit/model.js';
import { awsCall } from './errors.js';
import type { ClusterDirectory, ClusterInstance, ClusterSummary, NodegroupSummary } from './ports.js';
import { sdkClientConfig } from './sdk-config.js';

/** Instance tags that name a node's group: EKS managed node groups, then Karpenter node pools. */
const NODEGROUP_TAGS = ['eks:nodegroup-name', 'karpenter.sh/nodepool'] as const;

/** DescribeInstances page size (the API allows 5–1000). */
const INSTANCES_PAGE_SIZE = 1000;

export interface EksClusterDirectoryClients {
  eks?: EKSClient;
  ec2?: EC2Client;
}

/**
 * {@link ClusterDirectory} over EKS and EC2. Pass the clients in (tests, the target factory), or it builds default
 * ones with the project's retry policy.
 */
export class EksClusterDirectory implements ClusterDirectory {
  readonly #eks: EKSClient;
  readonly #ec2: EC2Client;

  constructor(clients: EksClusterDirectoryClients = {}) {
    this.#eks = clients.eks ?? new EKSClient(sdkClientConfig());
    this.#ec2 = clients.ec2 ?? new EC2Client(sdkClientConfig());
  }

  listClusters(): Promise<string[]> {
    return awsCall('eks:ListClusters', 'all clusters', async () => {
      const names: string[] = [];
      for await (const page of paginateListClusters({ client: this.#eks }, {})) names.push(...(page.clusters ?? []));
      return names;
    });
  }

  describeCluster(name: string): Promise<ClusterSummary> {
    return awsCall('eks:DescribeCluster', `cluster ${name}`, async () => {
      const { cluster } = await this.#eks.send(new DescribeClusterCommand({ name }));
      return {
        name: cluster?.name ?? name,
        kubernetesVersion: cluster?.version ?? null,
        endpoint: cluster?.endpoint ?? null,
        status: cluster?.status ?? null,
      };
    });
  }

  async listNodegroups(cluster: string): Promise<NodegroupSummary[]> {
    const names = await awsCall('eks:ListNodegroups', `cluster ${cluster}`, async () => {
      const found: string[] = [];
      for await (const page of paginateListNodegroups({ client: this.#eks }, { clusterName: cluster })) {
        found.push(...(page.nodegroups ?? []));
      }
      return found;
    });
    return Promise.all(
      names.map((nodegroupName) =>
        awsCall('eks:DescribeNodegroup', `node group ${nodegroupName} of cluster ${cluster}`, async () => {
          const { nodegroup } = await this.#eks.send(
            new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName }),
          );
          return {
            name: nodegroup?.nodegroupName ?? nodegroupName,
            amiType: nodegroup?.amiType ?? null,
            releaseVersion: nodegroup?.releaseVersion ?? null,
            desiredSize: nodegroup?.scalingConfig?.desiredSize ?? null,
          };
        }),
      ),
    );
  }

  async listAddons(cluster: string, only?: ReadonlyArray<string>): Promise<Addon[]> {
    const names = await awsCall('eks:ListAddons', `cluster ${cluster}`, async () => {
      const found: string[] = [];
      for await (const page of paginateListAddons({ client: this.#eks }, { clusterName: cluster })) {
        found.push(...(page.addons ?? []));
      }
      return found;
    });
    const wanted = only ? names.filter((name) => only.includes(name)) : names;
    return Promise.all(
      wanted.map((addonName) =>
        awsCall('eks:DescribeAddon', `add-on ${addonName} of cluster ${cluster}`, async () => {
          const { addon } = await this.#eks.send(new DescribeAddonCommand({ clusterName: cluster, addonName }));
          return toAddon(addonName, addon);
        }),
      ),
    );
  }

  listInstances(cluster: string): Promise<ClusterInstance[]> {
    return awsCall('ec2:DescribeInstances', `instances of cluster ${cluster}`, async () => {
      const instances: ClusterInstance[] = [];
      const pages = paginateDescribeInstances(
        { client: this.#ec2, pageSize: INSTANCES_PAGE_SIZE },
        {
          Filters: [
            { Name: 'tag-key', Values: [`kubernetes.io/cluster/${cluster}`] },
            { Name: 'instance-state-name', Values: ['running'] },
          ],
        },
      );
      for await (const page of pages) {
        // EC2 always answers with a reservationSet, empty or not (the SDK reads an empty one as []); without one the
        // 200 was not a DescribeInstancesResponse (an HTML page parses as XML too), and "no instances" would be a lie
        if (page.Reservations === undefined) {
          throw new Error('the answer has no reservationSet: not a DescribeInstancesResponse (is a proxy answering?)');
        }
        for (const reservation of page.Reservations) {
          for (const instance of reservation.Instances ?? []) {
            const found = toClusterInstance(instance);
            if (found) instances.push(found);
          }
        }
      }
      return instances;
    });
  }
}

function toClusterInstance(instance: Instance): ClusterInstance | null {
  if (!instance.InstanceId) return null;
  const tags = new Map((instance.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
  const nodegroup = NODEGROUP_TAGS.map((key) => tags.get(key)).find((value) => value !== undefined && value !== '');
  return {
    instanceId: instance.InstanceId,
    nodegroup: nodegroup ?? null,
    // EC2 reports "windows" for Windows instances and leaves Platform unset for Linux.
    platform: instance.Platform?.toLowerCase() === 'windows' ? 'windows' : 'linux',
    launchTime: instance.LaunchTime ? instance.LaunchTime.toISOString() : null,
  };
}

/**
 * An add-on as DescribeAddon describes it. Its `configurationValues` (JSON or YAML) are parsed; values that cannot
 * be read keep their text and say why in `configurationProblem`, so they are unknown rather than taken for unset.
 */
export function toAddon(name: string, addon: DescribeAddonResponse['addon']): Addon {
  const text = addon?.configurationValues;
  const read = readConfigurationValues(text);
  return {
    name: addon?.addonName ?? name,
    version: addon?.addonVersion ?? null,
    configuration: read.values === null || Object.keys(read.values).length === 0 ? null : read.values,
    status: addon?.status ?? null,
    configurationValues: text === undefined || text.trim() === '' ? null : text,
    configurationProblem: read.problem,
  };
}
