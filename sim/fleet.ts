import { appendFileSync } from 'node:fs';
import { dataplaneLogGroup } from '#audit/log-query.js';
import { COLLECTOR_DOCUMENT_NAME, COLLECTOR_TIMEOUT_SECONDS } from '../collector/ssm-document.js';
import {
  type FieldIndexState,
  fieldOf,
  type InsightsEvent,
  InsightsSyntaxError,
  parseInsightsQuery,
  runInsightsQuery,
  scannedEvents,
} from './insights.js';
import { collectorOutput, type SimNode, scenarioNodes } from './nodes.js';
import { ApiError } from './protocols/wire.js';
import { hashString, mulberry32, randomFor } from './random.js';
import type { Cluster, Region, Scenario, Timing } from './scenario.js';

/**
 * The state of the simulated fleet while the simulator runs: clusters and instances per account and region,
 * SSM commands and their invocations, Logs Insights queries, and the SNS outbox. Time-dependent answers (command
 * and query progress) are computed from the clock when asked, so nothing runs in the background.
 *
 * Simulated durations come from the scenario's `timing`; real time = simulated time × timeScale.
 */

export interface FleetOptions {
  /** real clock, epoch milliseconds */
  now: () => number;
  timeScale: number;
  seed: number;
  /** append each published SNS message to this file as one JSON line */
  outboxFile?: string;
}

/** An SNS message the simulator accepted. */
export interface PublishedMessage {
  messageId: string;
  account: string;
  region: string;
  topicArn: string;
  subject: string | null;
  messageStructure: string | null;
  /** the Message parameter as sent */
  message: string;
  /** with MessageStructure json: the message per protocol (`default`, `email` …); else null */
  parts: Record<string, string> | null;
  attributes: Record<string, { dataType: string; value: string }>;
  publishedAt: string;
}

/** A log group identifier is a name or an ARN (`arn:aws:logs:…:log-group:<name>[:*]`); this is the name part. */
export function logGroupName(identifier: string): string {
  return identifier.replace(/^arn:[^:]+:logs:[^:]*:[^:]*:log-group:/, '').replace(/:\*$/, '');
}

/** The SSM agent's limit on a plugin's output (amazon-ssm-agent contracts.MaximumPluginOutputSize). */
export const AGENT_OUTPUT_MAX = 2400;

/**
 * ListCommandInvocations (Details) returns at most 2,500 characters of a plugin's output: CommandPlugin.Output,
 * "Length Constraints: Maximum length of 2500" (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CommandPlugin.html).
 * GetCommandInvocation's StandardOutputContent keeps more (24,000 characters); the audit reads the list.
 */
export const LISTED_OUTPUT_MAX = 2500;

/** CommandPlugin.Output as ListCommandInvocations returns it: the first 2,500 characters. */
export function listedPluginOutput(output: string): string {
  return [...output].length > LISTED_OUTPUT_MAX ? [...output].slice(0, LISTED_OUTPUT_MAX).join('') : output;
}

/**
 * SNS Publish: "Messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not 262,144
 * characters)"; a Subject must be "less than 100 characters long", without line breaks or control characters
 * (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). Message attributes count toward the size: "All parts
 * of the message attribute, including name, type, and value, are included in the message size restriction"
 * (https://docs.aws.amazon.com/sns/latest/api/API_MessageAttributeValue.html).
 */
export const SNS_MESSAGE_MAX_BYTES = 262_144;
export const SNS_SUBJECT_MAX_CHARACTERS = 99;
const TRUNCATED_OUT = '\n---Output truncated---';
const TRUNCATED_ERROR = '\n---Error truncated----';
const STDERR_TITLE = '\n----------ERROR-------\n';

/**
 * Logs Insights runs at most 100 queries at once per account, dashboards' queries included; one more gets
 * LimitExceededException. Sources: the StartQuery API reference as the SDK model carries it
 * (@aws-sdk/client-cloudwatch-logs StartQueryCommand: "You can have up to 100 concurrent CloudWatch Logs insights
 * queries, including queries that have been added to dashboards") and the CloudWatch Logs User Guide
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatchLogs-Insights-Query-History.html: "You are
 * limited to 100 concurrent CloudWatch Logs Insights queries per account"). Older references say 30, then 20.
 * A query holds its slot until it ends (complete, failed, timed out after 60 minutes) or StopQuery cancels it.
 * Counted per account and region here, as the simulator's state is; CloudWatch Logs quotas are regional.
 */
export const INSIGHTS_CONCURRENT_QUERIES = 100;

