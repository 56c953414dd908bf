import { z } from 'zod';
import { SeveritySchema } from '#audit/model.js';
import { ThresholdsSchema } from '#audit/thresholds.js';

/** How one audit run behaves. Validated once, at the edge (CLI flags, Lambda environment, cdk.json context). */
export const AuditSettingsSchema = z.object({
  /** account × region pairs to audit */
  targets: z.array(z.object({ account: z.string().min(1), region: z.string().min(1) })).min(1),
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
  /** alerts: NEW and WORSENED findings at or above this severity (RESOLVED always) */
  alertMinSeverity: SeveritySchema.default('MEDIUM'),
  thresholds: ThresholdsSchema.default(ThresholdsSchema.parse({})),
});

export type AuditSettings = z.output<typeof AuditSettingsSchema>;
export type AuditSettingsInput = z.input<typeof AuditSettingsSchema>;
