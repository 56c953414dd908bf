import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { RuleIdSchema } from '#audit/model.js';
import { checkNodes } from './nodes.js';
import { resolveExtends, ScenarioPatchError } from './scenario-extends.js';
import { FAULT_SERVICES } from './services.js';

/**
 * A simulated fleet, as a JSON scenario file: accounts → regions → clusters with their node groups, add-ons, nodes
 * (compact node groups expanded into instances, see sim/nodes.ts), log events and injected faults.
 * `sim/scenarios/<name>.json` holds the built-in ones; `default` is what `fleet-audit run --local` audits.
 */

const AccountIdSchema = z.string().regex(/^\d{12}$/, 'expected a 12-digit account id');
const RegionNameSchema = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'expected a region name like eu-west-1');
const ClusterNameSchema = z
  .string()
  .regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, 'expected an EKS cluster name (letters, digits, - and _)');
const ApiSchema = z
  .string()
  .regex(
    new RegExp(`^(\\*|(${FAULT_SERVICES.join('|')}):(\\*|[A-Z][A-Za-z]+))$`),
    `expected "<service>:<Action>", "<service>:*" or "*" (services: ${FAULT_SERVICES.join(', ')})`,
  );

/** A partial collector report (NodeReportInput); checked against the collector schema after merging. */
export const ReportTemplateSchema = z.record(z.string(), z.unknown());
export type ReportTemplate = z.infer<typeof ReportTemplateSchema>;

/**
 * Collector output that reaches the auditor through SSM (Success, exit 0) but is not a valid report: `wrongTypes`
 * (the report with strings where numbers belong), `oversized` (a report of more than the collector's 2,400 bytes,
 * which ListCommandInvocations then cuts at 2,500 characters), `notJson` (a shell error line instead of the object)
 * and `duplicateId` (the report names the instance id of the group's first node, as a cloned AMI's cached IMDS
 * answer would). The report in the scenario stays valid; the fault spoils it on delivery.
 */
export const MALFORMED_OUTPUT_FAULTS = ['wrongTypes', 'oversized', 'notJson', 'duplicateId'] as const;

/**
 * `terminated`: the node is running and Online at discovery (DescribeInstances, DescribeInstanceInformation) but
 * terminated before SendCommand, as Karpenter does all night: SendCommand naming it fails with InvalidInstanceId.
 */
export const NODE_FAULTS = [
  'timeout',
  'failed',
  'truncated',
  'undeliverable',
  'terminated',
  ...MALFORMED_OUTPUT_FAULTS,
] as const;

/**
 * `count` nodes alike, expanded to instances with stable ids (see sim/nodes.ts). The report is the cluster's
 * `report` deep-merged with this `report`, then `overrides[<index>]` for single nodes, then `vary` (each listed
 * numeric field scaled by a seeded factor in [1 − f, 1 + f]).
 */
export const NodeGroupSchema = z.strictObject({
  /** EKS managed node group (declared in the cluster's `nodegroups`), Karpenter node pool, or a free name */
  nodegroup: z.string().min(1),
  provisioner: z.enum(['managed', 'karpenter', 'self-managed']).default('managed'),
  count: z.number().int().min(1).max(5000),
  /** instance ids become `i-<idPrefix><index in hex>` (17 hex digits); default: a hash of the node's place */
  idPrefix: z
    .string()
    .regex(/^[0-9a-f]{1,12}$/, 'expected 1 to 12 lowercase hex digits')
    .optional(),
  /** online: a managed instance, Online; offline: managed but ConnectionLost; none: no SSM agent registered */
  ssm: z.enum(['online', 'offline', 'none']).default('online'),
  platform: z.enum(['linux', 'windows']).default('linux'),
  /** SSM PlatformName; default from the platform and the report's node.os */
  platformName: z.string().min(1).optional(),
  instanceType: z.string().min(1).default('m5.large'),
  report: ReportTemplateSchema.default({}),
  overrides: z.record(z.string().regex(/^\d+$/, 'expected a node index'), ReportTemplateSchema).default({}),
  vary: z.record(z.string(), z.number().min(0).max(1)).default({}),
  /** what goes wrong with the collector on these nodes */
  fault: z.enum(NODE_FAULTS).optional(),
  /** simulated time the collector takes on these nodes (default: the scenario's timing.commandMs range) */
  commandMs: z.number().positive().optional(),
});
export type NodeGroup = z.infer<typeof NodeGroupSchema>;

