import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Logger } from '@smithy/types';
import { EksClusterDirectory } from './clusters.js';
import { SsmCommandRunner } from './commands.js';
import { InsightsLogQueryRunner } from './logs.js';
import { SnsAlertPublisher } from './notify.js';
import { OrganizationDirectory } from './organization.js';
import type {
  AlertPublisher,
  AuditTarget,
  OrganizationAccountLister,
  TargetClients,
  TargetClientsFactory,
} from './ports.js';
import { S3RunLists } from './run-lists.js';
import { type SdkClientOptions, sdkClientConfig } from './sdk-config.js';
import { SecurityHubImporter } from './security-hub.js';

/**
 * Where the SDK clients of each audit target come from.
 *
 * Real AWS (no `endpoint`): in a member account the clients assume `arn:<partition>:iam::<account>:role/<roleName>`
 * (fromTemporaryCredentials, refreshed by the SDK); in the hub account, or when no `roleName` is given, they use
 * `credentials` or the default credential chain.
 *
 * Local mode (`endpoint` set, the simulator in sim/): no role is assumed. Each target gets static credentials whose
 * access key id IS THE ACCOUNT ID (the secret is a placeholder), because the simulator tells accounts apart by the
 * access key id in the SigV4 `Authorization` header and regions by the credential scope's region. It never checks
 * signatures, so nothing secret is involved. With `roleName` and `hubAccount` set, local mode assumes the audit
 * role as in AWS, through the simulator's STS (AssumeRole answers the role's account as the access key id), so an
 * account without the role fails as it would in AWS.
 */
export interface TargetClientsOptions {
  /** loopback endpoint of the simulator; unset for real AWS */
  endpoint?: string;
  /** the audit role in member accounts (real AWS only) */
  roleName?: string;
  /**
   * Real AWS: the account the auditor runs in, which it reaches with its own credentials instead of assuming
   * `roleName`. Local mode: the account whose credentials assume `roleName` in every account (as the deployed hub
   * does, its own included), unless `ownAccount` says otherwise.
   */
  hubAccount?: string;
  /** local mode: an account reached with its own credentials even with `roleName` (the CLI caller's, as in AWS) */
  ownAccount?: string;
  /** credentials of the hub (and the source of role assumption); unset: the default chain */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** ARN partition of the audit role; default `aws` */
  partition?: string;
  /** STS session name for assumed roles; default `fleet-audit` */
  sessionName?: string;
  /** where the SDK clients log their calls (the CLI's --verbose); unset: nowhere */
  logger?: Logger;
  /**
   * Local mode only: the function (or `cli`) these clients act for. It travels as the session token, so the
   * simulator can record who made each call, as CloudTrail's userIdentity does in AWS (sim/call-log.ts).
   */
  caller?: string;
}

/** How long an assumed audit-role session lasts (the SDK refreshes it before expiry). */
const ROLE_SESSION_SECONDS = 3600;

/** The client configuration for one target: region, endpoint and the target's credentials. */
export function targetClientConfig(target: AuditTarget, options: TargetClientsOptions): SdkClientOptions {
  if (options.endpoint !== undefined) {
    const { endpoint, roleName, hubAccount } = options;
    return {
      region: target.region,
      endpoint,
      credentials:
        roleName !== undefined && hubAccount !== undefined && target.account !== options.ownAccount
          ? assumedRole(`arn:${options.partition ?? 'aws'}:iam::${target.account}:role/${roleName}`, target.region, {
              ...options,
              credentials: simulatorCredentials(hubAccount, options.caller),
            })
          : simulatorCredentials(target.account, options.caller),
    };
  }
  const assumeRole = options.roleName !== undefined && target.account !== options.hubAccount;
  if (!assumeRole) {
    return { region: target.region, ...(options.credentials !== undefined && { credentials: options.credentials }) };
  }
  return {
    region: target.region,
    credentials: assumedRole(
      `arn:${options.partition ?? 'aws'}:iam::${target.account}:role/${options.roleName}`,
      target.region,
      options,
    ),
  };
}

/** Credentials of `roleArn`, assumed (and refreshed by the SDK) from `options.credentials` or the default chain. */
function assumedRole(
  roleArn: string,
  region: string,
  options: Pick<TargetClientsOptions, 'credentials' | 'sessionName' | 'endpoint'>,
): AwsCredentialIdentityProvider {
  return fromTemporaryCredentials({
    params: {
      RoleArn: roleArn,
      RoleSessionName: options.sessionName ?? 'fleet-audit',
      DurationSeconds: ROLE_SESSION_SECONDS,
    },
    ...(options.credentials !== undefined && { masterCredentials: options.credentials }),
    clientConfig: sdkClientConfig({ region, ...(options.endpoint !== undefined && { endpoint: options.endpoint }) }),
  });
}

/**
 * Organizations is a global service served from us-east-1 (its endpoints in the AWS General Reference); the
 * partitions' other regions would be us-gov-west-1 and cn-northwest-1.
 */
const ORGANIZATIONS_REGION: Record<string, string> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-northwest-1',
};

