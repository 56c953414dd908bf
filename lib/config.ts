import { z } from 'zod';
import { COLLECTOR_DOCUMENT_NAME } from '../collector/ssm-document.js';

/**
 * The deployment's configuration: the `fleetAudit` object of cdk.json context (or `-c fleetAudit='{…}'`),
 * validated once, with every secure and sensible default in this one place. lib/ never imports lambda/ code, so
 * what the Lambda functions validate again at cold start (thresholds) passes through here untouched.
 */

/** The severities of the rule catalogue (kept equal to lambda/audit/model.ts SEVERITIES by a test). */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'] as const;

/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** EventBridge Scheduler cron: six fields inside cron(…). */
const CRON = /^cron\((\S+\s){5}\S+\)$/;
/** An IAM role name (and name prefix): letters, digits and +=,.@_- , at most 64 characters. */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

const account = z.string().regex(ACCOUNT, 'must be a 12-digit AWS account id');
const region = z.string().regex(REGION, 'must be an AWS region such as eu-west-1');

/** Accounts and their regions, listed. */
const TargetListSchema = z.array(z.object({ account, regions: z.array(region).min(1) }).strict()).min(1);

/**
 * The organization form of `targets`: every ACTIVE account of an AWS organization (or of some OUs and the OUs nested
 * in them), minus `excludeAccounts`, in `regions`; listed by the plan step every run through a reader role in the
 * management account or a delegated administrator (Organizations' List operations can be called only from there).
 */
const OrganizationSchema = z
  .object({
    /** the organization id: its ARNs, and the aws:ResourceOrgID the hub's AssumeRole is limited to */
    id: z.string().regex(/^o-[a-z0-9]{10,32}$/, 'must be an organization id such as o-a1b2c3d4e5'),
    /** the management account: Organizations ARNs name it, whoever calls */
    managementAccount: account,
    /** where the reader role is: the management account or a delegated administrator. @default managementAccount */
    readerAccount: account.optional(),
    readerRoleName: z.string().regex(ROLE_NAME, 'must be an IAM role name').default('FleetAuditOrganizationReader'),
    regions: z.array(region).min(1),
    /** only these OUs and the OUs nested in them. @default every account of the organization */
    organizationalUnits: z
      .array(z.string().regex(/^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/, 'must be an OU id such as ou-ab12-cdef5678'))
      .default([]),
    /** accounts never audited (e.g. the management account, where StackSets deploys no member stack) */
    excludeAccounts: z.array(account).default([]),
  })
  .strict();