export const NodegroupDeclSchema = z.strictObject({
  name: z.string().min(1),
  amiType: z.string().min(1),
  releaseVersion: z.string().min(1).optional(),
});

export const AddonDeclSchema = z.strictObject({
  name: z.string().min(1),
  version: z.string().min(1),
  /** an object is sent as JSON text; a string is sent as written (YAML, or values EKS would not accept) */
  configurationValues: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
  status: z.string().min(1).default('ACTIVE'),
});

export const LogEventSchema = z.strictObject({
  /** how long before the simulator started the (newest) event was logged */
  ageMinutes: z.number().nonnegative(),
  /** @message, as Logs Insights sees it */
  message: z.string().min(1),
  /** @logStream */
  stream: z.string().min(1),
  /** this many events, each `everyMinutes` older than the one before */
  repeat: z.number().int().min(1).max(100_000).default(1),
  everyMinutes: z.number().positive().default(1),
});
export type LogEvent = z.infer<typeof LogEventSchema>;

/**
 * A custom field index of the log group (a field index policy's field, CloudWatchLogs-Field-Indexing.html), e.g.
 * `kubernetes.container_name` where the cluster's Fluent Bit adds Kubernetes metadata to the dataplane records.
 * The default indexes (`@logStream`) need no declaration.
 */
export const FieldIndexDeclSchema = z.strictObject({
  field: z.string().min(1).max(100),
  /** how long before the simulator started the index policy was created; events older than that are not indexed */
  createdMinutesAgo: z
    .number()
    .nonnegative()
    .default(30 * 24 * 60),
});

export const LogGroupSchema = z.strictObject({
  /** default: /aws/containerinsights/<cluster>/dataplane */
  name: z.string().min(1).optional(),
  events: z.array(LogEventSchema).default([]),
  fieldIndexes: z.array(FieldIndexDeclSchema).default([]),
  /** `denied`: the audit role may not call DescribeFieldIndexes here (a member stack older than that grant) */
  fieldIndexAccess: z.enum(['allowed', 'denied']).default('allowed'),
  /** how a query on this group ends */
  queryOutcome: z.enum(['Complete', 'Failed', 'Timeout', 'Cancelled']).default('Complete'),
});

export const ClusterSchema = z.strictObject({
  name: ClusterNameSchema,
  /** Kubernetes version, e.g. "1.31" */
  version: z.string().regex(/^\d+\.\d+$/, 'expected a Kubernetes version like 1.31'),
  /** API server URL; default: a generated https://<id>.gr7.<region>.eks.amazonaws.com */
  endpoint: z.url().optional(),
  status: z.enum(['ACTIVE', 'CREATING', 'DELETING', 'FAILED', 'UPDATING', 'PENDING']).default('ACTIVE'),
  platformVersion: z.string().min(1).default('eks.1'),
  serviceIpv4Cidr: z.string().min(1).default('10.100.0.0/16'),
  nodegroups: z.array(NodegroupDeclSchema).default([]),
  addons: z.array(AddonDeclSchema).default([]),
  /** the report every node of the cluster starts from */
  report: ReportTemplateSchema.default({}),
  nodes: z.array(NodeGroupSchema).default([]),
  /** the Container Insights data-plane log group; absent: the cluster has none */
  logGroup: LogGroupSchema.optional(),
  /**
   * Earlier audits as if they had run: local mode stores them before the first run of an empty state folder, so
   * history-based rules (SCALE-GROWTH) have something to judge.
   */
  history: z
    .array(
      z.strictObject({
        daysAgo: z.number().positive(),
        /** the Service count that run saw (p50 of KUBE-SVC chains over iptables-mode nodes) */
        serviceCount: z.number().int().nonnegative(),
      }),
    )
    .default([]),
});
export type Cluster = z.infer<typeof ClusterSchema>;

