import {
  type CommandState,
  type CommandView,
  type InvocationView,
  listedPluginOutput,
  logGroupName,
  type RegionFleet,
} from '../fleet.js';
import { hashString } from '../random.js';
import { ApiError, paginate, type SimResponse } from './wire.js';

/**
 * SSM, CloudWatch Logs and Secrets Manager over awsJson1_1: `POST /` with `X-Amz-Target: AmazonSSM.<Action>` or
 * `Logs_20140328.<Action>` and a JSON body; errors are a 400/500 with `{"__type": "<Code>", "message": …}`.
 * Timestamps are epoch seconds.
 */

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIXES = {
  'AmazonSSM.': 'ssm',
  'Logs_20140328.': 'logs',
  'secretsmanager.': 'secretsmanager',
} as const;

/** The service and action of an X-Amz-Target header, or null. */
export function jsonRpcTarget(
  target: string | undefined,
): { service: (typeof TARGET_PREFIXES)[keyof typeof TARGET_PREFIXES]; action: string } | null {
  if (target === undefined) return null;
  for (const [prefix, service] of Object.entries(TARGET_PREFIXES)) {
    if (target.startsWith(prefix)) return { service, action: target.slice(prefix.length) };
  }
  return null;
}

export function jsonError(error: ApiError): SimResponse {
  return {
    status: error.status,
    headers: { 'content-type': CONTENT_TYPE },
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}

/** The request body as an object (an empty body is `{}`). */
export function parseJsonBody(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(body);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new ApiError(400, 'SerializationException', 'The request body is not a JSON object');
}

// ---- SSM ---------------------------------------------------------------------------------------------------------

const MAX_CONCURRENCY = /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/;
const MAX_ERRORS = /^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/;

export function handleSsm(action: string, body: Record<string, unknown>, region: RegionFleet): SimResponse {
  switch (action) {
    case 'DescribeInstanceInformation':
      return describeInstanceInformation(body, region);
    case 'SendCommand':
      return sendCommand(body, region);
    case 'ListCommands':
      return listCommands(body, region);
    case 'ListCommandInvocations':
      return listCommandInvocations(body, region);
    default:
      throw new ApiError(400, 'UnknownOperationException', `Operation ${action} is not simulated`);
  }
}

function describeInstanceInformation(body: Record<string, unknown>, region: RegionFleet): SimResponse {
  if (body.InstanceInformationFilterList !== undefined) {
    throw new ApiError(400, 'InvalidFilterKey', 'InstanceInformationFilterList is not simulated; use Filters');
  }
  const filters = optionalArray(body.Filters, 'Filters').map((f) => {
    const filter = f as { Key?: unknown; Values?: unknown };
    if (typeof filter.Key !== 'string') throw validation('Filters.member.Key', 'must not be null');
    const values = optionalArray(filter.Values, 'Filters.member.Values').map(String);
    if (values.length === 0) throw validation('Filters.member.Values', 'must have length greater than or equal to 1');
    return { key: filter.Key, values };
  });
  const managed = region.managedInstances().filter((node) =>
    filters.every(({ key, values }) => {
      switch (key) {
        case 'InstanceIds':
          return values.includes(node.instanceId);
        case 'PingStatus':
          return values.includes(pingStatus(node.ssm));
        case 'PlatformTypes':
          return values.includes(node.platformType);
        case 'ResourceType':
          return values.includes('EC2Instance');
        default:
          throw new ApiError(400, 'InvalidFilterKey', `The filter key ${key} is not valid`);
      }
    }),
  );
  const { page, nextToken } = ssmPage(
    managed,
    body,
    region,
    { min: 5, max: 50, default: 50 },
    'ssm:DescribeInstanceInformation',
  );
  return ok({
    InstanceInformationList: page.map((node) => ({
      InstanceId: node.instanceId,
      PingStatus: pingStatus(node.ssm),
      LastPingDateTime: region.startedAt / 1000 - (node.ssm === 'online' ? 60 : 6 * 3600),
      AgentVersion: '3.3.1142.0',
      IsLatestVersion: false,
      PlatformType: node.platformType,
      PlatformName: node.platformName,
      PlatformVersion: node.platformVersion,
      ResourceType: 'EC2Instance',
      IPAddress: node.privateIp,
      ComputerName: node.hostname,
      SourceId: node.instanceId,
      SourceType: 'AWS::EC2::Instance',
    })),
    ...(nextToken && { NextToken: nextToken }),
  });
}

function sendCommand(body: Record<string, unknown>, region: RegionFleet): SimResponse {
  const documentName = optionalString(body.DocumentName);
  if (!documentName) throw validation('documentName', 'must not be null');
  if (body.Targets !== undefined)
    throw new ApiError(400, 'InvalidParameters', 'Targets are not simulated; use InstanceIds');
  const instanceIds = optionalArray(body.InstanceIds, 'InstanceIds').map(String);
  if (instanceIds.length === 0) throw validation('instanceIds', 'must have length greater than or equal to 1');
  if (instanceIds.length > 50) throw validation('instanceIds', 'must have length less than or equal to 50');
  // the delivery time-out (API_SendCommand: default 3,600 s, 30 to 2,592,000)
  const deliveryTimeoutSeconds = optionalInt(body.TimeoutSeconds) ?? 3600;
  if (deliveryTimeoutSeconds < 30 || deliveryTimeoutSeconds > 2_592_000) {
    throw validation('timeoutSeconds', 'must have value between 30 and 2592000');
  }
  const maxConcurrency = optionalString(body.MaxConcurrency) ?? '50';
  if (!MAX_CONCURRENCY.test(maxConcurrency))
    throw validation('maxConcurrency', `must satisfy pattern ${MAX_CONCURRENCY.source}`);
  const maxErrors = optionalString(body.MaxErrors) ?? '0';
  if (!MAX_ERRORS.test(maxErrors)) throw validation('maxErrors', `must satisfy pattern ${MAX_ERRORS.source}`);
  const comment = optionalString(body.Comment) ?? null;
  if (comment !== null && comment.length > 100)
    throw validation('comment', 'must have length less than or equal to 100');
  const command = region.sendCommand({
    documentName,
    instanceIds,
    deliveryTimeoutSeconds,
    maxConcurrency,
    maxErrors,
    comment,
  });
  return ok({ Command: commandJson(command, region.commandView(command), region.region) });
}

function listCommands(body: Record<string, unknown>, region: RegionFleet): SimResponse {
  const commandId = optionalString(body.CommandId);
  const commands = commandId !== undefined ? [region.command(commandId)] : region.commands();
  const { page, nextToken } = ssmPage(commands, body, region, { min: 1, max: 50, default: 50 }, 'ssm:ListCommands');
  return ok({
    Commands: page.map((command) => commandJson(command, region.commandView(command), region.region)),
    ...(nextToken && { NextToken: nextToken }),
  });
}

function listCommandInvocations(body: Record<string, unknown>, region: RegionFleet): SimResponse {
  const commandId = optionalString(body.CommandId);
  const instanceId = optionalString(body.InstanceId);
  const details = body.Details === true;
  const commands = commandId !== undefined ? [region.command(commandId)] : region.commands();
  const invocations = commands.flatMap((command) =>
    region
      .commandView(command)
      .invocations.filter((i) => instanceId === undefined || i.node.instanceId === instanceId)
      .map((invocation) => ({ command, invocation })),
  );
  const { page, nextToken } = ssmPage(
    invocations,
    body,
    region,
    { min: 1, max: 50, default: 50 },
    'ssm:ListCommandInvocations',
  );
  return ok({
    CommandInvocations: page.map(({ command, invocation }) =>
      invocationJson(command, invocation, details, region.region),
    ),
    ...(nextToken && { NextToken: nextToken }),
  });
}

/** One page of an SSM list action: MaxResults and NextToken from the body, within `limits` and the scenario's cap. */
function ssmPage<T>(
  items: ReadonlyArray<T>,
  body: Record<string, unknown>,
  region: RegionFleet,
  limits: { min: number; max: number; default: number },
  capKey: string,
): { page: T[]; nextToken: string | undefined } {
  return paginate(
    items,
    {
      maxResults: optionalInt(body.MaxResults),
      nextToken: optionalString(body.NextToken),
      limits,
      cap: region.pageCap(capKey),
    },
    (message) => new ApiError(400, 'InvalidNextToken', message),
  );
}

function commandJson(command: CommandState, view: CommandView, region: string) {
  return {
    CommandId: command.commandId,
    DocumentName: command.documentName,
    DocumentVersion: '$DEFAULT',
    ...(command.comment !== null && { Comment: command.comment }),
    // total time-out: delivery plus the document's execution time-out (monitor-commands.html)
    ExpiresAfter: (command.sentAt + (command.deliveryTimeoutSeconds + command.executionTimeoutSeconds) * 1000) / 1000,
    Parameters: {},
    InstanceIds: command.instanceIds,
    Targets: [],
    RequestedDateTime: command.sentAt / 1000,
    Status: view.status,
    StatusDetails: view.statusDetails,
    OutputS3Region: region,
    OutputS3BucketName: '',
    OutputS3KeyPrefix: '',
    MaxConcurrency: command.maxConcurrency,
    MaxErrors: command.maxErrors,
    TargetCount: view.targetCount,
    CompletedCount: view.completedCount,
    ErrorCount: view.errorCount,
    DeliveryTimedOutCount: view.deliveryTimedOutCount,
    ServiceRole: '',
    NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    TimeoutSeconds: command.deliveryTimeoutSeconds,
  };
}

function invocationJson(command: CommandState, invocation: InvocationView, details: boolean, region: string) {
  const seconds = (ms: number | null) => (ms === null ? undefined : ms / 1000);
  return {
    CommandId: command.commandId,
    InstanceId: invocation.node.instanceId,
    InstanceName: invocation.node.hostname,
    ...(command.comment !== null && { Comment: command.comment }),
    DocumentName: command.documentName,
    DocumentVersion: '$DEFAULT',
    RequestedDateTime: command.sentAt / 1000,
    Status: invocation.status,
    StatusDetails: invocation.statusDetails,
    TraceOutput: '',
    StandardOutputUrl: '',
    StandardErrorUrl: '',
    CommandPlugins: details
      ? [
          {
            Name: 'collect',
            Status: invocation.status,
            StatusDetails: invocation.statusDetails,
            ResponseCode: invocation.responseCode,
            ...(invocation.startedAt !== null && { ResponseStartDateTime: seconds(invocation.startedAt) }),
            ...(invocation.finishedAt !== null && { ResponseFinishDateTime: seconds(invocation.finishedAt) }),
            Output: listedPluginOutput(invocation.output),
            StandardOutputUrl: '',
            StandardErrorUrl: '',
            OutputS3Region: region,
            OutputS3BucketName: '',
            OutputS3KeyPrefix: '',
          },
        ]
      : [],
    ServiceRole: '',
    NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
  };
}

function pingStatus(ssm: 'online' | 'offline' | 'none'): string {
  return ssm === 'online' ? 'Online' : 'ConnectionLost';
}

// ---- CloudWatch Logs ---------------------------------------------------------------------------------------------

export function handleLogs(action: string, body: Record<string, unknown>, region: RegionFleet): SimResponse {
  switch (action) {
    case 'StartQuery': {
      const logGroups = [
        ...(optionalString(body.logGroupName) !== undefined ? [String(body.logGroupName)] : []),
        ...optionalArray(body.logGroupNames, 'logGroupNames').map(String),
        // an identifier is a name or an ARN; the simulator matches the name part
        ...optionalArray(body.logGroupIdentifiers, 'logGroupIdentifiers').map((id) => logGroupName(String(id))),
      ];
      const startTime = optionalInt(body.startTime);
      const endTime = optionalInt(body.endTime);
      const queryString = optionalString(body.queryString);
      if (startTime === undefined || endTime === undefined || queryString === undefined) {
        throw new ApiError(400, 'InvalidParameterException', 'startTime, endTime and queryString are required');
      }
      const queryId = region.startQuery({ logGroups, queryString, startTime, endTime, limit: optionalInt(body.limit) });
      return ok({ queryId });
    }
    case 'GetQueryResults': {
      const queryId = optionalString(body.queryId);
      if (queryId === undefined) throw new ApiError(400, 'InvalidParameterException', 'queryId is required');
      const view = region.queryResults(queryId);
      return ok({ results: view.rows, statistics: view.statistics, status: view.status });
    }
    case 'DescribeFieldIndexes': {
      const groups = optionalArray(body.logGroupIdentifiers, 'logGroupIdentifiers').map((id) =>
        logGroupName(String(id)),
      );
      return ok({ fieldIndexes: region.fieldIndexes(groups) });
    }
    case 'StopQuery': {
      const queryId = optionalString(body.queryId);
      if (queryId === undefined) throw new ApiError(400, 'InvalidParameterException', 'queryId is required');
      return ok({ success: region.stopQuery(queryId) });
    }
    default:
      throw new ApiError(400, 'UnknownOperationException', `Operation ${action} is not simulated`);
  }
}

// ---- helpers -----------------------------------------------------------------------------------------------------

function ok(body: unknown): SimResponse {
  return { status: 200, headers: { 'content-type': CONTENT_TYPE }, body: JSON.stringify(body) };
}

function validation(field: string, constraint: string): ApiError {
  return new ApiError(
    400,
    'ValidationException',
    `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member ${constraint}`,
  );
}

function optionalString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new ApiError(400, 'SerializationException', `expected a string, got ${typeof value}`);
  return value;
}

