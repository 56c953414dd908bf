import { randomUUID } from 'node:crypto';
import { assessCluster, type ClusterAssessment } from '#audit/assess.js';
import { uncoveredNodes } from '#audit/coverage.js';
import { allSourcesFailed, type SourceState, type SourceStates, sourceStates } from '#audit/evidence-sources.js';
import { buildLogQuery, type IndexedSelection, indexedSelection, readLogSignals } from '#audit/log-query.js';
import type {
  AuditStatus,
  ClusterEvidence,
  ClusterRef,
  HistoryPoint,
  LogSignals,
  NodeCoverage,
  NodeObservation,
} from '#audit/model.js';
import { parseNodeReport } from '#audit/node-report.js';
import { isTransient } from '#aws/errors.js';
import type {
  AlertPublisher,
  AuditTarget,
  LogQueryRunner,
  OrganizationAccountLister,
  TargetClientsFactory,
} from '#aws/ports.js';
import type { AuditStore, ClusterSnapshot, DiscoveryKey, LogQueryRef, PlannedNode } from '#aws/store.js';
import type { DiscoveredNodeCounts, DiscoveryState } from './discovery-state.js';
import type { AuditSettings } from './settings.js';

/**
 * The steps of one audit run as plain async functions (docs/operations.md, The state machine). Each takes and returns small JSON
 * payloads, as the Step Functions states do; raw node output never travels in a payload: `assess` reads it
 * from SSM itself. The local runner and the Lambda handlers call these same functions.
 */

export interface StepDeps {
  clientsFor: TargetClientsFactory;
  store: AuditStore;
  /** null: alerts are not sent (dry runs) */
  publisher: AlertPublisher | null;
  settings: AuditSettings;
  /** the organization's accounts, read through its reader role; required when `settings.organization` is set */
  organization?: OrganizationAccountLister;
  now: () => Date;
  /**
   * How long another run's OPEN digest is left to the report step that opened it before this one takes it over
   * (default: longer than a report Lambda can live). Local mode sets 0: its state folder's lock means no other
   * report step is alive, so a rerun right after a killed one sends the killed one's changes.
   */
  digestLeaseMs?: number;
  /**
   * The size a digest's SNS message may have at most, in SNS's count (default: SNS's 256 KB); a digest larger than
   * that goes out in parts. Smaller in tests, to split a small fleet's digest.
   */
  digestMessageMaxBytes?: number;
  /** a line only someone debugging wants (the Lambda functions: the logger at DEBUG); default: dropped */
  debug?: (message: string) => void;
}

/** One cluster to audit in a run. `listError` is set when its account/region could not be listed. */
export interface ClusterTask {
  runId: string;
  startedAt: string;
  account: string;
  region: string;
  name: string;
  listError?: string;
}

export interface RunPlan {
  runId: string;
  startedAt: string;
  clusters: ClusterTask[];
}

export interface PollResult {
  done: boolean;
  commandsDone: boolean;
  queryDone: boolean;
}

/** What the Map iteration returns for a cluster: enough for the report step to find the snapshot. */
export interface ClusterOutcome {
  account: string;
  region: string;
  name: string;
  status: AuditStatus;
  score: number | null;
  /** how many of the cluster's nodes were read (four counts: the payload does not grow with the cluster) */
  nodes: NodeCoverage;
  /**
   * One line for the person running the audit when nodes answered with output that is not their collector report
   * (unreadable, oversized, another node's): how many, and the first one's reason. Bounded: one line a cluster.
   */
  warning?: string;
}

/** A node SendCommand refused (InvalidInstanceId) after discovery had seen it running and Online. */
export const VANISHED_REASON =
  'vanished: terminated or deregistered from SSM between discovery and SendCommand (InvalidInstanceId)';

const TERMINAL_COMMAND = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);
/**
 * Logs Insights' concurrent-query quota per account, dashboards included (StartQuery API reference in the SDK model;
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatchLogs-Insights-Query-History.html). The audit runs
 * one query per cluster in flight, at most logsInsightsBudget at once in an account and region over every run (the
 * budget's slots are held in the table), and stops the ones still running at a cluster's deadline.
 */
export const INSIGHTS_QUOTA = 100;

const TERMINAL_QUERY = new Set(['Complete', 'Failed', 'Cancelled', 'Timeout', 'Unknown']);

