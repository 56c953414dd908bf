import { z } from 'zod';
import { NodeReportSchema } from './node-report.js';

/** Severities, most severe first (the fixed `--json` output). */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO'] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;

/** Rank for comparisons: CRITICAL 4 … INFO 0. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.length - 1 - SEVERITIES.indexOf(severity);
}

/** Sort comparator: most severe first. With the stable Array.prototype.sort, equal severities keep their order. */
export function mostSevereFirst(a: { severity: Severity }, b: { severity: Severity }): number {
  return severityRank(b.severity) - severityRank(a.severity);
}

/** The most severe of a list (the first of equals); null for an empty list. */
export function worstSeverity(severities: Iterable<Severity>): Severity | null {
  let worst: Severity | null = null;
  for (const s of severities) if (worst === null || severityRank(s) > severityRank(worst)) worst = s;
  return worst;
}

export const FINDING_STATES = ['NEW', 'ONGOING', 'WORSENED', 'RESOLVED', 'UNKNOWN', 'SUPPRESSED'] as const;
export const FindingStateSchema = z.enum(FINDING_STATES);
export type FindingState = z.infer<typeof FindingStateSchema>;

/** The fixed rule ids (docs/rules.md). */
export const RULE_IDS = [
  'KP-IPTABLES-SCALE',
  'XT-LOCK-CONTENTION',
  'IPT-SLOW-SYNC',
  'KP-SYNC-FAILING',
  'CNI-RESTARTS',
  'CNI-API-DEPENDENCY',
  'IPT-MIXED-BACKEND',
  'ADDON-VERSION-RISK',
  'SCALE-GROWTH',
  'AUDIT-COVERAGE',
  'AUDIT-FAILED',
] as const;
export const RuleIdSchema = z.enum(RULE_IDS);
export type RuleId = z.infer<typeof RuleIdSchema>;

/** Where a cluster lives. `account`/`region` are null for ad-hoc scoring of files. */
export const ClusterRefSchema = z.object({
  account: z.string().nullable(),
  region: z.string().nullable(),
  name: z.string(),
});
export type ClusterRef = z.infer<typeof ClusterRefSchema>;

/** An EKS add-on as DescribeAddon reports it. */
export const AddonSchema = z.object({
  name: z.string(),
  version: z.string().nullable(),
  /** The add-on's `configurationValues` (JSON or YAML), parsed; null when unset or unreadable. */
  configuration: z.record(z.string(), z.unknown()).nullable(),
  status: z.string().nullable(),
  /** `configurationValues` as EKS returned them, so a remediation can merge into the user's own text */
  configurationValues: z.string().nullable().default(null),
  /** why `configurationValues` could not be read (one line); null when they could, or are unset */
  configurationProblem: z.string().nullable().default(null),
});
export type Addon = z.infer<typeof AddonSchema>;

/** How the audit reached one node. */
export const NodeReachSchema = z.enum([
  /** the collector ran and its report parsed */
  'REACHED',
  /** SSM could not reach it: no agent, offline, unsupported platform (Fargate, Windows, Bottlerocket) */
  'UNREACHABLE',
  /** a command was sent but failed, timed out, or its output was not a valid report */
  'FAILED',
]);
export type NodeReach = z.infer<typeof NodeReachSchema>;

export const NodeObservationSchema = z.object({
  instanceId: z.string(),
  nodegroup: z.string().nullable(),
  reach: NodeReachSchema,
  /** why a node is UNREACHABLE or FAILED, one line */
  reason: z.string().nullable(),
  report: NodeReportSchema.nullable(),
});
export type NodeObservation = z.infer<typeof NodeObservationSchema>;

/** Counts from the cluster's CloudWatch Logs Insights query; null when no query ran or it failed. */
export const LogSignalsSchema = z.object({
  logGroup: z.string(),
  windowHours: z.number().nonnegative(),
  kubeProxyLockErrors: z.number().int().nonnegative(),
  kubeProxyRestoreFailures: z.number().int().nonnegative(),
  kubeProxySlowRestores: z.number().int().nonnegative(),
  ipamdApiUnreachable: z.number().int().nonnegative(),
  /**
   * kubelet's liveness-probe kills of aws-node, from kubelet's journal; null when the query did not read it (a
   * filterIndex query selects the kube-proxy and aws-node container records only, lambda/audit/log-query.ts)
   */
  awsNodeProbeFailures: z.number().int().nonnegative().nullable(),
});
export type LogSignals = z.infer<typeof LogSignalsSchema>;