export class Fleet {
  readonly scenario: Scenario;
  /** real time the simulator started; log event ages count back from here */
  readonly startedAt: number;
  readonly outbox: PublishedMessage[] = [];
  /** drives probabilistic faults */
  readonly random: () => number;
  readonly #options: FleetOptions;
  readonly #regions = new Map<string, RegionFleet>();
  readonly #accounts: Set<string>;
  #ids = 0;

  constructor(scenario: Scenario, options: FleetOptions) {
    this.scenario = scenario;
    this.#options = options;
    this.startedAt = options.now();
    this.random = mulberry32(hashString(`faults|${options.seed}`));
    this.#accounts = new Set(scenario.accounts.map((a) => a.id));
    const nodes = scenarioNodes(scenario);
    for (const account of scenario.accounts) {
      for (const region of account.regions) {
        const regionNodes = nodes.filter((n) => n.account === account.id && n.region === region.name);
        this.#regions.set(`${account.id}/${region.name}`, new RegionFleet(this, account.id, region, regionNodes));
      }
    }
  }

  /** seeds run-time randomness: command ids, timings, probabilistic faults */
  get seed(): number {
    return this.#options.seed;
  }

  get timeScale(): number {
    return this.#options.timeScale;
  }

  get timing(): Timing {
    return this.scenario.timing;
  }

  now(): number {
    return this.#options.now();
  }

  /** Simulated milliseconds elapsed since a real instant. */
  simulatedSince(realStart: number): number {
    return (this.now() - realStart) / this.#options.timeScale;
  }

  hasAccount(account: string): boolean {
    return this.#accounts.has(account);
  }

  /** The state of one account and region; a region the scenario does not list is empty, as in AWS. */
  region(account: string, region: string): RegionFleet {
    const key = `${account}/${region}`;
    let state = this.#regions.get(key);
    if (!state) {
      state = new RegionFleet(this, account, undefined, [], region);
      this.#regions.set(key, state);
    }
    return state;
  }

  /** Every account and region the scenario lists, in file order. */
  targets(): Array<{ account: string; region: string }> {
    return this.scenario.accounts.flatMap((a) => a.regions.map((r) => ({ account: a.id, region: r.name })));
  }

  /** ARNs of the scenario's SNS topics. */
  topicArns(): string[] {
    return this.scenario.accounts.flatMap((a) =>
      a.regions.flatMap((r) => r.topics.map((t) => `arn:aws:sns:${r.name}:${a.id}:${t}`)),
    );
  }

