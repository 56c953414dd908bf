import type { RegionFleet } from '../fleet.js';
import type { SimNode } from '../nodes.js';
import { hashString } from '../random.js';
import { autoScalingGroupName } from './rest-json.js';
import { ApiError, paginate, type SimResponse, xmlEscape } from './wire.js';

/**
 * EC2 over the ec2Query protocol: a form-encoded `Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=…`
 * POST, answered with `DescribeInstancesResponse` XML; errors are `<Response><Errors><Error><Code>`.
 */

const XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const PAGE_LIMITS = { min: 5, max: 1000, default: 1000 };

export function handleEc2(params: URLSearchParams, region: RegionFleet, requestId: string): SimResponse {
  const action = params.get('Action');
  if (action !== 'DescribeInstances') {
    throw new ApiError(400, 'InvalidAction', `The action ${action ?? '(none)'} is not valid for this web service.`);
  }
  const filters = listParam(params, 'Filter').map((filter) => ({
    name: params.get(`${filter}.Name`) ?? '',
    values: listParam(params, `${filter}.Value`).map((key) => params.get(key) ?? ''),
  }));
  const instanceIds = listParam(params, 'InstanceId').map((key) => params.get(key) ?? '');
  const maxResults = params.get('MaxResults');
  if (maxResults !== null && instanceIds.length > 0) {
    throw new ApiError(
      400,
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
    );
  }
  for (const id of instanceIds) {
    if (!region.instance(id))
      throw new ApiError(400, 'InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  }
  const selected = region.instances.filter(
    (node) =>
      (instanceIds.length === 0 || instanceIds.includes(node.instanceId)) &&
      filters.every((filter) => matchesFilter(node, filter.name, filter.values)),
  );
  const { page, nextToken } = paginate(
    selected,
    {
      maxResults: maxResults === null ? undefined : Number(maxResults),
      nextToken: params.get('NextToken') ?? undefined,
      limits: PAGE_LIMITS,
      cap: region.pageCap('ec2:DescribeInstances'),
    },
    (message) => new ApiError(400, 'InvalidParameterValue', message),
  );
  const reservations = page.map((node) => reservationXml(node, region)).join('');
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="${XMLNS}">` +
    `<requestId>${requestId}</requestId><reservationSet>${reservations}</reservationSet>` +
    `${nextToken ? `<nextToken>${xmlEscape(nextToken)}</nextToken>` : ''}</DescribeInstancesResponse>`;
  return { status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body };
}

export function ec2Error(error: ApiError, requestId: string): SimResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlEscape(error.code)}</Code>` +
    `<Message>${xmlEscape(error.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
  return { status: error.status, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body };
}

/** The tags EKS, Auto Scaling or Karpenter put on a node's instance. */
export function instanceTags(node: SimNode): Array<[string, string]> {
  const clusterTag: [string, string] = [`kubernetes.io/cluster/${node.cluster}`, 'owned'];
  switch (node.provisioner) {
    case 'managed':
      return [
        ['Name', `${node.cluster}-${node.nodegroup}-Node`],
        ['eks:cluster-name', node.cluster],
        ['eks:nodegroup-name', node.nodegroup],
        clusterTag,
        ['aws:autoscaling:groupName', autoScalingGroupName(node.cluster, node.nodegroup)],
        ['k8s.io/cluster-autoscaler/enabled', 'true'],
        [`k8s.io/cluster-autoscaler/${node.cluster}`, 'owned'],
      ];
    case 'karpenter':
      return [
        ['Name', node.hostname],
        ['eks:eks-cluster-name', node.cluster],
        ['karpenter.sh/nodepool', node.nodegroup],
        [
          'karpenter.sh/nodeclaim',
          `${node.nodegroup}-${(hashString(node.instanceId) % 0xfffff).toString(36).padStart(5, 'x')}`,
        ],
        ['karpenter.k8s.aws/ec2nodeclass', 'default'],
        clusterTag,
      ];
    case 'self-managed':
      return [['Name', `${node.cluster}-${node.nodegroup}`], clusterTag];
  }
}

function matchesFilter(node: SimNode, name: string, values: ReadonlyArray<string>): boolean {
  const tags = instanceTags(node);
  const anyMatches = (candidates: ReadonlyArray<string>) => candidates.some((c) => values.some((v) => glob(v).test(c)));
  if (name === 'tag-key') return anyMatches(tags.map(([key]) => key));
  if (name === 'tag-value') return anyMatches(tags.map(([, value]) => value));
  if (name.startsWith('tag:')) {
    const key = name.slice('tag:'.length);
    return anyMatches(tags.filter(([k]) => k === key).map(([, value]) => value));
  }
  if (name === 'instance-state-name') return anyMatches(['running']);
  if (name === 'instance-id') return anyMatches([node.instanceId]);
  if (name === 'private-dns-name') return anyMatches([node.hostname]);
  if (name === 'platform') return anyMatches(node.platform === 'windows' ? ['windows'] : []);
  throw new ApiError(400, 'InvalidParameterValue', `The filter '${name}' is invalid`);
}

/** EC2 filter values: `*` any characters, `?` one character. */
function glob(pattern: string): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

/** `Prefix.1`, `Prefix.2` … as present in the parameters, in order. */
function listParam(params: URLSearchParams, prefix: string): string[] {
  const indexes = new Set<number>();
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)(\\.|$)`);
  for (const key of params.keys()) {
    const match = pattern.exec(key);
    if (match) indexes.add(Number(match[1]));
  }
  return [...indexes].sort((a, b) => a - b).map((i) => `${prefix}.${i}`);
}

function reservationXml(node: SimNode, region: RegionFleet): string {
  const zone = `${region.region}${'abc'[hashString(node.instanceId) % 3]}`;
  const launchTime = new Date(region.startedAt - node.uptimeSeconds * 1000).toISOString();
  const tags = instanceTags(node)
    .map(([key, value]) => `<item><key>${xmlEscape(key)}</key><value>${xmlEscape(value)}</value></item>`)
    .join('');
  return (
    `<item><reservationId>r-0${hashString(`r/${node.instanceId}`).toString(16).padStart(16, '0')}</reservationId>` +
    `<ownerId>${region.account}</ownerId><groupSet/><instancesSet><item>` +
    `<instanceId>${node.instanceId}</instanceId><imageId>ami-0${hashString(node.nodegroup).toString(16).padStart(16, '0')}</imageId>` +
    `<instanceState><code>16</code><name>running</name></instanceState>` +
    `<privateDnsName>${xmlEscape(node.hostname)}</privateDnsName><dnsName/>` +
    `<instanceType>${xmlEscape(node.instanceType)}</instanceType><launchTime>${launchTime}</launchTime>` +
    `<placement><availabilityZone>${zone}</availabilityZone><tenancy>default</tenancy></placement>` +
    (node.platform === 'windows' ? '<platform>windows</platform>' : '') +
    `<privateIpAddress>${node.privateIp}</privateIpAddress><architecture>x86_64</architecture>` +
    `<tagSet>${tags}</tagSet></item></instancesSet></item>`
  );
}