function optionalInt(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ApiError(400, 'SerializationException', `expected an integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalArray(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ApiError(400, 'SerializationException', `${field} must be a list`);
  return value;
}

// --- Secrets Manager ------------------------------------------------------------------------------------------

/**
 * A secret's ARN: "The ARN includes the name of the secret followed by six random characters" (CreateSecret API,
 * ARN), after a hyphen. Here the six characters derive from the name, so a test can name the ARN it expects.
 */
export function secretArn(region: string, account: string, name: string): string {
  const suffix = hashString(`${account}/${region}/${name}`).toString(36).padStart(6, 'a').slice(-6);
  return `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${suffix}`;
}

/** GetSecretValue (API_GetSecretValue): a secret by its name or its ARN; its current version only. */
export function handleSecretsManager(action: string, body: Record<string, unknown>, region: RegionFleet): SimResponse {
  if (action !== 'GetSecretValue') throw new ApiError(400, 'UnknownOperationException', `${action} is not simulated`);
  const id = typeof body.SecretId === 'string' ? body.SecretId : '';
  if (id === '') throw validation('secretId', 'must not be null');
  const name = [...region.secrets.keys()].find((n) => n === id || secretArn(region.region, region.account, n) === id);
  const value = name === undefined ? undefined : region.secrets.get(name);
  if (name === undefined || value === undefined) {
    throw new ApiError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  }
  return ok({
    ARN: secretArn(region.region, region.account, name),
    Name: name,
    VersionId: '00000000-0000-4000-8000-000000000001',
    SecretString: value,
    VersionStages: ['AWSCURRENT'],
    CreatedDate: 1_767_225_600,
  });
}