export const refOf = (task: Pick<ClusterTask, 'account' | 'region' | 'name'>): ClusterRef => ({
  account: task.account,
  region: task.region,
  name: task.name,
});

/**
 * plan: lists the clusters of every target and remembers the list. A target that cannot be listed keeps its
 * clusters: those its last successful listing returned become tasks carrying the listing error (each is reported
 * FAILED, its open findings UNKNOWN, rather than vanishing). Only a target never listed before becomes one
 * placeholder task `*`.
 */
export async function plan(deps: StepDeps, input: { runId?: string } = {}): Promise<RunPlan> {
  const startedAt = deps.now().toISOString();
  const runId = input.runId ?? `${startedAt.slice(0, 19).replace(/[-:]/g, '')}-${randomUUID().slice(0, 8)}`;
  await deps.store.startRun(runId, startedAt);
  const wanted = new Set(deps.settings.clusters);
  const chosen = (names: ReadonlyArray<string>) => names.filter((name) => wanted.size === 0 || wanted.has(name)).sort();
  const targets = await targetsOf(deps);
  const perTarget = await Promise.all(
    targets.map(async (target: AuditTarget): Promise<ClusterTask[]> => {
      let names: string[];
      try {
        names = await deps.clientsFor(target).directory.listClusters();
      } catch (error) {
        const listError = auditRoleDenied(error)
          ? `could not assume the audit role in account ${target.account} (is its member stack or StackSet instance deployed?): ${messageOf(error)}`
          : `could not list clusters: ${messageOf(error)}`;
        const known = await deps.store.clusterDirectory(target);
        if (!known) return [{ runId, startedAt, ...target, name: '*', listError }];
        const since = ` (clusters as last listed ${known.listedAt.slice(0, 10)})`;
        return chosen(known.names).map((name) => ({ runId, startedAt, ...target, name, listError: listError + since }));
      }
      await deps.store.putClusterDirectory({ ...target, names: [...names].sort(), listedAt: startedAt, runId });
      return chosen(names).map((name) => ({ runId, startedAt, ...target, name }));
    }),
  );
  return { runId, startedAt, clusters: perTarget.flat() };
}

/**
 * The account × region pairs of this run: the listed targets, plus with an organization every account it lists as
 * ACTIVE (SUSPENDED, PENDING_CLOSURE and the others cannot be audited) in its regions, minus the excluded ones.
 * An organization that cannot be listed fails the plan, and so the run: its accounts are unknown, and a run
 * without them must not pass for a complete one.
 */
export async function targetsOf(deps: Pick<StepDeps, 'settings' | 'organization'>): Promise<AuditTarget[]> {
  const { organization } = deps.settings;
  const targets = [...deps.settings.targets];
  if (organization) {
    if (!deps.organization) throw new Error('settings name an organization, but no organization reader was built');
    const excluded = new Set(organization.excludeAccounts);
    const accounts = await deps.organization.listAccounts(organization.organizationalUnits);
    for (const account of accounts) {
      if (account.state !== 'ACTIVE' || excluded.has(account.id)) continue;
      for (const region of organization.regions) targets.push({ account: account.id, region });
    }
  }
  return [...new Map(targets.map((t) => [`${t.account}/${t.region}`, t])).values()];
}

/** The EKS add-ons the evidence reads (ClusterEvidence.addons). */
const EVIDENCE_ADDONS = ['vpc-cni', 'kube-proxy'] as const;

