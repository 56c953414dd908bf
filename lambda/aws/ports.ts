import type { FieldIndexInfo } from '#audit/log-query.js';
import type { Addon } from '#audit/model.js';
import type { AsffFinding } from '#audit/render/asff.js';
import type { AlertMessage } from '#audit/render/digest.js';
import type { SecurityHubImportResult } from './security-hub.js';

export type { AlertMessage };

/**
 * What the workflow needs from AWS, one interface per concern. The adapters in this folder implement them over
 * SDK v3 clients (injected); the simulator in sim/ answers the same wire calls locally.
 */

/** One account and region the audit covers. */
export interface AuditTarget {
  account: string;
  region: string;
}

export interface ClusterSummary {
  name: string;
  /** Kubernetes version, e.g. "1.31" */
  kubernetesVersion: string | null;
  /** API server endpoint URL (the value CLUSTER_ENDPOINT should carry) */
  endpoint: string | null;
  status: string | null;
}

export interface NodegroupSummary {
  name: string;
  amiType: string | null;
  /** Kubernetes version or AMI release the node group runs */
  releaseVersion: string | null;
  desiredSize: number | null;
}

/** A running EC2 instance that belongs to a cluster. */
export interface ClusterInstance {
  instanceId: string;
  /** managed node group, Karpenter node pool, or null */
  nodegroup: string | null;
  /** "windows" for Windows instances, else "linux" (EC2 Platform) */
  platform: 'linux' | 'windows';
  launchTime: string | null;
}

/** EKS + EC2: what clusters exist and what they are made of. */
export interface ClusterDirectory {
  /** EKS ListClusters, every page. */
  listClusters(): Promise<string[]>;
  /** EKS DescribeCluster. */
  describeCluster(name: string): Promise<ClusterSummary>;
  /** EKS ListNodegroups + DescribeNodegroup for each. */
  listNodegroups(cluster: string): Promise<NodegroupSummary[]>;
  /**
   * EKS ListAddons + DescribeAddon for each listed add-on (only those named in `only`, when given);
   * configurationValues (JSON or YAML) parsed, unreadable ones explained.
   */
  listAddons(cluster: string, only?: ReadonlyArray<string>): Promise<Addon[]>;
  /** EC2 DescribeInstances: running instances tagged for the cluster, every page. */
  listInstances(cluster: string): Promise<ClusterInstance[]>;
}

/** SSM's view of a managed node (DescribeInstanceInformation). */
export interface ManagedInstance {
  instanceId: string;
  /** Online, ConnectionLost, Inactive */
  pingStatus: string;
  /** Linux, Windows, MacOS */
  platformType: string | null;
  /** e.g. "Amazon Linux", "Bottlerocket" */
  platformName: string | null;
}

export interface SendCollectorOptions {
  documentName: string;
  /**
   * SendCommand `TimeoutSeconds`: the delivery time-out (a node that has not started the command by then never
   * runs it). The execution limit is the document's own `timeoutSeconds`.
   */
  deliveryTimeoutSeconds: number;
  /** SSM MaxConcurrency, e.g. "50" or "25%" */
  maxConcurrency: string;
  /** SSM MaxErrors, e.g. "100%" so one bad node does not stop the rest */
  maxErrors: string;
  comment: string;
}

/** What SendCommand did with the collector. */
export interface CollectorDispatch {
  commandIds: string[];
  /** instances SendCommand refused with InvalidInstanceId: terminated (or deregistered) since discovery */
  vanished: string[];
}

/** ListCommands: how far one command has got. */
export interface CommandProgress {
  commandId: string;
  /** Pending, InProgress, Success, Cancelled, Failed, TimedOut, Cancelling */
  status: string;
  targetCount: number;
  completedCount: number;
  errorCount: number;
  deliveryTimedOutCount: number;
}

/** ListCommandInvocations (Details=true): one node's result. */
export interface InvocationResult {
  instanceId: string;
  /** Success, Failed, TimedOut, Cancelled, Undeliverable, DeliveryTimedOut, ExecutionTimedOut, InProgress, Pending … */
  status: string;
  /** the plugin's stdout (at most 2,500 characters), null when none */
  output: string | null;
  /** SSM's status details, for reasons */
  statusDetails: string | null;
}

/** SSM Run Command. */
export interface CommandRunner {
  /** DescribeInstanceInformation for these instance ids (any number; batched by the adapter). */
  describeManagedInstances(instanceIds: ReadonlyArray<string>): Promise<ManagedInstance[]>;
  /**
   * SendCommand in batches of at most 50 instance ids; one command id per batch sent, in order. Instances SSM
   * refuses as invalid (terminated since discovery) are left out and returned as `vanished`.
   */
  sendCollector(instanceIds: ReadonlyArray<string>, options: SendCollectorOptions): Promise<CollectorDispatch>;
  /** ListCommands for each id. */
  getProgress(commandIds: ReadonlyArray<string>): Promise<CommandProgress[]>;
  /** ListCommandInvocations with Details, every page (50 a page). */
  readInvocations(commandId: string): Promise<InvocationResult[]>;
}

export interface LogQuery {
  logGroup: string;
  queryString: string;
  /** epoch seconds */
  startTime: number;
  endTime: number;
  limit?: number;
}

export interface LogQueryResults {
  /** Scheduled, Running, Complete, Failed, Cancelled, Timeout, Unknown */
  status: string;
  rows: Array<Record<string, string>>;
}

/** CloudWatch Logs Insights. */
export interface LogQueryRunner {
  /**
   * DescribeFieldIndexes of one log group, its first page: the default and custom field indexes with the time of
   * the earliest event each holds. Throws (AwsCallError) when the call fails, AccessDenied included.
   */
  fieldIndexes(logGroup: string): Promise<FieldIndexInfo[]>;
  /** StartQuery; null when the log group does not exist (ResourceNotFoundException). */
  startQuery(query: LogQuery): Promise<string | null>;
  /** GetQueryResults; rows as field → value. */
  getQueryResults(queryId: string): Promise<LogQueryResults>;
  /** StopQuery: cancels a query still running, which frees its slot in the account's concurrent-query quota. */
  stopQuery(queryId: string): Promise<void>;
}

/** The clients of one account and region. */
export interface TargetClients {
  directory: ClusterDirectory;
  commands: CommandRunner;
  logs: LogQueryRunner;
  /** Security Hub in the target's account and region (lambda/aws/security-hub.ts) */
  findings: FindingsImporter;
}

/** Imports ASFF findings of one account into Security Hub. */
export interface FindingsImporter {
  import(findings: ReadonlyArray<AsffFinding>): Promise<SecurityHubImportResult>;
}

/** One account an organization lists: its id, name and `State` (ACTIVE, SUSPENDED, PENDING_CLOSURE, …). */
export interface OrganizationAccount {
  id: string;
  name: string | null;
  state: string | null;
}

/** The accounts of an organization (lambda/aws/organization.ts). */
export interface OrganizationAccountLister {
  /** every account, or those of these OUs and the OUs nested in them */
  listAccounts(organizationalUnits?: ReadonlyArray<string>): Promise<OrganizationAccount[]>;
}

/** Builds (and caches) the clients for a target: assumes the audit role in member accounts. */
export type TargetClientsFactory = (target: AuditTarget) => TargetClients;

/** SNS Publish with MessageStructure json. */
export interface AlertPublisher {
  publish(message: AlertMessage): Promise<string>;
}
