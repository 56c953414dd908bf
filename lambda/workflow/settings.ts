import { z } from 'zod';
import { SeveritySchema } from '#audit/model.js';
import { ThresholdsSchema } from '#audit/thresholds.js';

/** The organization form of the targets: its ACTIVE accounts in `regions`, read through `readerRoleArn`. */
export const OrganizationTargetsSchema = z.object({
  /**
   * The role the plan step assumes to list the accounts: in the management account or a delegated administrator
   * (ListAccounts, ListAccountsForParent and ListOrganizationalUnitsForParent "can only be called from the
   * management account or a member account that is a delegated administrator", Organizations API Reference).
   * Unset: the caller's own credentials list them (`fleet-audit run --organization` from one of those accounts);
   * the deployed stacks always set it.
   */
  readerRoleArn: z
    .string()
    .regex(/^arn:[\w-]+:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN')
    .optional(),
  regions: z.array(z.string().min(1)).min(1),
  /** only the accounts in these OUs and the OUs nested in them (empty: every account of the organization) */
  organizationalUnits: z.array(z.string().regex(/^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/)).default([]),
  /** accounts never audited */
  excludeAccounts: z.array(z.string().regex(/^\d{12}$/)).default([]),
});
export type OrganizationTargets = z.output<typeof OrganizationTargetsSchema>;

/** How one audit run behaves. Validated once, at the edge (CLI flags, Lambda environment, cdk.json context). */
export const AuditSettingsSchema = z
  .object({
    /** account × region pairs to audit (with `organization`, more are added from the organization's accounts) */
    targets: z.array(z.object({ account: z.string().min(1), region: z.string().min(1) })).default([]),
    /** audit the organization's ACTIVE accounts (lambda/aws/organization.ts), listed by the plan step every run */
    organization: OrganizationTargetsSchema.optional(),
    /** only these cluster names (empty: all) */
    clusters: z.array(z.string()).default([]),
    /** the SSM document that runs collector/collect.sh */
    documentName: z.string().default('FleetAudit-Collector'),
    /**
     * SendCommand's `TimeoutSeconds`: how long SSM may take to deliver the collector to a node before the node's
     * invocation is DeliveryTimedOut. It is not the execution limit: the collector document's own `timeoutSeconds`
     * (collector/ssm-document.ts, 60 s) stops the script. SendCommand reference: "If this time is reached and the
     * command hasn't already started running, it won't run"; Run Command's "Understanding command timeout values":
     * a node that never receives the command is DeliveryTimedOut after this plus the document's time-out
     * (awsdocs/aws-systems-manager-user-guide doc_source/monitor-commands.md).
     *
     * 120 s by default: a node that was Online a moment ago picks a command up within seconds, so one still waiting
     * after two minutes is as good as offline; and delivery plus execution (120 + 60 s) stays well inside the
     * cluster's deadline (600 s), so every invocation has a final status when the cluster is assessed.
     */
    deliveryTimeoutSeconds: z.number().int().min(30).max(540).default(120),
    /** SSM MaxConcurrency / MaxErrors for each SendCommand */
    maxConcurrency: z.string().default('50'),
    maxErrors: z.string().default('100%'),
    /** wait between polls, and how long a cluster may take from discovery to assessment */
    pollIntervalSeconds: z.number().positive().default(15),
    clusterDeadlineSeconds: z.number().positive().default(600),
    /** clusters audited at once (the state machine's Map MaxConcurrency) */
    clusterConcurrency: z.number().int().min(1).max(40).default(8),
    /** Logs Insights: the window and the log group (`{cluster}` is replaced by the cluster name) */
    logWindowHours: z
      .number()
      .positive()
      .max(24 * 14)
      .default(24),
    logGroupPattern: z.string().default('/aws/containerinsights/{cluster}/dataplane'),
    /**
     * Logs Insights queries this audit runs at once in one account and region, over every run and cluster in
     * flight (a budget held in the table, lambda/aws/slots.ts): the account's quota is 100 concurrent queries, the
     * team's dashboards and other queries included (StartQuery API reference). A cluster whose query finds the budget
     * (or the quota) in use starts it at a later poll; one that cannot start it before its deadline is audited
     * without its log signals, with a line saying so.
     */
    logsInsightsBudget: z.number().int().min(1).max(100).default(50),
    /** alerts: NEW and WORSENED findings at or above this severity (RESOLVED always) */
    alertMinSeverity: SeveritySchema.default('MEDIUM'),
    /**
     * The report step imports the run's findings into Security Hub in each audited account and region, through
     * that account's audit role (BatchImportFindings must come from the finding's own account).
     */
    securityHubImport: z.boolean().default(false),
    thresholds: ThresholdsSchema.default(ThresholdsSchema.parse({})),
  })
  .refine((settings) => settings.targets.length > 0 || settings.organization !== undefined, {
    message: 'name at least one target, or an organization',
    path: ['targets'],
  });

export type AuditSettings = z.output<typeof AuditSettingsSchema>;
export type AuditSettingsInput = z.input<typeof AuditSettingsSchema>;