export const RegionSchema = z.strictObject({
  name: RegionNameSchema,
  clusters: z.array(ClusterSchema).default([]),
  /** SNS topic names that exist in this account and region */
  topics: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'expected an SNS topic name')).default([]),
  /** Secrets Manager secrets that exist in this account and region: name → SecretString */
  secrets: z
    .record(z.string().regex(/^[\w/+=.@-]{1,512}$/, 'expected a Secrets Manager secret name'), z.string())
    .default({}),
  /**
   * Logs Insights queries other users keep running here all the time (dashboards): they hold slots of the account's
   * concurrent-query quota (sim/fleet.ts INSIGHTS_CONCURRENT_QUERIES), so StartQuery beyond it gets
   * LimitExceededException
   */
  insightsQueriesInUse: z.number().int().min(0).max(100).default(0),
});
export type Region = z.infer<typeof RegionSchema>;

export const AccountSchema = z.strictObject({
  id: AccountIdSchema,
  /** a label for people; not used by the APIs */
  alias: z.string().optional(),
  regions: z.array(RegionSchema).min(1),
  /** the IAM roles STS AssumeRole may take in this account (the audit role the member stack deploys) */
  roles: z.array(z.string().min(1)).default(['FleetAuditReadOnly']),
});
export type Account = z.infer<typeof AccountSchema>;

/** Organizations' id formats (the `Id` patterns of the Organizations API reference). */
const OU_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const ROOT_ID = /^r-[0-9a-z]{4,32}$/;

/**
 * An AWS organization the simulator serves with the Organizations API. Its members need not be accounts of the
 * scenario: a member that is not (or that lacks the audit role) is one whose audit role cannot be assumed.
 */
export const OrganizationSchema = z
  .strictObject({
    id: z.string().regex(/^o-[a-z0-9]{10,32}$/, 'expected an organization id such as o-a1b2c3d4e5'),
    /** the only account, with the delegated administrators, that may call the Organizations API */
    managementAccount: AccountIdSchema,
    delegatedAdministrators: z.array(AccountIdSchema).default([]),
    /** roles STS may assume in the management account (the reader role the plan step uses) */
    managementRoles: z.array(z.string().min(1)).default(['FleetAuditOrganizationReader']),
    rootId: z.string().regex(ROOT_ID, 'expected a root id such as r-ab12'),
    units: z
      .array(
        z.strictObject({
          id: z.string().regex(OU_ID, 'expected an OU id such as ou-ab12-cdef5678'),
          name: z.string().min(1),
          /** the root or another OU */
          parent: z.string().min(1),
        }),
      )
      .default([]),
    members: z
      .array(
        z.strictObject({
          id: AccountIdSchema,
          name: z.string().min(1),
          state: z.enum(['ACTIVE', 'SUSPENDED', 'PENDING_CLOSURE', 'PENDING_ACTIVATION', 'CLOSED']).default('ACTIVE'),
          parent: z.string().min(1),
        }),
      )
      .min(1),
    /** every list answers an empty first page with a NextToken, as the API reference says it may */
    emptyFirstPages: z.boolean().default(false),
  })
  .superRefine((org, ctx) => {
    const parents = new Set([org.rootId, ...org.units.map((u) => u.id)]);
    for (const [kind, list] of [
      ['units', org.units],
      ['members', org.members],
    ] as const) {
      list.forEach((item, index) => {
        if (!parents.has(item.parent)) {
          ctx.addIssue({
            code: 'custom',
            path: [kind, index, 'parent'],
            message: `parent ${item.parent} is neither the root nor an OU of the organization`,
          });
        }
      });
    }
  });
export type Organization = z.infer<typeof OrganizationSchema>;

/** What a fault does; at least one is required. */
const FAULT_EFFECTS = [
  'throttle',
  'throttleFirst',
  'serverError',
  'serverErrorFirst',
  'reset',
  'resetFirst',
  'garbage',
  'garbageFirst',
  'latencyMs',
] as const;

/** What a dynamodb fault cannot name: the store's proxy has one table and injects throttling and server errors. */
const DYNAMODB_UNSUPPORTED = [
  'account',
  'region',
  'cluster',
  'reset',
  'resetFirst',
  'garbage',
  'garbageFirst',
  'latencyMs',
] as const;