/** discover: reads the cluster, its add-ons and instances, sends the collector and starts the log query. */
export async function discover(task: ClusterTask, deps: StepDeps): Promise<DiscoveryState> {
  if (task.listError) throw new Error(task.listError);
  const { directory, commands } = deps.clientsFor(task);
  const { settings } = deps;
  // Add-ons are one evidence source among several: without them the audit goes on, and the findings that need
  // them stay UNKNOWN instead of the whole cluster failing.
  const [cluster, listedAddons, nodegroups, instances] = await Promise.all([
    directory.describeCluster(task.name),
    // only the two add-ons the evidence reads: a cluster's other add-ons (CoreDNS, CSI drivers, agents) cost a
    // DescribeAddon each, and one of them throttled would have cost the audit these two
    directory.listAddons(task.name, EVIDENCE_ADDONS).then(
      (addons) => ({ addons, problem: null }),
      (error: unknown) => ({ addons: [], problem: `add-ons could not be read: ${messageOf(error)}` }),
    ),
    directory.listNodegroups(task.name),
    directory.listInstances(task.name),
  ]);
  const { addons } = listedAddons;
  const amiTypes = new Map(nodegroups.map((ng) => [ng.name, ng.amiType ?? '']));
  const managed = new Map(
    (await commands.describeManagedInstances(instances.map((i) => i.instanceId))).map((m) => [m.instanceId, m]),
  );
  const nodes: PlannedNode[] = instances.map((instance) => {
    const ssm = managed.get(instance.instanceId);
    const amiType = amiTypes.get(instance.nodegroup ?? '') ?? '';
    const unreachable = (reason: string, unsupported = false): PlannedNode => ({
      instanceId: instance.instanceId,
      nodegroup: instance.nodegroup,
      reach: 'UNREACHABLE',
      reason,
      ...(unsupported && { unsupported }),
    });
    if (instance.platform === 'windows' || ssm?.platformType === 'Windows') {
      return unreachable('Windows node: the collector runs on Linux nodes only', true);
    }
    if (amiType.startsWith('BOTTLEROCKET') || /bottlerocket/i.test(ssm?.platformName ?? '')) {
      return unreachable('Bottlerocket node: SSM reaches the control container, not the host', true);
    }
    if (!ssm) return unreachable('not an SSM managed node (no agent, or the instance profile lacks SSM permissions)');
    if (ssm.pingStatus !== 'Online') return unreachable(`SSM agent is ${ssm.pingStatus}`);
    return { instanceId: instance.instanceId, nodegroup: instance.nodegroup, reach: 'PENDING', reason: null };
  });
  const pending = nodes.filter((n) => n.reach === 'PENDING').map((n) => n.instanceId);
  const { commandIds, vanished } =
    pending.length === 0
      ? { commandIds: [], vanished: [] }
      : await commands.sendCollector(pending, {
          documentName: settings.documentName,
          deliveryTimeoutSeconds: settings.deliveryTimeoutSeconds,
          maxConcurrency: settings.maxConcurrency,
          maxErrors: settings.maxErrors,
          comment: `fleet-audit ${task.runId} ${task.name}`.slice(0, 100),
        });
  const gone = new Set(vanished);
  const planned = nodes.map(
    (node): PlannedNode =>
      gone.has(node.instanceId) ? { ...node, reach: 'UNREACHABLE', reason: VANISHED_REASON } : node,
  );
  // Stored before the log query starts, so that a failed write leaves no query holding an Insights slot. Each
  // attempt has its own id: a retried Discover overwrites the same items, and readers ignore any other attempt's.
  const stored = await deps.store.putDiscovery(discoveryKeyOf(task), randomUUID(), planned, commandIds);
  const now = deps.now();
  const deadline = now.getTime() + settings.clusterDeadlineSeconds * 1000;
  const started = await startLogQuery(task, deps, deadline);
  return {
    ...task,
    kubernetesVersion: cluster.kubernetesVersion,
    endpoint: cluster.endpoint,
    addons: {
      vpcCni: addons.find((a) => a.name === 'vpc-cni') ?? null,
      kubeProxy: addons.find((a) => a.name === 'kube-proxy') ?? null,
    },
    nodes: countsOf(planned),
    commandCount: commandIds.length,
    stored,
    query: started.query,
    queryProblem: started.problem,
    ...(started.logGroupMissing && { logGroupMissing: true }),
    ...(started.deferred && { queryDeferred: true }),
    ...(listedAddons.problem !== null && { addonProblem: listedAddons.problem }),
    deadline: new Date(deadline).toISOString(),
  };
}

/** The counts the state carries instead of the nodes. */
function countsOf(nodes: ReadonlyArray<PlannedNode>): DiscoveredNodeCounts {
  const pending = nodes.filter((n) => n.reach === 'PENDING').length;
  const unsupported = nodes.filter((n) => n.unsupported).length;
  return { expected: nodes.length, pending, unreachable: nodes.length - pending, unsupported };
}

const discoveryKeyOf = (task: ClusterTask): DiscoveryKey => ({
  runId: task.runId,
  startedAt: task.startedAt,
  cluster: refOf(task),
});