/** What an earlier run saw of this cluster, for trends and "rising" counters. */
export const HistoryPointSchema = z.object({
  runId: z.string(),
  at: z.string(),
  /** p50 of KUBE-SVC chains over iptables-mode nodes; null when unknown */
  serviceCount: z.number().nullable(),
  /** sum over reached nodes of kube-proxy's restore-failure counter; null when unknown */
  restoreFailures: z.number().nullable(),
});
export type HistoryPoint = z.infer<typeof HistoryPointSchema>;

/** Everything the rules may look at for one cluster. Built by `assess`, read by pure rules. */
export const ClusterEvidenceSchema = z.object({
  cluster: ClusterRefSchema,
  kubernetesVersion: z.string().nullable(),
  /** the API server endpoint (for CLUSTER_ENDPOINT advice); null when unknown */
  endpoint: z.string().nullable(),
  addons: z.object({ vpcCni: AddonSchema.nullable(), kubeProxy: AddonSchema.nullable() }),
  /** nodes the audit expected to see: every running EC2 instance of the cluster */
  nodes: z.array(NodeObservationSchema),
  logs: LogSignalsSchema.nullable(),
  /** earlier runs, oldest first */
  history: z.array(HistoryPointSchema),
  /** set when the cluster could not be discovered or audited at all */
  auditError: z.string().nullable(),
  /** when the evidence was gathered (ISO 8601) */
  observedAt: z.string(),
});
export type ClusterEvidence = z.infer<typeof ClusterEvidenceSchema>;

export const EvidenceSchema = z.object({
  /** one or two sentences with the numbers that made the rule fire */
  summary: z.string(),
  /** the measured values the rule judged, by name */
  values: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  /** affected nodes, up to ten named */
  nodes: z.array(z.string()),
  /** how many more nodes are affected beyond those named */
  moreNodes: z.number().int().nonnegative(),
});
export type Evidence = z.infer<typeof EvidenceSchema>;

export const RemediationSchema = z.object({
  /** what to change, in a sentence or two */
  summary: z.string(),
  /** the exact EKS add-on configurationValues to apply, when one applies */
  configurationValues: z.record(z.string(), z.unknown()).nullable(),
  /** a command to run, when one applies */
  command: z.string().nullable(),
  links: z.array(z.string()),
});
export type Remediation = z.infer<typeof RemediationSchema>;

/**
 * Where a rule's evidence comes from: the collector's node reports, the cluster's CloudWatch Logs Insights query,
 * the EKS add-on descriptions, and earlier runs of the same cluster.
 */
export const EVIDENCE_SOURCES = ['nodes', 'logs', 'addons', 'history'] as const;
export const EvidenceSourceSchema = z.enum(EVIDENCE_SOURCES);
export type EvidenceSource = z.infer<typeof EvidenceSourceSchema>;

export const FindingSchema = z.object({
  ruleId: RuleIdSchema,
  severity: SeveritySchema,
  title: z.string(),
  state: FindingStateSchema,
  evidence: EvidenceSchema,
  remediation: RemediationSchema,
  /** stable identity across runs: account/region/cluster/rule */
  fingerprint: z.string(),
  /** the sources the rule reads: all of them must be present in a run for the finding to be RESOLVED */
  sources: z.array(EvidenceSourceSchema).optional(),
  /** why the finding is UNKNOWN: the source that failed, was missing or partial, or why the rule was not evaluated */
  stateReason: z.string().optional(),
});
export type Finding = z.infer<typeof FindingSchema>;

