import type { ClusterState, RegionFleet } from '../fleet.js';
import { ApiError, paginate, type SimRequest, type SimResponse } from './wire.js';

/**
 * EKS over restJson1: `GET /clusters[/{name}[/node-groups[/{ng}]|/addons[/{addon}]]]` with `maxResults` /
 * `nextToken` query parameters; errors carry their code in the `x-amzn-errortype` header and a JSON `message`.
 */

const LIST_LIMITS = { min: 1, max: 100, default: 100 };

type Route =
  | { action: 'ListClusters' }
  | { action: 'DescribeCluster' | 'ListNodegroups' | 'ListAddons'; cluster: string }
  | { action: 'DescribeNodegroup'; cluster: string; nodegroup: string }
  | { action: 'DescribeAddon'; cluster: string; addon: string };

/** The EKS operation a request is, or null when it is none the simulator serves. */
export function eksRoute(request: Pick<SimRequest, 'method' | 'path'>): Route | null {
  if (request.method !== 'GET') return null;
  const parts = request.path.split('/').filter(Boolean).map(decodeURIComponent);
  const [root, cluster, kind, name] = parts;
  if (root !== 'clusters' || parts.length > 4) return null;
  if (cluster === undefined) return { action: 'ListClusters' };
  if (kind === undefined) return { action: 'DescribeCluster', cluster };
  if (kind === 'node-groups') {
    return name === undefined
      ? { action: 'ListNodegroups', cluster }
      : { action: 'DescribeNodegroup', cluster, nodegroup: name };
  }
  if (kind === 'addons') {
    return name === undefined ? { action: 'ListAddons', cluster } : { action: 'DescribeAddon', cluster, addon: name };
  }
  return null;
}

export function handleEks(request: SimRequest, region: RegionFleet): SimResponse {
  const route = eksRoute(request);
  if (!route)
    throw new ApiError(404, 'UnknownOperationException', `Unknown operation ${request.method} ${request.path}`);
  const page = <T>(items: ReadonlyArray<T>) =>
    paginate(
      items,
      {
        maxResults: intParam(request.query.get('maxResults')),
        nextToken: request.query.get('nextToken') ?? undefined,
        limits: LIST_LIMITS,
        cap: region.pageCap(`eks:${route.action}`),
      },
      (message) => new ApiError(400, 'InvalidParameterException', message),
    );
  switch (route.action) {
    case 'ListClusters': {
      const { page: clusters, nextToken } = page(region.clusters.map((c) => c.spec.name));
      return json({ clusters, ...(nextToken && { nextToken }) });
    }
    case 'DescribeCluster':
      return json({ cluster: describeCluster(region, region.cluster(route.cluster)) });
    case 'ListNodegroups': {
      const cluster = region.cluster(route.cluster);
      const { page: nodegroups, nextToken } = page(cluster.spec.nodegroups.map((n) => n.name));
      return json({ nodegroups, ...(nextToken && { nextToken }) });
    }
    case 'DescribeNodegroup':
      return json({ nodegroup: describeNodegroup(region, region.cluster(route.cluster), route.nodegroup) });
    case 'ListAddons': {
      const cluster = region.cluster(route.cluster);
      const { page: addons, nextToken } = page(cluster.spec.addons.map((a) => a.name));
      return json({ addons, ...(nextToken && { nextToken }) });
    }
    case 'DescribeAddon':
      return json({ addon: describeAddon(region, region.cluster(route.cluster), route.addon) });
  }
}

export function eksError(error: ApiError): SimResponse {
  return {
    status: error.status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': error.code },
    body: JSON.stringify({ message: error.message }),
  };
}

function describeCluster(region: RegionFleet, cluster: ClusterState) {
  const { spec } = cluster;
  return {
    name: spec.name,
    arn: cluster.arn,
    createdAt: cluster.createdAt / 1000,
    version: spec.version,
    endpoint: cluster.endpoint,
    roleArn: `arn:aws:iam::${region.account}:role/${spec.name}-cluster-role`,
    resourcesVpcConfig: {
      subnetIds: [],
      securityGroupIds: [],
      endpointPublicAccess: false,
      endpointPrivateAccess: true,
    },
    kubernetesNetworkConfig: { serviceIpv4Cidr: spec.serviceIpv4Cidr, ipFamily: 'ipv4' },
    status: spec.status,
    platformVersion: spec.platformVersion,
    tags: {},
  };
}

function describeNodegroup(region: RegionFleet, cluster: ClusterState, name: string) {
  const decl = cluster.spec.nodegroups.find((n) => n.name === name);
  if (!decl) throw new ApiError(404, 'ResourceNotFoundException', `No node group found for name: ${name}.`);
  const nodes = cluster.nodes.filter((n) => n.provisioner === 'managed' && n.nodegroup === name);
  return {
    nodegroupName: name,
    nodegroupArn: `arn:aws:eks:${region.region}:${region.account}:nodegroup/${cluster.spec.name}/${name}/sim`,
    clusterName: cluster.spec.name,
    version: cluster.spec.version,
    releaseVersion: decl.releaseVersion ?? `${cluster.spec.version}.0-20260101`,
    createdAt: cluster.createdAt / 1000,
    modifiedAt: cluster.createdAt / 1000,
    status: 'ACTIVE',
    capacityType: 'ON_DEMAND',
    scalingConfig: {
      minSize: Math.min(1, nodes.length),
      maxSize: Math.max(nodes.length * 2, 1),
      desiredSize: nodes.length,
    },
    instanceTypes: [...new Set(nodes.map((n) => n.instanceType))],
    subnets: [],
    amiType: decl.amiType,
    nodeRole: `arn:aws:iam::${region.account}:role/${cluster.spec.name}-node-role`,
    labels: {},
    resources: { autoScalingGroups: [{ name: autoScalingGroupName(cluster.spec.name, name) }] },
    health: { issues: [] },
    tags: {},
  };
}

function describeAddon(region: RegionFleet, cluster: ClusterState, name: string) {
  const decl = cluster.spec.addons.find((a) => a.name === name);
  if (!decl) {
    throw new ApiError(404, 'ResourceNotFoundException', `No addon: ${name} found in cluster: ${cluster.spec.name}`);
  }
  const values = decl.configurationValues;
  return {
    addonName: name,
    clusterName: cluster.spec.name,
    status: decl.status,
    addonVersion: decl.version,
    health: { issues: [] },
    addonArn: `arn:aws:eks:${region.region}:${region.account}:addon/${cluster.spec.name}/${name}/sim`,
    createdAt: cluster.createdAt / 1000,
    modifiedAt: cluster.createdAt / 1000,
    tags: {},
    ...(values !== undefined && { configurationValues: typeof values === 'string' ? values : JSON.stringify(values) }),
  };
}

/** The Auto Scaling group name EKS gives a managed node group's instances. */
export function autoScalingGroupName(cluster: string, nodegroup: string): string {
  return `eks-${nodegroup}-${cluster.length.toString(16)}c${nodegroup.length.toString(16)}a7e1-sim`;
}

function intParam(value: string | null): number | undefined {
  if (value === null) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n))
    throw new ApiError(400, 'InvalidParameterException', `maxResults is not a number: ${value}`);
  return n;
}

function json(body: unknown): SimResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