/** poll: are the collector commands and the log query finished (or the deadline passed)? */
export async function poll(state: DiscoveryState, deps: StepDeps): Promise<PollResult> {
  // Past the deadline nothing more is asked of AWS: assess takes what has arrived, and a throttled call here
  // cannot turn a late cluster into a failed one.
  if (deps.now().getTime() >= Date.parse(state.deadline)) return { done: true, commandsDone: false, queryDone: false };
  const { commands, logs } = deps.clientsFor(state);
  // One strongly consistent Query a poll, of the command items only (COMMANDS_PER_ITEM ids each): a 5,000-node
  // cluster's 100 ids are one item of about 4 KB, one or two read units a poll; the nodes are not read here, and a
  // cluster with no command sent reads nothing.
  const commandIds = await deps.store.discoveredCommandIds(discoveryKeyOf(state), state.stored);
  const progress = commandIds.length > 0 ? await commands.getProgress(commandIds) : [];
  const commandsDone = progress.every((p) => TERMINAL_COMMAND.has(p.status));
  const current = await currentLogQuery(state, deps, true);
  const queryDone = current.deferred
    ? false
    : current.query
      ? TERMINAL_QUERY.has((await logs.getQueryResults(current.query.queryId)).status)
      : true;
  // an ended query frees its slot of the budget at once, for the clusters waiting for one
  if (queryDone && current.query) await releaseQuerySlot(state, current.query, deps);
  return { done: commandsDone && queryDone, commandsDone, queryDone };
}

/**
 * assess: reads node reports and query results, evaluates the rules and stores the cluster's snapshot with what
 * each evidence source delivered. A log query or history read that fails leaves that source FAILED and the audit
 * goes on: the lifecycle then keeps findings that need it UNKNOWN.
 */
export async function assess(state: DiscoveryState, deps: StepDeps): Promise<ClusterOutcome> {
  const { commands } = deps.clientsFor(state);
  const key = discoveryKeyOf(state);
  const { nodes: planned, commandIds } = await deps.store.discovered(key, state.stored);
  const invocations = new Map(
    (await Promise.all(commandIds.map((id) => commands.readInvocations(id)))).flat().map((i) => [i.instanceId, i]),
  );
  const nodes: NodeObservation[] = planned.map((node) => {
    const base = { instanceId: node.instanceId, nodegroup: node.nodegroup };
    if (node.reach === 'UNREACHABLE') return { ...base, reach: 'UNREACHABLE', reason: node.reason, report: null };
    const invocation = invocations.get(node.instanceId);
    if (!invocation) return { ...base, reach: 'FAILED', reason: 'SSM returned no result for this node', report: null };
    if (invocation.status !== 'Success') {
      const details = invocation.statusDetails && invocation.statusDetails !== invocation.status;
      const reason = `collector ${invocation.status}${details ? ` (${invocation.statusDetails})` : ''}`;
      return { ...base, reach: 'FAILED', reason, report: null };
    }
    const parsed = parseNodeReport(invocation.output ?? '');
    if (!parsed.ok) {
      return { ...base, reach: 'FAILED', reason: `collector output unreadable: ${parsed.problem}`, report: null };
    }
    // The report names the instance it ran on (IMDS); another node's id means the output is not this node's.
    const named = parsed.report.node?.instanceId ?? null;
    if (named !== null && named !== node.instanceId) {
      return {
        ...base,
        reach: 'FAILED',
        reason: `collector output names instance ${named}, not this node`,
        report: null,
      };
    }
    return { ...base, reach: 'REACHED', reason: null, report: parsed.report };
  });
  const { signals, problem: logProblem, warning: logWarning, query } = await logSignalsOf(state, deps);
  // freed here too: a poll that reached the deadline before the query ended has not freed it; and a query put off
  // by Discover may have been started by a poll that died before storing it, holding a slot under this holder
  if (query) await releaseQuerySlot(state, query, deps);
  else if (state.queryDeferred) await deps.store.slots.releaseHolder(insightsScope(state), queryHolder(state));
  const cluster = refOf(state);
  let history: HistoryPoint[] = [];
  let historyProblem: SourceState | null = null;
  try {
    history = await deps.store.history(cluster, state.startedAt);
    if (history.length === 0)
      historyProblem = { state: 'MISSING', reason: 'no earlier complete audit of this cluster' };
  } catch (error) {
    historyProblem = { state: 'FAILED', reason: `history could not be read: ${messageOf(error)}` };
  }
  const evidence: ClusterEvidence = {
    cluster,
    kubernetesVersion: state.kubernetesVersion,
    endpoint: state.endpoint,
    addons: state.addons,
    nodes,
    logs: signals,
    history,
    auditError: null,
    observedAt: deps.now().toISOString(),
  };
  const unsupported = new Set(planned.filter((n) => n.unsupported).map((n) => n.instanceId));
  const sources = sourceStates(nodes, unsupported, {
    logs: logProblem,
    addons: state.addonProblem ? { state: 'FAILED', reason: state.addonProblem } : null,
    history: historyProblem,
  });
  const assessment = assessCluster(evidence, deps.settings.thresholds);
  await deps.store.putSnapshot(snapshotOf(state, assessment, evidence, sources));
  const warning = [unreadableOutputWarning(state, nodes), logWarning].filter((w) => w !== null).join('; ');
  return { ...outcomeOf(state, assessment), ...(warning !== '' && { warning }) };
}

