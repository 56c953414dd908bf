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

const ConfigSchema = z
  .object({
    /** Where the hub stack is deployed. @default CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION (env-agnostic when unset) */
    hub: z.object({ account: account.optional(), region: region.optional() }).strict().default({}),
    /** Accounts and their regions to audit. @default the hub's own account and region */
    targets: z
      .array(z.object({ account, regions: z.array(region).min(1) }).strict())
      .min(1)
      .optional(),
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
    /** Clusters audited at once: the state machine's Map MaxConcurrency. */
    clusterConcurrency: z.number().int().min(1).max(40).default(8),
    /** The Wait between two polls of a cluster's collector commands and log query. */
    pollIntervalSeconds: z.number().int().min(5).max(300).default(30),
    /** How long one cluster may take from discovery to assessment; then it is assessed with what has arrived. */
    clusterDeadlineSeconds: z.number().int().min(60).max(3600).default(600),
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

/** The validated configuration, defaults applied. */
export type FleetAuditConfig = z.output<typeof ConfigSchema>;

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
}

/**
 * Validates the `fleetAudit` context value and resolves the hub and the targets.
 * Throws {@link ConfigError} with one line such as `fleetAudit.schedule.timeZone: must be an IANA time zone …`.
 */
export function resolveConfig(context: unknown, options: ResolveOptions): ResolvedConfig {
  const raw = typeof context === 'string' ? parseJson(context) : (context ?? {});
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = [CONTEXT_KEY, ...(issue?.path ?? []).map(String)];
    // A misspelt key names itself rather than its parent object.
    const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const field = (unknownKey ? [...path, unknownKey] : path).join('.');
    const problem = unknownKey ? 'is not a known setting' : (issue?.message ?? 'is not valid');
    throw new ConfigError(`${field}: ${problem} (cdk.json context "${CONTEXT_KEY}")`);
  }
  const config = parsed.data;
  const hubAccount = config.hub.account ?? nonEmpty(options.defaultAccount);
  const hubRegion = config.hub.region ?? nonEmpty(options.defaultRegion);
  if (config.targets && (!hubAccount || !hubRegion)) {
    throw new ConfigError(
      `${CONTEXT_KEY}.hub: account and region are required when ${CONTEXT_KEY}.targets is set (or set CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION, e.g. with --profile)`,
    );
  }
  const auditTargets = config.targets
    ? dedupe(config.targets.flatMap((t) => t.regions.map((r) => ({ account: t.account, region: r }))))
    : [{ account: hubAccount ?? options.accountToken, region: hubRegion ?? options.regionToken }];
  return { ...config, hubAccount, hubRegion, auditTargets };
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

/** `FleetAuditHub-plan`, …: the fixed role names of the hub functions that reach into audited accounts. */
export function hubRoleName(prefix: string, suffix: (typeof HUB_ROLE_SUFFIXES)[number]): string {
  return `${prefix}-${suffix}`;
}