export interface OrganizationReaderOptions {
  /**
   * The reader role in the management account or a delegated administrator. Unset: the accounts are listed with
   * `credentials` (or the default chain) themselves, which must then be that account's (the CLI's `--organization`).
   */
  readerRoleArn?: string;
  /** the partition, when no `readerRoleArn` names it; default `aws` */
  partition?: string;
  /** loopback endpoint of the simulator; unset for real AWS */
  endpoint?: string;
  /** local mode: the hub account, whose credentials assume the reader role (or list, without one) */
  hubAccount?: string;
  /** local mode only: the function acting (see {@link TargetClientsOptions.caller}) */
  caller?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  logger?: Logger;
}

/** The organization's accounts, listed through its reader role, or with the caller's own credentials. */
export function createOrganizationReader(options: OrganizationReaderOptions): OrganizationAccountLister {
  const partition = options.readerRoleArn?.split(':')[1] ?? options.partition ?? 'aws';
  const region = ORGANIZATIONS_REGION[partition] ?? 'us-east-1';
  const source =
    options.endpoint !== undefined && options.hubAccount !== undefined
      ? simulatorCredentials(options.hubAccount, options.caller)
      : options.credentials;
  const credentials =
    options.readerRoleArn === undefined
      ? source
      : assumedRole(options.readerRoleArn, region, {
          ...(source !== undefined && { credentials: source }),
          ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
        });
  const config = sdkClientConfig({
    region,
    ...(credentials !== undefined && { credentials }),
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.logger !== undefined && { logger: options.logger }),
  });
  return new OrganizationDirectory({ organizations: new OrganizationsClient(config) });
}

/** Static credentials the simulator reads the account (and, when given, the calling function) from. */
export function simulatorCredentials(account: string, caller?: string): AwsCredentialIdentity {
  return {
    accessKeyId: account,
    secretAccessKey: 'simulated-secret',
    ...(caller !== undefined && { sessionToken: caller }),
  };
}

/**
 * Builds the clients of each account and region once and hands out the same ones afterwards, so SDK connection
 * pools, adaptive-retry rate limiters and assumed-role sessions are shared by every cluster of a target.
 */
export function createTargetClientsFactory(options: TargetClientsOptions = {}): TargetClientsFactory {
  const cache = new Map<string, TargetClients>();
  return (target) => {
    const key = `${target.account}/${target.region}`;
    const cached = cache.get(key);
    if (cached) return cached;
    const config = sdkClientConfig({
      ...targetClientConfig(target, options),
      ...(options.logger !== undefined && { logger: options.logger }),
    });
    // built on first use: only the report step imports findings, and only with securityHubImport set
    let hub: SecurityHubClient | undefined;
    const securityHub = () => {
      hub ??= new SecurityHubClient(config);
      return hub;
    };
    const clients: TargetClients = {
      directory: new EksClusterDirectory({ eks: new EKSClient(config), ec2: new EC2Client(config) }),
      commands: new SsmCommandRunner({ ssm: new SSMClient(config) }),
      logs: new InsightsLogQueryRunner({
        logs: new CloudWatchLogsClient(config),
        starts: new CloudWatchLogsClient({ ...config, maxAttempts: 1 }),
      }),
      findings: new SecurityHubImporter({ account: target.account, clientFor: () => securityHub() }),
    };
    cache.set(key, clients);
    return clients;
  };
}

export interface AlertPublisherOptions {
  /** the hub region the topic lives in */
  region: string;
  topicArn: string;
  /** loopback endpoint of the simulator; unset for real AWS */
  endpoint?: string;
  /** unset: the default chain (real AWS) or simulator credentials for the topic's account (local mode) */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** local mode only: the function publishing (see {@link TargetClientsOptions.caller}) */
  caller?: string;
}

/** The SNS publisher of the hub's alert topic. */
export function createAlertPublisher(options: AlertPublisherOptions): AlertPublisher {
  const credentials =
    options.credentials ??
    (options.endpoint !== undefined ? simulatorCredentials(accountOfArn(options.topicArn), options.caller) : undefined);
  const sns = new SNSClient(
    sdkClientConfig({
      region: options.region,
      ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
      ...(credentials !== undefined && { credentials }),
    }),
  );
  return new SnsAlertPublisher({ topicArn: options.topicArn, sns });
}

export interface RunListsOptions {
  /** the hub region the bucket lives in */
  region: string;
  bucket: string;
  /** loopback endpoint of the simulator; unset for real AWS */
  endpoint?: string;
  /** local mode: the hub account, whose simulator credentials the client uses */
  account?: string;
  /** local mode only: the function (or the state machine) acting (see {@link TargetClientsOptions.caller}) */
  caller?: string;
}

/**
 * The runs' cluster lists in the hub's bucket. Against the simulator the bucket is addressed path-style
 * (`http://127.0.0.1:<port>/<bucket>/<key>`): a loopback address has no bucket subdomains.
 */
export function createRunLists(options: RunListsOptions): S3RunLists {
  const local = options.endpoint !== undefined;
  const s3 = new S3Client({
    ...sdkClientConfig({
      region: options.region,
      ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
      ...(local && { credentials: simulatorCredentials(options.account ?? '', options.caller) }),
    }),
    ...(local && { forcePathStyle: true }),
  });
  return new S3RunLists({ s3, bucket: options.bucket });
}

/** The account id of an ARN (`arn:aws:sns:eu-west-1:111111111111:alerts` → `111111111111`). */
function accountOfArn(arn: string): string {
  const account = arn.split(':')[4];
  if (!account) throw new Error(`topic ARN ${arn} names no account (expected arn:aws:sns:<region>:<account>:<name>)`);
  return account;
}