const configSchema = <T extends z.ZodType>(targets: T) =>
  z
    .object({
      /** Where the hub stack is deployed. @default CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION (env-agnostic when unset) */
      hub: z.object({ account: account.optional(), region: region.optional() }).strict().default({}),
      /**
       * Accounts and their regions to audit, or `{ organization: {…} }` (OrganizationSchema).
       * @default the hub's own account and region
       */
      targets: targets.optional(),
      /** When the nightly run starts: an EventBridge Scheduler cron expression in an IANA time zone. */
      schedule: z
        .object({
          cron: z.string().regex(CRON, 'must look like cron(0 2 * * ? *)').default('cron(0 2 * * ? *)'),
          timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').default('UTC'),
        })
        .strict()
        .default({ cron: 'cron(0 2 * * ? *)', timeZone: 'UTC' }),
      /** Subscribes this address to the alerts topic (it must confirm the subscription). @default no subscription */
      alertEmail: z.email('must be an e-mail address').optional(),
      /**
       * Posts the alerts topic to Slack: the name of a Secrets Manager secret (in the hub account and region) that
       * holds the incoming webhook URL, created by you. @default no Slack notifier
       */
      slackWebhookSecretName: z
        .string()
        .regex(/^[\w/+=.@-]{1,512}$/, 'must be a Secrets Manager secret name (letters, digits, / _ + = . @ -)')
        .optional(),
      /** NEW and WORSENED findings at or above this severity are alerted (RESOLVED always). */
      alertMinSeverity: z.enum(SEVERITIES).default('MEDIUM'),
      /**
       * The report step imports each night's findings into AWS Security Hub, in each finding's own account and region
       * through its audit role, which then may call securityhub:BatchImportFindings on that account's default
       * product (Security Hub must be enabled there). Member stacks must be deployed with the same setting: their
       * role then trusts the report function too. @default false
       */
      securityHubImport: z.boolean().default(false),
      /** Clusters audited at once: the state machine's Map MaxConcurrency. */
      clusterConcurrency: z.number().int().min(1).max(40).default(8),
      /**
       * The share of clusters (child executions of the Distributed Map) whose audit may fail beyond its own Catch
       * before the run fails (ToleratedFailurePercentage; see lib/constructs/audit-workflow.ts).
       */
      toleratedClusterFailurePercent: z.number().min(0).max(100).default(20),
      /** The Wait between two polls of a cluster's collector commands and log query. */
      pollIntervalSeconds: z.number().int().min(5).max(300).default(30),
      /** How long one cluster may take from discovery to assessment; then it is assessed with what has arrived. */
      clusterDeadlineSeconds: z.number().int().min(60).max(3600).default(600),
      /**
       * Logs Insights queries the audit runs at once in one account and region, over every cluster and run in
       * flight: the account's quota is 100 concurrent queries, dashboards included. @default 50
       */
      logsInsightsBudget: z.number().int().min(1).max(100).default(50),
      /** The Logs Insights window read for each cluster. */
      logWindowHours: z
        .number()
        .positive()
        .max(24 * 14)
        .default(24),
      /** The whole run's time-out (the state machine's TimeoutSeconds). */
      runTimeoutMinutes: z
        .number()
        .int()
        .min(15)
        .max(24 * 60)
        .default(360),
      /** Rule thresholds (lambda/audit/thresholds.ts); validated by the functions at cold start. @default {} */
      thresholds: z.record(z.string(), z.unknown()).default({}),
      /** How long run records and cluster snapshots are kept (DynamoDB TTL). */
      historyRetentionDays: z.number().int().min(1).max(3650).default(400),
      /** Retention of the functions' and the state machine's CloudWatch log groups. */
      logRetentionDays: z
        .number()
        .refine((days) => (LOG_RETENTION_DAYS as ReadonlyArray<number>).includes(days), {
          message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
        })
        .default(90),
      /** The read-only audit role in each audited account, assumed by the hub's functions. */
      memberRoleName: z.string().regex(ROLE_NAME, 'must be an IAM role name').default('FleetAuditReadOnly'),
      /** Prefix of the hub functions' role names, which the member roles trust. */
      hubRolePrefix: z
        .string()
        .regex(/^[\w+=,.@-]{1,40}$/, 'must be an IAM role name prefix of at most 40 characters')
        .default('FleetAuditHub'),
      /** The collector's SSM document name, the same in every audited account and region. */
      documentName: z
        .string()
        .regex(/^[a-zA-Z0-9_.-]{3,128}$/, 'must be an SSM document name (letters, digits, _ . -)')
        .refine((name) => !/^(aws|amazon|amzn)/i.test(name), 'must not start with aws, amazon or amzn')
        .default(COLLECTOR_DOCUMENT_NAME),
    })
    .strict();

const ListConfigSchema = configSchema(TargetListSchema);
const OrganizationConfigSchema = configSchema(z.object({ organization: OrganizationSchema }).strict());

/** The validated configuration, defaults applied. */
export type FleetAuditConfig = Omit<z.output<typeof ListConfigSchema>, 'targets'> & {
  targets?: z.output<typeof TargetListSchema> | { organization: z.output<typeof OrganizationSchema> };
};

/** The organization to audit, resolved: the reader role's account and ARN filled in. */
export interface OrganizationTargetConfig extends z.output<typeof OrganizationSchema> {
  readerAccount: string;
  readerRoleArn: string;
}

/** One account and region to audit. */
export interface AuditTargetConfig {
  account: string;
  region: string;
}

/** The resolved deployment: the configuration plus the hub environment and the flattened targets. */
export interface ResolvedConfig extends FleetAuditConfig {
  /** undefined: the hub stack is environment-agnostic (tokens) */
  hubAccount: string | undefined;
  hubRegion: string | undefined;
  /** every account × region to audit; `account`/`region` may be unresolved tokens only in the default case */
  auditTargets: AuditTargetConfig[];
  /** set when `targets` names an organization: its accounts are listed at run time (auditTargets is then empty) */
  organization: OrganizationTargetConfig | undefined;
}

/** A configuration problem: one line naming the context field and what to do. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const CONTEXT_KEY = 'fleetAudit';

export interface ResolveOptions {
  /** process.env's CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION, as the CDK CLI sets them */
  defaultAccount?: string | undefined;
  defaultRegion?: string | undefined;
  /** stands for the hub account/region when neither is known (the stack's AWS::AccountId / AWS::Region tokens) */
  accountToken: string;
  regionToken: string;
  /** the stack's AWS::Partition token, for the reader role's ARN; default `aws` */
  partitionToken?: string;
}