  /** A UUID from the seeded generator, so ids repeat from run to run. */
  nextId(): string {
    const hex = Array.from({ length: 4 }, (_, i) =>
      Math.floor(randomFor(this.#options.seed, 'id', this.#ids, i)() * 0x100000000)
        .toString(16)
        .padStart(8, '0'),
    ).join('');
    this.#ids++;
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  record(message: PublishedMessage): void {
    this.outbox.push(message);
    if (this.#options.outboxFile) appendFileSync(this.#options.outboxFile, `${JSON.stringify(message)}\n`);
  }
}

/** A cluster as the EKS API shows it, with its instances. */
export interface ClusterState {
  spec: Cluster;
  arn: string;
  endpoint: string;
  createdAt: number;
  nodes: SimNode[];
}

export class RegionFleet {
  readonly account: string;
  readonly region: string;
  readonly clusters: ClusterState[];
  readonly instances: SimNode[];
  readonly topics: Set<string>;
  /** secret name → SecretString */
  readonly secrets: ReadonlyMap<string, string>;
  /** the findings imported into Security Hub here, by finding Id (the last import of each) */
  readonly securityHubFindings = new Map<string, Record<string, unknown>>();
  readonly #fleet: Fleet;
  readonly #instances: Map<string, SimNode>;
  readonly #logGroups = new Map<string, LogGroupState>();
  readonly #commands = new Map<string, CommandState>();
  readonly #queries = new Map<string, QueryState>();
  /** Logs Insights queries other users (dashboards, people) keep running in this account and region */
  readonly #insightsQueriesInUse: number;

  constructor(fleet: Fleet, account: string, spec: Region | undefined, nodes: SimNode[], name?: string) {
    this.#fleet = fleet;
    this.account = account;
    this.region = spec?.name ?? name ?? 'unknown';
    this.instances = nodes;
    this.#instances = new Map(nodes.map((n) => [n.instanceId, n]));
    this.topics = new Set((spec?.topics ?? []).map((t) => `arn:aws:sns:${this.region}:${account}:${t}`));
    this.#insightsQueriesInUse = spec?.insightsQueriesInUse ?? 0;
    this.secrets = new Map(Object.entries(spec?.secrets ?? {}));
    this.clusters = (spec?.clusters ?? []).map((cluster) => {
      const id = hashString(`${account}/${this.region}/${cluster.name}`).toString(16).toUpperCase().padStart(8, '0');
      return {
        spec: cluster,
        arn: `arn:aws:eks:${this.region}:${account}:cluster/${cluster.name}`,
        endpoint: cluster.endpoint ?? `https://${id.repeat(4)}.gr7.${this.region}.eks.amazonaws.com`,
        createdAt: fleet.startedAt - 400 * 86_400_000,
        nodes: nodes.filter((n) => n.cluster === cluster.name),
      };
    });
    for (const cluster of spec?.clusters ?? []) {
      if (!cluster.logGroup) continue;
      const name = cluster.logGroup.name ?? dataplaneLogGroup(cluster.name);
      const events = cluster.logGroup.events.flatMap((event) =>
        Array.from({ length: event.repeat }, (_, k) => ({
          timestamp: Math.round(fleet.startedAt - (event.ageMinutes + k * event.everyMinutes) * 60_000),
          message: event.message,
          stream: event.stream,
          logGroup: name,
        })),
      );
      const indexes = [
        // default field indexes need no policy (CWL_QuerySyntax-FilterIndex.html lists @logStream first); the
        // simulator's events carry no other default field
        ...DEFAULT_FIELD_INDEXES.map((field) => ({
          field,
          since: Number.NEGATIVE_INFINITY,
          category: 'DEFAULT' as const,
        })),
        ...cluster.logGroup.fieldIndexes.map((index) => ({
          field: index.field,
          since: fleet.startedAt - index.createdMinutesAgo * 60_000,
          category: 'CUSTOM' as const,
        })),
      ];
      this.#logGroups.set(name, {
        name,
        cluster: cluster.name,
        events,
        indexes,
        indexAccess: cluster.logGroup.fieldIndexAccess,
        outcome: cluster.logGroup.queryOutcome,
      });
    }
  }

  /** real time the simulator started */
  get startedAt(): number {
    return this.#fleet.startedAt;
  }

  /** The scenario's page-size cap for an API (`ssm:ListCommandInvocations`), if any. */
  pageCap(api: string): number | undefined {
    return this.#fleet.scenario.maxPageSize[api];
  }

  /**
   * The clusters a call is about, from its parameters as the service read them (`SimulatedCall.input`): the EKS
   * route's cluster, EC2's cluster tag filters and instance ids, SSM's instance ids and command ids, the Logs log
   * groups and query ids. Calls about no cluster (ListClusters, SNS) are about none.
   */
  clustersOfCall(service: string, input: Record<string, unknown>): Set<string> {
    const clusters = new Set<string>();
    const ofInstance = (id: unknown) => {
      const node = typeof id === 'string' ? this.#instances.get(id) : undefined;
      if (node) clusters.add(node.cluster);
    };
    const ofCommand = (id: unknown) => {
      const command = typeof id === 'string' ? this.#commands.get(id) : undefined;
      for (const plan of command?.invocations ?? []) clusters.add(plan.node.cluster);
    };
    const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
    switch (service) {
      case 'eks':
        if (typeof input.cluster === 'string') clusters.add(input.cluster);
        break;
      case 'ec2':
        for (const [key, value] of Object.entries(input)) {
          if (/^InstanceId\.\d+$/.test(key)) ofInstance(value);
          const tagged = /^kubernetes\.io\/cluster\/(.+)$/.exec(String(value));
          if (/^Filter\.\d+\.Value\.\d+$/.test(key) && tagged?.[1]) clusters.add(tagged[1]);
          const filter = /^(Filter\.\d+)\.Value\.\d+$/.exec(key)?.[1];
          if (filter && input[`${filter}.Name`] === 'tag:eks:cluster-name') clusters.add(String(value));
        }
        break;
      case 'ssm':
        for (const id of list(input.InstanceIds)) ofInstance(id);
        ofInstance(input.InstanceId);
        for (const filter of list(input.Filters) as Array<{ Key?: unknown; Values?: unknown }>) {
          if (filter?.Key === 'InstanceIds') for (const id of list(filter.Values)) ofInstance(id);
        }
        ofCommand(input.CommandId);
        break;
      case 'logs': {
        const names = [input.logGroupName, ...list(input.logGroupNames), ...list(input.logGroupIdentifiers)];
        for (const name of names) {
          const group = this.#logGroups.get(logGroupName(String(name)));
          if (group) clusters.add(group.cluster);
        }
        const query = typeof input.queryId === 'string' ? this.#queries.get(input.queryId) : undefined;
        for (const cluster of query?.clusters ?? []) clusters.add(cluster);
        break;
      }
    }
    return clusters;
  }

  // ---- EKS -------------------------------------------------------------------------------------------------------

  cluster(name: string): ClusterState {
    const cluster = this.clusters.find((c) => c.spec.name === name);
    if (!cluster) throw new ApiError(404, 'ResourceNotFoundException', `No cluster found for name: ${name}.`);
    return cluster;
  }

  // ---- SSM -------------------------------------------------------------------------------------------------------

  /** Instances with a registered SSM agent, in scenario order. */
  managedInstances(): SimNode[] {
    return this.instances.filter((n) => n.ssm !== 'none');
  }

  instance(instanceId: string): SimNode | undefined {
    return this.#instances.get(instanceId);
  }

  sendCommand(input: SendCommandInput): CommandState {
    for (const id of input.instanceIds) {
      const node = this.#instances.get(id);
      // SendCommand is all or nothing: one id it refuses fails the whole call, and nothing runs on the others
      // (SendCommand API reference, InvalidInstanceId: "Invalid states are: Shutting-down and Terminated";
      // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html)
      if (!node || node.ssm === 'none' || node.fault === 'terminated') {
        throw new ApiError(
          400,
          'InvalidInstanceId',
          `Instances [[${id}]] not in a valid state for account ${this.account}`,
        );
      }
      if (node.platformType === 'Windows') {
        throw new ApiError(
          400,
          'UnsupportedPlatformType',
          `The document ${input.documentName} does not support the platform of ${id}`,
        );
      }
    }
    const fleet = this.#fleet;
    const commandId = fleet.nextId();
    const timing = fleet.timing;
    const invocations = input.instanceIds.map((id) => {
      const node = this.#instances.get(id) as SimNode;
      const random = randomFor(fleet.seed, commandId, id);
      const deliverMs = timing.deliveryMs * (0.5 + random());
      const runMs = node.commandMs ?? timing.commandMs.min + random() * (timing.commandMs.max - timing.commandMs.min);
      return { node, deliverMs, runMs };
    });
    const command: CommandState = {
      ...input,
      commandId,
      sentAt: fleet.now(),
      executionTimeoutSeconds: documentExecutionTimeout(input.documentName),
      invocations,
    };
    this.#commands.set(commandId, command);
    return command;
  }

  command(commandId: string): CommandState {
    const command = this.#commands.get(commandId);
    if (!command) throw new ApiError(400, 'InvalidCommandId', `Command ${commandId} not found`);
    return command;
  }

  commands(): CommandState[] {
    return [...this.#commands.values()];
  }

  /** A command's invocations and counts as of now. */
  commandView(command: CommandState): CommandView {
    const invocations = command.invocations.map((plan) => this.#invocationView(command, plan));
    const terminal = invocations.filter((i) => i.finishedAt !== null);
    const errorCount = invocations.filter(
      (i) => (i.status === 'Failed' && i.statusDetails === 'Failed') || i.statusDetails === 'ExecutionTimedOut',
    ).length;
    const deliveryTimedOutCount = invocations.filter((i) => i.statusDetails === 'DeliveryTimedOut').length;
    const allowed = allowedErrors(command.maxErrors, invocations.length);
    let status: string;
    let statusDetails: string;
    if (terminal.length < invocations.length) {
      const started = invocations.some((i) => i.status !== 'Pending');
      status = started ? 'InProgress' : 'Pending';
      statusDetails = status;
    } else if (errorCount > allowed) {
      [status, statusDetails] = ['Failed', 'Failed'];
    } else if (deliveryTimedOutCount > allowed) {
      [status, statusDetails] = ['TimedOut', 'DeliveryTimedOut'];
    } else if (invocations.every((i) => i.status === 'Success')) {
      [status, statusDetails] = ['Success', 'Success'];
    } else {
      // some invocations failed, but not more than MaxErrors allows
      [status, statusDetails] = ['Success', 'Incomplete'];
    }
    return {
      status,
      statusDetails,
      targetCount: invocations.length,
      completedCount: terminal.length,
      errorCount,
      deliveryTimedOutCount,
      invocations,
    };
  }

  /**
   * One node's invocation as of now. Two time-outs apply (Run Command, "Understanding command timeout values",
   * https://docs.aws.amazon.com/systems-manager/latest/userguide/monitor-commands.html#monitor-about-status-timeouts):
   * SendCommand's TimeoutSeconds is the delivery time-out ("If this time is reached and the command hasn't already
   * started running, it won't run", API_SendCommand), the document step's timeoutSeconds limits execution
   * (ExecutionTimedOut), and the command expires after their sum (ExpiresAfter): whatever is then still Pending or
   * InProgress becomes DeliveryTimedOut.
   */
  #invocationView(command: CommandState, plan: InvocationPlan): InvocationView {
    const fleet = this.#fleet;
    const t = fleet.simulatedSince(command.sentAt);
    const deliveryMs = command.deliveryTimeoutSeconds * 1000;
    const executionMs = command.executionTimeoutSeconds * 1000;
    const expiresMs = deliveryMs + executionMs;
    const at = (simulatedMs: number) => command.sentAt + simulatedMs * fleet.timeScale;
    const { node, deliverMs, runMs } = plan;
    const delivered = node.ssm === 'online' && deliverMs <= deliveryMs;
    const view = (
      status: string,
      statusDetails: string,
      responseCode: number,
      finishedAt: number | null,
      output = '',
    ): InvocationView => ({
      node,
      status,
      statusDetails,
      responseCode,
      startedAt: t >= deliverMs && delivered ? at(deliverMs) : null,
      finishedAt,
      output,
    });
    if (!delivered) {
      return t >= expiresMs
        ? view('TimedOut', 'DeliveryTimedOut', -1, at(expiresMs))
        : view('Pending', 'Pending', -1, null);
    }
    if (t < deliverMs) return view('Pending', 'Pending', -1, null);
    if (node.fault === 'undeliverable') return view('Failed', 'Undeliverable', -1, at(deliverMs));
    const doneMs = deliverMs + runMs;
    const stoppedMs = deliverMs + executionMs;
    if (node.fault === 'timeout' || runMs > executionMs) {
      return t >= stoppedMs
        ? view('TimedOut', 'ExecutionTimedOut', -1, at(stoppedMs))
        : view('InProgress', 'InProgress', -1, null);
    }
    if (t < doneMs) return view('InProgress', 'InProgress', -1, null);
    const finishedAt = at(doneMs);
    if (node.fault === 'failed') {
      const stderr = 'collect.sh: line 57: awk: command not found\nfailed to run commands: exit status 127';
      return view('Failed', 'Failed', 127, finishedAt, agentOutput('', stderr));
    }
    const stdout = collectorStdout(node, new Date(finishedAt).toISOString());
    // `oversized` stands for output the agent did not cut (an agent or document whose limit is larger than the
    // contract's): it reaches ListCommandInvocations whole, which returns its first 2,500 characters
    const output = node.fault === 'oversized' ? stdout : agentOutput(stdout, '');
    return view('Success', 'Success', 0, finishedAt, output);
  }

  // ---- CloudWatch Logs -------------------------------------------------------------------------------------------

  startQuery(input: StartQueryInput): string {
    if (input.logGroups.length === 0) {
      throw new ApiError(
        400,
        'InvalidParameterException',
        'Specify logGroupName, logGroupNames or logGroupIdentifiers',
      );
    }
    const groups = input.logGroups.map((name) => {
      const group = this.#logGroups.get(name);
      if (!group) throw new ApiError(400, 'ResourceNotFoundException', 'The specified log group does not exist.');
      return group;
    });
    if (input.endTime < input.startTime) {
      throw new ApiError(400, 'InvalidParameterException', 'endTime must be later than or equal to startTime');
    }
    let query: ReturnType<typeof parseInsightsQuery>;
    try {
      query = parseInsightsQuery(input.queryString);
    } catch (error) {
      if (error instanceof InsightsSyntaxError) throw new ApiError(400, 'MalformedQueryException', error.message);
      throw error;
    }
    if (this.runningQueries() >= INSIGHTS_CONCURRENT_QUERIES) {
      throw new ApiError(
        400,
        'LimitExceededException',
        `Account maximum query concurrency limit of [${INSIGHTS_CONCURRENT_QUERIES}] reached.`,
      );
    }
    // The window is in whole seconds, both ends included.
    const from = input.startTime * 1000;
    const to = input.endTime * 1000 + 999;
    const events: InsightsEvent[] = groups.flatMap((g) =>
      g.events.filter((e) => e.timestamp >= from && e.timestamp <= to),
    );
    // bytesScanned counts what the query reads: the window's events, or with filterIndex those the index holds
    const scanned = groups.flatMap((g) =>
      scannedEvents(
        query,
        events.filter((e) => e.logGroup === g.name),
        g.indexes,
      ),
    );
    const result = runInsightsQuery(query, scanned);
    const outcome = groups.find((g) => g.outcome !== 'Complete')?.outcome ?? 'Complete';
    const queryId = this.#fleet.nextId();
    const limited = input.limit !== undefined ? result.rows.slice(0, input.limit) : result.rows;
    this.#queries.set(queryId, {
      queryId,
      clusters: groups.map((g) => g.cluster),
      startedAt: this.#fleet.now(),
      stopped: false,
      polls: 0,
      outcome,
      rows: limited,
      scanned: scanned.length,
      matched: result.matched,
      bytes: scanned.reduce((sum, e) => sum + Buffer.byteLength(e.message), 0),
    });
    return queryId;
  }

  /**
   * DescribeFieldIndexes (API_DescribeFieldIndexes.html): the indexes of the named log groups (1 to 100), each with
   * the earliest and latest event it holds ("the earliest log event that matches this field index, after the index
   * policy that contains it was created", API_FieldIndex.html); an index that holds no event yet has no times. One
   * page: the simulated groups have few indexes.
   */
  fieldIndexes(logGroups: ReadonlyArray<string>): FieldIndexView[] {
    if (logGroups.length < 1 || logGroups.length > 100) {
      throw new ApiError(400, 'InvalidParameterException', 'logGroupIdentifiers must name 1 to 100 log groups');
    }
    return logGroups.flatMap((name) => {
      const group = this.#logGroups.get(name);
      if (!group) throw new ApiError(400, 'ResourceNotFoundException', 'The specified log group does not exist.');
      if (group.indexAccess === 'denied') {
        throw new ApiError(
          400,
          'AccessDeniedException',
          `User is not authorized to perform: logs:DescribeFieldIndexes on resource: ${name}`,
        );
      }
      return group.indexes.map((index) => {
        let first = Number.POSITIVE_INFINITY;
        let last = Number.NEGATIVE_INFINITY;
        for (const e of group.events) {
          if (e.timestamp < index.since || fieldOf(e, index.field) === undefined) continue;
          first = Math.min(first, e.timestamp);
          last = Math.max(last, e.timestamp);
        }
        return {
          fieldIndexName: index.field,
          indexCategory: index.category,
          type: 'FIELD_INDEX',
          ...(first <= last && { firstEventTime: first, lastEventTime: last }),
        };
      });
    });
  }

  /** Queries holding a concurrency slot now: the scenario's queries of other users, plus ours still running. */
  runningQueries(): number {
    const ours = [...this.#queries.values()].filter((q) => !q.stopped && !this.#queryEnded(q)).length;
    return this.#insightsQueriesInUse + ours;
  }

  #queryEnded(query: QueryState): boolean {
    return this.#fleet.simulatedSince(query.startedAt) >= this.#fleet.timing.queryMs;
  }

  /**
   * StopQuery: cancels a running query and frees its slot. One that has ended is an error ("If the query has
   * already ended, the operation returns an error indicating that the specified query is not running", StopQuery
   * API reference; the error code is not documented, InvalidParameterException is the model's nearest).
   */
  stopQuery(queryId: string): boolean {
    const query = this.#queries.get(queryId);
    if (!query) throw new ApiError(400, 'ResourceNotFoundException', `Query ${queryId} does not exist.`);
    if (query.stopped || this.#queryEnded(query)) {
      throw new ApiError(400, 'InvalidParameterException', `Query ${queryId} is not running.`);
    }
    query.stopped = true;
    return true;
  }

  /**
   * GetQueryResults: Running until the query's time (the scenario's `queryMs`) has passed, then its outcome — on the
   * first call as on any later one: `status` is "the status of the most recent running of the query" (Cancelled,
   * Complete, Failed, Running, Scheduled, Timeout, Unknown), a property of the query, not of how often it was asked
   * (GetQueryResults API reference, https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html).
   */
  queryResults(queryId: string): QueryView {
    const query = this.#queries.get(queryId);
    if (!query) throw new ApiError(400, 'ResourceNotFoundException', `Query ${queryId} does not exist.`);
    query.polls++;
    const done = this.#queryEnded(query);
    const status = query.stopped ? 'Cancelled' : done ? query.outcome : 'Running';
    return {
      status,
      rows: status === 'Complete' ? query.rows : [],
      statistics:
        status === 'Complete'
          ? { recordsMatched: query.matched, recordsScanned: query.scanned, bytesScanned: query.bytes }
          : { recordsMatched: 0, recordsScanned: 0, bytesScanned: 0 },
    };
  }

  // ---- SNS -------------------------------------------------------------------------------------------------------

  publish(input: PublishInput): string {
    if (!this.topics.has(input.topicArn)) throw new ApiError(404, 'NotFound', 'Topic does not exist');
    const attributeBytes = Object.entries(input.attributes).reduce(
      (sum, [name, a]) => sum + Buffer.byteLength(name) + Buffer.byteLength(a.dataType) + Buffer.byteLength(a.value),
      0,
    );
    if (Buffer.byteLength(input.message) + attributeBytes > SNS_MESSAGE_MAX_BYTES) {
      throw new ApiError(400, 'InvalidParameter', 'Invalid parameter: Message too long');
    }
    if (
      input.subject !== null &&
      (input.subject.length > SNS_SUBJECT_MAX_CHARACTERS || input.subject === '' || hasControl(input.subject))
    ) {
      throw new ApiError(400, 'InvalidParameter', 'Invalid parameter: Subject');
    }
    let parts: Record<string, string> | null = null;
    if (input.messageStructure === 'json') {
      parts = jsonMessageParts(input.message);
    } else if (input.messageStructure !== null) {
      throw new ApiError(400, 'InvalidParameter', 'Invalid parameter: MessageStructure');
    }
    if (Object.keys(input.attributes).length > 10) {
      throw new ApiError(
        400,
        'InvalidParameterValue',
        'Number of message attributes [11] exceeds the allowed maximum [10].',
      );
    }
    for (const [name, attribute] of Object.entries(input.attributes)) {
      if (attribute.value === '') {
        throw new ApiError(
          400,
          'InvalidParameterValue',
          `The message attribute '${name}' must contain non-empty message attribute value.`,
        );
      }
    }
    const messageId = this.#fleet.nextId();
    this.#fleet.record({
      messageId,
      account: this.account,
      region: this.region,
      topicArn: input.topicArn,
      subject: input.subject,
      messageStructure: input.messageStructure,
      message: input.message,
      parts,
      attributes: input.attributes,
      publishedAt: new Date(this.#fleet.now()).toISOString(),
    });
    return messageId;
  }
}