/**
 * A fault injected on API calls: `api` is `<service>:<Action>` (`ssm:ListCommandInvocations`), `<service>:*` or
 * `*`, optionally only for one account, region or cluster (by name: the calls about that cluster, see
 * RegionFleet.clustersOfCall). Throttling, server errors, connection resets (`reset`: the socket is destroyed
 * halfway through the answer) and garbage bodies (`garbage`: 200 with an HTML page instead of the protocol's JSON or
 * XML) hit a share of calls (drawn from the seeded generator) or the first N matching calls (`…First`);
 * `latencyMs` delays every matching call (on the time scale). `dynamodb:<Operation>` faults are answered by the
 * store's proxy (sim/dynamo-faults.ts), which knows throttling and server errors only.
 */
export const FaultSchema = z
  .strictObject({
    api: ApiSchema,
    account: AccountIdSchema.optional(),
    region: RegionNameSchema.optional(),
    cluster: ClusterNameSchema.optional(),
    throttle: z.number().min(0).max(1).optional(),
    throttleFirst: z.number().int().min(1).optional(),
    serverError: z.number().min(0).max(1).optional(),
    serverErrorFirst: z.number().int().min(1).optional(),
    reset: z.number().min(0).max(1).optional(),
    resetFirst: z.number().int().min(1).optional(),
    garbage: z.number().min(0).max(1).optional(),
    garbageFirst: z.number().int().min(1).optional(),
    latencyMs: z.number().nonnegative().optional(),
  })
  .refine(
    (f) => FAULT_EFFECTS.some((effect) => f[effect] !== undefined),
    `a fault needs one of ${FAULT_EFFECTS.join(', ')}`,
  )
  .superRefine((f, ctx) => {
    if (!f.api.startsWith('dynamodb:')) return;
    for (const key of DYNAMODB_UNSUPPORTED) {
      if (f[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `not for dynamodb faults (the store's proxy injects throttle and serverError, on every table)`,
        });
      }
    }
  });
export type Fault = z.infer<typeof FaultSchema>;

const RangeSchema = z
  .strictObject({ min: z.number().nonnegative(), max: z.number().nonnegative() })
  .refine((r) => r.min <= r.max, { message: 'min is more than max', path: ['min'] });

/** Simulated durations in milliseconds; real time = simulated time × timeScale. */
export const TimingSchema = z.strictObject({
  /** from SendCommand until the collector's output is in (per node, drawn from this range) */
  commandMs: RangeSchema.default({ min: 1500, max: 4000 }),
  /** from SendCommand until an online node picks the command up (Pending → InProgress) */
  deliveryMs: z.number().nonnegative().default(300),
  /** from StartQuery until the query's outcome: GetQueryResults says Running until then */
  queryMs: z.number().nonnegative().default(1200),
});
export type Timing = z.infer<typeof TimingSchema>;

/**
 * The scenario's notion of now. `at` sets the simulated AWS's clock when the simulator starts (default: the real
 * time), from which it runs on in real time; `offsetDays` moves it by whole or partial days (a day-2 scenario of a
 * sequence run from one state folder); `skewSeconds` moves only the auditor's clock (deps.now: run ids, deadlines,
 * log query windows, what the store and the lifecycle see), ahead of AWS when positive, behind when negative.
 */
export const ClockSchema = z.strictObject({
  at: z.iso.datetime({ message: 'expected an ISO 8601 UTC time like 2026-11-01T02:00:00Z' }).optional(),
  offsetDays: z.number().min(-3650).max(3650).default(0),
  skewSeconds: z.number().min(-86_400).max(86_400).default(0),
});
export type ScenarioClock = z.infer<typeof ClockSchema>;

export const ScenarioSchema = z.strictObject({
  /** for editors; ignored */
  $schema: z.string().optional(),
  description: z.string().optional(),
  /** seeds every random choice: node ids, variations, probabilistic faults, command timings */
  seed: z.number().int().nonnegative().default(1),
  /** real time = simulated time × timeScale (0.01: a 2 s command completes in 20 ms) */
  timeScale: z.number().positive().default(1),
  timing: TimingSchema.default({ commandMs: { min: 1500, max: 4000 }, deliveryMs: 300, queryMs: 1200 }),
  faults: z.array(FaultSchema).default([]),
  clock: ClockSchema.default({ offsetDays: 0, skewSeconds: 0 }),
  /**
   * Answer at most this many items a page for an API (`"ssm:ListCommandInvocations": 20`), as AWS may return fewer
   * items than MaxResults with a NextToken; lets a test exercise pagination without thousands of resources.
   */
  maxPageSize: z.record(ApiSchema, z.number().int().min(1)).default({}),
  /**
   * Suppressions the local state holds for this fleet (stored at the start of a run unless one with the same id
   * is there): what a team would have added with `fleet-audit suppress add`. `expiresInDays` counts from the run.
   */
  suppressions: z
    .array(
      z.strictObject({
        account: z.union([AccountIdSchema, z.literal('*')]).default('*'),
        region: z.union([RegionNameSchema, z.literal('*')]).default('*'),
        cluster: z.union([ClusterNameSchema, z.literal('*')]).default('*'),
        ruleId: z.union([RuleIdSchema, z.literal('*')]),
        reason: z.string().min(1),
        owner: z.string().min(1),
        expiresInDays: z.number().positive().max(366),
      }),
    )
    .default([]),
  accounts: z.array(AccountSchema).min(1),
  organization: OrganizationSchema.optional(),
});
export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;