/**
 * Validates the `fleetAudit` context value and resolves the hub and the targets.
 * Throws {@link ConfigError} with one line such as `fleetAudit.schedule.timeZone: must be an IANA time zone …`.
 */
export function resolveConfig(context: unknown, options: ResolveOptions): ResolvedConfig {
  const raw = typeof context === 'string' ? parseJson(context) : (context ?? {});
  // A list of accounts, or an object naming an organization: each form is checked with its own schema, so an error
  // names the field of the form that was meant rather than zod's union of both.
  const targets = (raw as { targets?: unknown } | null)?.targets;
  const isOrganization =
    targets !== undefined && targets !== null && !Array.isArray(targets) && typeof targets === 'object';
  const parsed = (isOrganization ? OrganizationConfigSchema : ListConfigSchema).safeParse(raw);
  if (!parsed.success) {
    // a misspelt key is named first: it is why its correctly spelt neighbour is then reported missing
    const issue = parsed.error.issues.find((i) => i.code === 'unrecognized_keys') ?? parsed.error.issues[0];
    const path = [CONTEXT_KEY, ...(issue?.path ?? []).map(String)];
    // A misspelt key names itself rather than its parent object.
    const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const field = (unknownKey ? [...path, unknownKey] : path).join('.');
    const problem = unknownKey ? 'is not a known setting' : (issue?.message ?? 'is not valid');
    throw new ConfigError(`${field}: ${problem} (cdk.json context "${CONTEXT_KEY}")`);
  }
  const config = parsed.data as FleetAuditConfig;
  const hubAccount = config.hub.account ?? nonEmpty(options.defaultAccount);
  const hubRegion = config.hub.region ?? nonEmpty(options.defaultRegion);
  if (config.targets && (!hubAccount || !hubRegion)) {
    throw new ConfigError(
      `${CONTEXT_KEY}.hub: account and region are required when ${CONTEXT_KEY}.targets is set (or set CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION, e.g. with --profile)`,
    );
  }
  if (config.targets && !Array.isArray(config.targets)) {
    const org = config.targets.organization;
    const readerAccount = org.readerAccount ?? org.managementAccount;
    const organization: OrganizationTargetConfig = {
      ...org,
      readerAccount,
      readerRoleArn: `arn:${options.partitionToken ?? 'aws'}:iam::${readerAccount}:role/${org.readerRoleName}`,
    };
    return { ...config, hubAccount, hubRegion, auditTargets: [], organization };
  }
  const auditTargets = config.targets
    ? dedupe(config.targets.flatMap((t) => t.regions.map((r) => ({ account: t.account, region: r }))))
    : [{ account: hubAccount ?? options.accountToken, region: hubRegion ?? options.regionToken }];
  return { ...config, hubAccount, hubRegion, auditTargets, organization: undefined };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(
      `${CONTEXT_KEY}: is not valid JSON (pass an object, e.g. -c ${CONTEXT_KEY}='{"alertEmail":"…"}')`,
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value && value.length > 0 ? value : undefined;
}

function dedupe(targets: AuditTargetConfig[]): AuditTargetConfig[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const key = `${t.account}/${t.region}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The hub functions that assume the member audit role, and so the role names the member roles trust. */
export const HUB_ROLE_SUFFIXES = ['plan', 'discover', 'poll', 'assess'] as const;

/** A hub function with a fixed role name: those that assume the audit role, the report step with securityHubImport. */
export type HubRoleStep = (typeof HUB_ROLE_SUFFIXES)[number] | 'report';

/** The hub functions that assume the audit role with this configuration. */
export function hubRoleSteps(config: Pick<FleetAuditConfig, 'securityHubImport'>): HubRoleStep[] {
  return config.securityHubImport ? [...HUB_ROLE_SUFFIXES, 'report'] : [...HUB_ROLE_SUFFIXES];
}

/** `FleetAuditHub-plan`, …: the fixed role names of the hub functions that reach into audited accounts. */
export function hubRoleName(prefix: string, suffix: HubRoleStep): string {
  return `${prefix}-${suffix}`;
}

/** The role names the member audit roles trust. */
export function trustedHubRoleNames(config: Pick<FleetAuditConfig, 'securityHubImport' | 'hubRolePrefix'>): string[] {
  return hubRoleSteps(config).map((step) => hubRoleName(config.hubRolePrefix, step));
}