export interface SendCommandInput {
  documentName: string;
  instanceIds: string[];
  /** SendCommand TimeoutSeconds: the delivery time-out */
  deliveryTimeoutSeconds: number;
  maxConcurrency: string;
  maxErrors: string;
  comment: string | null;
}

interface InvocationPlan {
  node: SimNode;
  /** simulated ms until an online node picks the command up */
  deliverMs: number;
  /** simulated ms the collector then runs */
  runMs: number;
}

export interface CommandState extends SendCommandInput {
  commandId: string;
  sentAt: number;
  /** the document step's timeoutSeconds: how long the script may run once delivered */
  executionTimeoutSeconds: number;
  invocations: InvocationPlan[];
}

export interface InvocationView {
  node: SimNode;
  status: string;
  statusDetails: string;
  responseCode: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** the plugin output as the SSM agent reports it (stdout, then the stderr title and stderr) */
  output: string;
}

export interface CommandView {
  status: string;
  statusDetails: string;
  targetCount: number;
  completedCount: number;
  errorCount: number;
  deliveryTimedOutCount: number;
  invocations: InvocationView[];
}

export interface StartQueryInput {
  logGroups: string[];
  queryString: string;
  startTime: number;
  endTime: number;
  limit: number | undefined;
}

export interface QueryView {
  status: string;
  rows: Array<Array<{ field: string; value: string }>>;
  statistics: { recordsMatched: number; recordsScanned: number; bytesScanned: number };
}