/** A scenario that cannot be used: one line naming the file and the field. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  /** the file (or name) the scenario came from */
  readonly source: string;
  /** dotted path of the offending field; null when the file as a whole is wrong */
  readonly field: string | null;
  readonly problem: string;

  constructor(source: string, field: string | null, problem: string, options?: { cause?: unknown }) {
    super(`scenario ${source}: ${field === null ? '' : `field ${field}: `}${problem}`, options);
    this.source = source;
    this.field = field;
    this.problem = problem;
  }
}

/** A problem found by the checks that run after the schema: a path inside the scenario and a message. */
export interface ScenarioProblem {
  path: ReadonlyArray<string | number>;
  message: string;
}

const SCENARIOS_DIR = fileURLToPath(new URL('./scenarios/', import.meta.url));

/** The built-in scenario names: the files in sim/scenarios. */
export function builtInScenarios(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}

/**
 * Loads a scenario: a built-in name (`default`, from sim/scenarios/<name>.json) or a path to a JSON file.
 * Throws {@link ScenarioError} with one line naming the file and the field when it is missing or invalid.
 */
export function loadScenario(nameOrPath: string): Scenario {
  const file = scenarioFile(nameOrPath);
  if (file === null) {
    const names = builtInScenarios().join(', ');
    throw new ScenarioError(nameOrPath, null, `not found (expected a built-in scenario: ${names}, or a JSON file)`);
  }
  const source = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ScenarioError(source, null, `cannot be read (${code})`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(source, null, `not JSON (${(error as Error).message})`, { cause: error });
  }
  try {
    json = resolveExtends(json, builtInJson);
  } catch (error) {
    if (error instanceof ScenarioPatchError) throw new ScenarioError(source, null, error.message, { cause: error });
    throw error;
  }
  return parseScenario(json, source);
}

/** A built-in scenario's JSON, for `extends`. */
function builtInJson(name: string): unknown {
  const file = /^[a-z0-9-]+$/.test(name) ? resolve(SCENARIOS_DIR, `${name}.json`) : null;
  if (!file || !existsSync(file)) {
    throw new ScenarioPatchError(`extends: no built-in scenario ${name} (there: ${builtInScenarios().join(', ')})`);
  }
  return JSON.parse(readFileSync(file, 'utf8'));
}

function scenarioFile(nameOrPath: string): string | null {
  if (/^[a-z0-9-]+$/.test(nameOrPath)) {
    const builtIn = resolve(SCENARIOS_DIR, `${nameOrPath}.json`);
    if (existsSync(builtIn)) return builtIn;
  }
  const file = resolve(nameOrPath);
  return existsSync(file) ? file : null;
}

/** Validates a scenario object; `source` names it in errors. */
export function parseScenario(json: unknown, source: string): Scenario {
  const parsed = ScenarioSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (!issue) throw new ScenarioError(source, null, 'invalid');
    const path = [...issue.path];
    // Name the unknown key itself rather than the object holding it.
    if (issue.code === 'unrecognized_keys' && issue.keys.length === 1 && issue.keys[0] !== undefined) {
      path.push(issue.keys[0]);
      throw new ScenarioError(source, fieldOf(path), 'unknown field');
    }
    throw new ScenarioError(source, path.length > 0 ? fieldOf(path) : null, issue.message);
  }
  const problem = checkScenario(parsed.data);
  if (problem) throw new ScenarioError(source, fieldOf(problem.path), problem.message);
  return parsed.data;
}