export const NodeCoverageSchema = z.object({
  expected: z.number().int().nonnegative(),
  reached: z.number().int().nonnegative(),
  unreachable: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
export type NodeCoverage = z.infer<typeof NodeCoverageSchema>;

/** How complete a cluster's audit was — not how healthy the cluster is. */
export const AuditStatusSchema = z.enum(['COMPLETE', 'PARTIAL', 'FAILED']);
export type AuditStatus = z.infer<typeof AuditStatusSchema>;

export const NotEvaluatedSchema = z.object({ ruleId: RuleIdSchema, reason: z.string() });
export type NotEvaluated = z.infer<typeof NotEvaluatedSchema>;

/**
 * The thresholds a cluster was judged with, as the report's charts draw them: stored with the run, so a run is drawn
 * against its own thresholds, not whatever is configured when it is read. Not strict: a later version may add some.
 */
export const ChartLimitsSchema = z.object({
  servicesMedium: z.number(),
  servicesHigh: z.number(),
  saveMsMedium: z.number(),
  saveMsHigh: z.number(),
  saveMsNftMedium: z.number(),
  saveMsNftHigh: z.number(),
  syncP99SecondsMedium: z.number(),
  syncP99SecondsHigh: z.number(),
  lockWaitedShareHigh: z.number(),
  uncoveredShareMedium: z.number(),
  growthMinSnapshots: z.number(),
  growthHorizonDays: z.number(),
});
export type ChartLimits = z.infer<typeof ChartLimitsSchema>;

/**
 * What the HTML report's charts need of a cluster beyond its findings, each bounded whatever the cluster's size
 * (no per-node list): the aggregates the rules judged, the nodes counted per sync-p99 bucket and per lock-wait
 * decile, and the Service counts of the stored runs. Absent in results of versions before the charts.
 */
export const ClusterMeasuresSchema = z.object({
  /** the rules' Service count (p50 of KUBE-SVC chains on iptables-mode nodes); null when no node reports one */
  services: z.number().nullable(),
  /** p95 of iptables.saveMs over the nodes whose save was iptables-legacy's, and over the iptables-nft ones */
  saveMsP95: z.object({ legacy: z.number().nullable(), nft: z.number().nullable() }),
  /**
   * reached nodes counted by the lower bound of their sync p99's bucket (kube-proxy's buckets, 0.001 × 2^k s; 0 for
   * the first), ascending; `unknown` counts reached nodes without a sync p99
   */
  syncP99: z.object({
    buckets: z.array(z.object({ atLeastSeconds: z.number(), nodes: z.number().int().nonnegative() })),
    unknown: z.number().int().nonnegative(),
  }),
  /**
   * reached nodes by their share of lock samples with a writer queued (waited / samples): `none` waited in no
   * sample, `deciles[i]` in a share in [i/10, (i+1)/10) (the first from just above 0, the last up to 1 inclusive);
   * `notApplicable` are nodes where no iptables-legacy writer can exist (no xtables lock), `unknown` nodes without
   * lock samples
   */
  lockWaits: z.object({
    none: z.number().int().nonnegative(),
    deciles: z.array(z.number().int().nonnegative()).length(10),
    notApplicable: z.number().int().nonnegative(),
    unknown: z.number().int().nonnegative(),
  }),
  /** the Service count of earlier runs (one a day, oldest first) and of this one (the last) */
  serviceHistory: z.array(z.object({ at: z.string(), services: z.number() })),
  limits: ChartLimitsSchema,
});
export type ClusterMeasures = z.infer<typeof ClusterMeasuresSchema>;

/** One cluster in `run --json` / `score --json` (the fixed `--json` output). */
export const ClusterResultSchema = z.object({
  account: z.string().nullable(),
  region: z.string().nullable(),
  name: z.string(),
  status: AuditStatusSchema,
  /** 0–100, 100 healthy; null when the cluster could not be audited at all */
  score: z.number().int().min(0).max(100).nullable(),
  nodes: NodeCoverageSchema,
  findings: z.array(FindingSchema),
  notEvaluated: z.array(NotEvaluatedSchema),
  /** what the HTML report's charts draw; absent in results of earlier versions and of `score` */
  measures: ClusterMeasuresSchema.optional(),
});
export type ClusterResult = z.infer<typeof ClusterResultSchema>;

export const RunResultSchema = z.object({
  runId: z.string(),
  status: AuditStatusSchema,
  startedAt: z.string(),
  finishedAt: z.string(),
  clusters: z.array(ClusterResultSchema),
});
export type RunResult = z.infer<typeof RunResultSchema>;

/** The fingerprint of a cluster's finding for a rule: stable across runs. */
export function fingerprintOf(cluster: ClusterRef, ruleId: RuleId): string {
  return [cluster.account ?? '-', cluster.region ?? '-', cluster.name, ruleId].join('/');
}