export interface PublishInput {
  topicArn: string;
  message: string;
  subject: string | null;
  messageStructure: string | null;
  attributes: Record<string, { dataType: string; value: string }>;
}

export interface FieldIndexView {
  fieldIndexName: string;
  indexCategory: string;
  type: string;
  firstEventTime?: number;
  lastEventTime?: number;
}

/** The default field indexes the simulated events carry (every event has a @logStream). */
const DEFAULT_FIELD_INDEXES = ['@logStream'] as const;

interface LogGroupState {
  name: string;
  /** the cluster whose data-plane logs these are */
  cluster: string;
  events: InsightsEvent[];
  indexes: Array<FieldIndexState & { category: 'DEFAULT' | 'CUSTOM' }>;
  indexAccess: 'allowed' | 'denied';
  outcome: 'Complete' | 'Failed' | 'Timeout' | 'Cancelled';
}

interface QueryState {
  queryId: string;
  /** the clusters of the log groups queried */
  clusters: string[];
  startedAt: number;
  /** StopQuery cancelled it */
  stopped: boolean;
  polls: number;
  outcome: LogGroupState['outcome'];
  rows: Array<Array<{ field: string; value: string }>>;
  scanned: number;
  matched: number;
  bytes: number;
}

/**
 * The execution time-out of a document's aws:runShellScript step (`timeoutSeconds`, default 3,600 s: Command
 * document plugin reference, https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-command-ssm-plugin-reference.html).
 * The simulator knows the project's collector document, built by collector/ssm-document.ts as deployed; any other
 * document runs with the plugin's default.
 */