/** Cross-field checks the schema cannot express: unique names, declared node groups, valid node reports. */
function checkScenario(scenario: Scenario): ScenarioProblem | null {
  const accounts = new Map<string, number>();
  for (const [a, account] of scenario.accounts.entries()) {
    const first = accounts.get(account.id);
    if (first !== undefined) {
      return { path: ['accounts', a, 'id'], message: `duplicate account id "${account.id}" (also accounts.${first})` };
    }
    accounts.set(account.id, a);
    const regions = new Map<string, number>();
    for (const [r, region] of account.regions.entries()) {
      const base = ['accounts', a, 'regions', r];
      const firstRegion = regions.get(region.name);
      if (firstRegion !== undefined) {
        return { path: [...base, 'name'], message: `duplicate region "${region.name}" (also regions.${firstRegion})` };
      }
      regions.set(region.name, r);
      const problem =
        duplicate(
          region.clusters.map((c) => c.name),
          [...base, 'clusters'],
          'name',
          'cluster name',
        ) ?? duplicate(region.topics, [...base, 'topics'], null, 'topic');
      if (problem) return problem;
      for (const [c, cluster] of region.clusters.entries()) {
        const clusterPath = [...base, 'clusters', c];
        const clusterProblem =
          duplicate(
            cluster.nodegroups.map((n) => n.name),
            [...clusterPath, 'nodegroups'],
            'name',
            'node group',
          ) ??
          duplicate(
            cluster.addons.map((n) => n.name),
            [...clusterPath, 'addons'],
            'name',
            'add-on',
          );
        if (clusterProblem) return clusterProblem;
        const declared = new Set(cluster.nodegroups.map((n) => n.name));
        for (const [g, group] of cluster.nodes.entries()) {
          if (group.fault === 'duplicateId' && group.count < 2) {
            return {
              path: [...clusterPath, 'nodes', g, 'count'],
              message: 'fault "duplicateId" needs at least 2 nodes (the others answer with the first node\'s id)',
            };
          }
          if (group.provisioner === 'managed' && !declared.has(group.nodegroup)) {
            return {
              path: [...clusterPath, 'nodes', g, 'nodegroup'],
              message: `managed node group "${group.nodegroup}" is not declared in the cluster's nodegroups`,
            };
          }
        }
      }
    }
  }
  return checkFaultClusters(scenario) ?? checkNodes(scenario);
}

/** A fault naming a cluster must name one of the scenario (in its account and region, when it names them). */
function checkFaultClusters(scenario: Scenario): ScenarioProblem | null {
  for (const [f, fault] of scenario.faults.entries()) {
    if (fault.cluster === undefined) continue;
    if (fault.api.startsWith('sns:') || fault.api === 'eks:ListClusters') {
      return {
        path: ['faults', f, 'cluster'],
        message: `${fault.api} calls are about no cluster, so this fault would never fire; drop cluster`,
      };
    }
    const found = scenario.accounts.some(
      (account) =>
        (fault.account === undefined || fault.account === account.id) &&
        account.regions.some(
          (region) =>
            (fault.region === undefined || fault.region === region.name) &&
            region.clusters.some((cluster) => cluster.name === fault.cluster),
        ),
    );
    if (!found) {
      const where = [fault.account, fault.region].filter((part) => part !== undefined).join('/');
      return {
        path: ['faults', f, 'cluster'],
        message: `no cluster "${fault.cluster}"${where === '' ? '' : ` in ${where}`} in the scenario`,
      };
    }
  }
  return null;
}

function duplicate(
  names: ReadonlyArray<string>,
  path: ReadonlyArray<string | number>,
  key: string | null,
  what: string,
): ScenarioProblem | null {
  const seen = new Map<string, number>();
  for (const [i, name] of names.entries()) {
    const first = seen.get(name);
    if (first !== undefined) {
      const last = path[path.length - 1];
      return {
        path: key === null ? [...path, i] : [...path, i, key],
        message: `duplicate ${what} "${name}" (also ${String(last)}.${first})`,
      };
    }
    seen.set(name, i);
  }
  return null;
}

function fieldOf(path: ReadonlyArray<PropertyKey>): string {
  return path.map(String).join('.');
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