/**
 * The line that says nodes' collector output could not be used, or null. A node that did not answer is coverage
 * (AUDIT-COVERAGE says so); a node that answered with something else is worth a line: a broken collector, an
 * output cut short, or a cloned instance identity.
 */
function unreadableOutputWarning(state: DiscoveryState, nodes: ReadonlyArray<NodeObservation>): string | null {
  const unreadable = nodes.filter((n) => n.reach === 'FAILED' && n.reason?.startsWith('collector output '));
  const [first] = unreadable;
  if (!first) return null;
  const count = unreadable.length === 1 ? '1 node' : `${unreadable.length} nodes`;
  return (
    `cluster ${state.account}/${state.region}/${state.name}: ${count} answered with output that is not a collector ` +
    `report, their evidence is unknown (${first.instanceId}: ${first.reason})`
  );
}

/**
 * The log query's counts, or why the log source has none this run; `warning`: a line for the person running the
 * audit when a query put off by Discover could not start (the account's problem, not the cluster's evidence).
 */
async function logSignalsOf(
  state: DiscoveryState,
  deps: StepDeps,
): Promise<{
  signals: LogSignals | null;
  problem: SourceState | null;
  warning: string | null;
  /** the query whose results were read (its budget slot is still to be freed) */
  query: LogQueryRef | null;
}> {
  const current = await currentLogQuery(state, deps, false);
  if (!current.query) {
    const reason = current.deferred
      ? `log signals of cluster ${state.name} not evaluated: its Logs Insights query could not start before the ` +
        `cluster's deadline, the audit's budget of ${deps.settings.logsInsightsBudget} concurrent queries in account ` +
        `${state.account} in ${state.region} or the account's quota (${INSIGHTS_QUOTA}, dashboards included, ` +
        'LimitExceededException) being in use; raise logsInsightsBudget, lower clusterConcurrency, or stop queries there'
      : (current.problem ?? 'no log query ran');
    const late = state.queryDeferred && !current.logGroupMissing;
    return {
      signals: null,
      problem: { state: current.logGroupMissing ? 'MISSING' : 'FAILED', reason },
      warning: late ? reason : null,
      query: null,
    };
  }
  const { query } = current;
  const { logGroup, queryId } = query;
  try {
    const { logs } = deps.clientsFor(state);
    const results = await logs.getQueryResults(queryId);
    if (results.status === 'Complete') {
      return {
        signals: readLogSignals(
          logGroup,
          deps.settings.logWindowHours,
          results.rows,
          current.query.indexField !== undefined,
        ),
        problem: null,
        warning: null,
        query,
      };
    }
    if (!TERMINAL_QUERY.has(results.status)) await stopUnfinishedQuery(queryId, logs);
    const reason = TERMINAL_QUERY.has(results.status)
      ? `log query on ${logGroup} ended ${results.status}`
      : `log query on ${logGroup} did not finish before the deadline (${results.status})`;
    return { signals: null, problem: { state: 'FAILED', reason }, warning: null, query };
  } catch (error) {
    return {
      signals: null,
      problem: { state: 'FAILED', reason: `log query results on ${logGroup} could not be read: ${messageOf(error)}` },
      warning: null,
      query,
    };
  }
}