function documentExecutionTimeout(documentName: string): number {
  return documentName === COLLECTOR_DOCUMENT_NAME ? COLLECTOR_TIMEOUT_SECONDS : 3600;
}

/** SNS rejects line breaks and other control characters in subjects. */
function hasControl(text: string): boolean {
  return [...text].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f);
}

/** MaxErrors as a count of invocations: "0", "5" or "10%". */
function allowedErrors(maxErrors: string, targets: number): number {
  const percent = /^(\d+)%$/.exec(maxErrors);
  if (percent) return Math.floor((targets * Number(percent[1])) / 100);
  return Number(maxErrors);
}

/** Error lines the real collector prints (collector/collect.sh), repeated to overflow the agent's capacity. */
const COLLECTOR_ERRORS = [
  'kube-proxy: /metrics timed out',
  'logs: kube-proxy logs could not be counted',
  'awsNode: ipamd environment not readable',
  'iptables: could not count the rules',
];

/**
 * What the collector prints on a node; with the `truncated` fault, far more than the agent keeps (as a collector
 * older than the 2,400-byte cap, or stderr noise, would produce).
 */
function collectorStdout(node: SimNode, collectedAt: string): string {
  const noise = (lines: number) =>
    Array.from({ length: lines }, (_, i) => COLLECTOR_ERRORS[i % COLLECTOR_ERRORS.length] ?? '');
  switch (node.fault) {
    case 'truncated':
      return collectorOutput({ ...node.report, errors: [...node.report.errors, ...noise(60)] }, collectedAt);
    case 'oversized':
      // about 3,000 bytes: over the collector's 2,400 and the listing's 2,500
      return collectorOutput({ ...node.report, errors: [...node.report.errors, ...noise(90)] }, collectedAt);
    case 'wrongTypes': {
      // what a collector with a broken awk field split would print: numbers as strings
      const report = structuredClone(node.report) as Record<string, Record<string, unknown> | unknown>;
      const iptables = report.iptables as Record<string, unknown> | null;
      if (iptables) iptables.kubeServiceChains = String(iptables.kubeServiceChains ?? '1,204');
      const lock = report.lock as Record<string, unknown> | null;
      if (lock) lock.samples = `${String(lock.samples ?? 20)} samples`;
      // a report without both sections still gets a wrong type
      if (!iptables && !lock) report.durationMs = `${String(report.durationMs ?? 5200)}ms`;
      return `${JSON.stringify({ ...report, collectedAt })}\n`;
    }
    case 'notJson':
      return "collect.sh: line 212: syntax error near unexpected token `fi'\n";
    case 'duplicateId':
      return collectorOutput(
        node.answersAs === null || node.report.node === null
          ? node.report
          : { ...node.report, node: { ...node.report.node, instanceId: node.answersAs } },
        collectedAt,
      );
    default:
      return collectorOutput(node.report, collectedAt);
  }
}

/**
 * How the SSM agent shapes a plugin's output (amazon-ssm-agent `contracts.TruncateOutput`, capacity 2,400 bytes):
 * stdout, then — when there is stderr — a title and stderr, each truncated with a marker when they do not fit.
 */
export function agentOutput(stdout: string, stderr: string, capacity = AGENT_OUTPUT_MAX): string {
  const out = Buffer.from(stdout);
  const err = Buffer.from(stderr);
  const title = err.length > 0 ? STDERR_TITLE : '';
  const available = capacity - Buffer.byteLength(title);
  if (out.length + err.length < available) return `${stdout}${title}${stderr}`;
  const cut = (buffer: Buffer, size: number) => buffer.subarray(0, Math.max(0, size)).toString();
  if (out.length > available / 2 && err.length > available / 2) {
    const size = available - TRUNCATED_ERROR.length - TRUNCATED_OUT.length;
    return `${cut(out, Math.floor(size / 2))}${TRUNCATED_OUT}${title}${cut(err, Math.floor(size / 2))}${TRUNCATED_ERROR}`;
  }
  if (out.length < available / 2) {
    return `${stdout}${title}${cut(err, available - TRUNCATED_ERROR.length - out.length)}${TRUNCATED_ERROR}`;
  }
  return `${cut(out, available - TRUNCATED_OUT.length - err.length)}${TRUNCATED_OUT}${title}${stderr}`;
}

/** The per-protocol parts of a MessageStructure json message, as SNS validates them. */
function jsonMessageParts(message: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw new ApiError(
      400,
      'InvalidParameter',
      'Invalid parameter: Message Structure - JSON message body failed to parse',
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ApiError(
      400,
      'InvalidParameter',
      'Invalid parameter: Message Structure - JSON message body failed to parse',
    );
  }
  const parts = parsed as Record<string, unknown>;
  if (typeof parts.default !== 'string') {
    throw new ApiError(
      400,
      'InvalidParameter',
      'Invalid parameter: Message Structure - No default entry in JSON message body',
    );
  }
  for (const [key, value] of Object.entries(parts)) {
    if (typeof value !== 'string') {
      throw new ApiError(
        400,
        'InvalidParameter',
        `Invalid parameter: Message Structure - the ${key} entry is not a string`,
      );
    }
  }
  return parts as Record<string, string>;
}