/** The audit's Logs Insights budget is per account and region (the quota's scope), shared by every run. */
const insightsScope = (target: AuditTarget) => `logs-insights#${target.account}#${target.region}`;
/** A cluster's query in a run holds the slot: a retried step gets the same slot back. */
const queryHolder = (task: ClusterTask) => `${task.runId}/${task.name}`;
/** A slot is leased until the cluster's deadline and this much more (assess stops a query still running then). */
const QUERY_LEASE_GRACE_MS = 5 * 60_000;

/**
 * Frees the budget slot a cluster's query holds: one conditional DeleteItem when the state remembers the slot (it
 * fails harmlessly once freed, or once another holder took the slot over after the lease), else the holder's slots
 * looked up first.
 */
async function releaseQuerySlot(task: ClusterTask, query: LogQueryRef, deps: StepDeps): Promise<void> {
  const scope = insightsScope(task);
  const holder = queryHolder(task);
  if (query.slot === undefined) await deps.store.slots.releaseHolder(scope, holder);
  else await deps.store.slots.release({ scope, slot: query.slot, holder, leaseUntil: 0 });
}

/** Where a cluster's log query stands: started (`query`), could not start (`problem`), or still put off. */
interface LogQueryStart {
  query: LogQueryRef | null;
  problem: string | null;
  logGroupMissing: boolean;
  /** not started yet: the budget or the account's quota was in use */
  deferred: boolean;
}

/**
 * Starts the cluster's log query if the audit's Logs Insights budget in its account and region has a free slot
 * (held until the query ends, or until its lease does); with none free, or with the account's own quota in use
 * (StartQuery's LimitExceededException: dashboards and other teams' queries count too), the query is put off to a
 * later poll, so a busy account slows the audit instead of losing its log signals.
 */
async function startLogQuery(task: ClusterTask, deps: StepDeps, deadline: number): Promise<LogQueryStart> {
  const { settings } = deps;
  const logGroup = settings.logGroupPattern.replaceAll('{cluster}', task.name);
  const now = deps.now().getTime();
  const lease = await deps.store.slots.acquire(
    insightsScope(task),
    settings.logsInsightsBudget,
    queryHolder(task),
    Math.max(0, deadline - now) + QUERY_LEASE_GRACE_MS,
    now,
  );
  const none = { query: null, problem: null, logGroupMissing: false, deferred: false };
  if (!lease) return { ...none, deferred: true };
  try {
    const { logs } = deps.clientsFor(task);
    const endTime = Math.floor(now / 1000);
    const startTime = endTime - settings.logWindowHours * 3600;
    const selection = await selectionOf(logs, logGroup, startTime * 1000, deps);
    const queryId = await logs.startQuery({ logGroup, queryString: buildLogQuery(selection), startTime, endTime });
    if (queryId) {
      return {
        ...none,
        query: { queryId, logGroup, slot: lease.slot, ...(selection && { indexField: selection.field }) },
      };
    }
    await deps.store.slots.release(lease);
    return { ...none, problem: `log group ${logGroup} does not exist`, logGroupMissing: true };
  } catch (error) {
    await deps.store.slots.release(lease);
    // the quota in use, or a start throttled, unanswered or failed on the server side (it is sent without the
    // SDK's retries, lambda/aws/logs.ts): the next poll tries again
    if (errorCodeOf(error) === 'LimitExceededException' || isTransient(error)) return { ...none, deferred: true };
    return { ...none, problem: `log query on ${logGroup} could not start: ${messageOf(error)}` };
  }
}

/**
 * The filterIndex selection the log group's field indexes allow (one DescribeFieldIndexes call), or null for the
 * query that scans the group in full. The call failing (AccessDenied on a member stack older than the grant,
 * throttling: it is sent once) costs bytes, not signals: the unindexed query runs, with a debug line.
 */
async function selectionOf(
  logs: LogQueryRunner,
  logGroup: string,
  windowStartMs: number,
  deps: StepDeps,
): Promise<IndexedSelection | null> {
  try {
    return indexedSelection(await logs.fieldIndexes(logGroup), windowStartMs);
  } catch (error) {
    deps.debug?.(`field indexes of ${logGroup} not read, its query scans the group in full: ${messageOf(error)}`);
    return null;
  }
}

/**
 * The cluster's query as Discover left it, or as a poll started it later (stored, since a poll's result does not
 * change the state). With `startNow` (a poll before the deadline), a query still put off is tried again.
 */
async function currentLogQuery(state: DiscoveryState, deps: StepDeps, startNow: boolean): Promise<LogQueryStart> {
  if (state.query || !state.queryDeferred) {
    return {
      query: state.query,
      problem: state.queryProblem,
      logGroupMissing: state.logGroupMissing === true,
      deferred: false,
    };
  }
  const key = discoveryKeyOf(state);
  const late = await deps.store.lateLogQuery(key, state.stored.discoveryId);
  if (late) return { ...late, logGroupMissing: late.logGroupMissing === true, deferred: false };
  if (!startNow) return { query: null, problem: null, logGroupMissing: false, deferred: true };
  const started = await startLogQuery(state, deps, Date.parse(state.deadline));
  if (!started.deferred) {
    await deps.store.putLateLogQuery(key, state.stored.discoveryId, {
      query: started.query,
      problem: started.problem,
      ...(started.logGroupMissing && { logGroupMissing: true }),
    });
  }
  return started;
}

/**
 * Cancels a log query still running at the cluster's deadline: left alone it would hold one of the account's
 * concurrent Logs Insights slots for up to an hour (queries time out after 60 minutes, StartQuery API reference),
 * and later clusters' StartQuery would get LimitExceededException. Best effort: a query that ended meanwhile makes
 * StopQuery fail, and either way the cluster's log signals are not evaluated.
 */
async function stopUnfinishedQuery(queryId: string, logs: LogQueryRunner): Promise<void> {
  try {
    await logs.stopQuery(queryId);
  } catch {
    // ended by itself, or StopQuery throttled past the SDK's retries: the query ends within the hour anyway
  }
}

/** The Map iteration's Catch: a cluster that could not be audited is stored as FAILED; the run goes on. */
export async function recordFailure(task: ClusterTask, error: unknown, deps: StepDeps): Promise<ClusterOutcome> {
  const cluster = refOf(task);
  const evidence: ClusterEvidence = {
    cluster,
    kubernetesVersion: null,
    endpoint: null,
    addons: { vpcCni: null, kubeProxy: null },
    nodes: [],
    logs: null,
    history: [],
    auditError: messageOf(error),
    observedAt: deps.now().toISOString(),
  };
  const assessment = assessCluster(evidence, deps.settings.thresholds);
  await deps.store.putSnapshot(snapshotOf(task, assessment, evidence, allSourcesFailed(messageOf(error))));
  return outcomeOf(task, assessment);
}

function outcomeOf(task: ClusterTask, assessment: ClusterAssessment): ClusterOutcome {
  return {
    account: task.account,
    region: task.region,
    name: task.name,
    status: assessment.status,
    score: assessment.score,
    nodes: assessment.nodes,
  };
}

function snapshotOf(
  task: ClusterTask,
  assessment: ClusterAssessment,
  evidence: ClusterEvidence,
  sources: SourceStates,
): ClusterSnapshot {
  return {
    runId: task.runId,
    startedAt: task.startedAt,
    cluster: refOf(task),
    status: assessment.status,
    score: assessment.score,
    nodes: assessment.nodes,
    uncoveredNodes: uncoveredNodes(evidence).map((n) => n.instanceId),
    kubernetesVersion: evidence.kubernetesVersion,
    serviceCount: assessment.serviceCount,
    restoreFailures: assessment.restoreFailures,
    detections: assessment.detections,
    notEvaluated: assessment.notEvaluated,
    findings: null,
    auditError: evidence.auditError,
    sources,
    measures: assessment.measures,
  };
}

/**
 * STS refused the audit role: AccessDenied naming sts:AssumeRole (the role does not exist there, or does not trust
 * the hub). The call that needed the credentials reports it as its own failure.
 */
function auditRoleDenied(error: unknown): boolean {
  return errorCodeOf(error) === 'AccessDenied' && messageOf(error).includes('sts:AssumeRole');
}

/** The AWS error code of an adapter's error (`AwsCallError.code`), else the error's name. */
function errorCodeOf(error: unknown): string {
  if (error instanceof Error) return 'code' in error && typeof error.code === 'string' ? error.code : error.name;
  return 'Error';
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return `${error.name !== 'Error' ? `${error.name}: ` : ''}${error.message}`;
  return String(error);
}
