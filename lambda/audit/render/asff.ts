import { createHash } from 'node:crypto';
import { z } from 'zod';
import { eksClusterArn, partitionOf } from '../arn.js';
import type { ClusterResult, Finding, FindingState, RuleId, RunResult, Severity } from '../model.js';
import { ruleById } from '../rules/catalogue.js';
import { truncate } from './escape.js';

/**
 * AWS Security Finding Format (ASFF) for Security Hub's BatchImportFindings (at most 100 findings a call).
 *
 * Decisions:
 * - Identity: `Id` is `eks-fleet-auditor/<fingerprint>` (account/region/cluster/rule). It names no run, so every
 *   nightly run updates the same Security Hub finding instead of adding one.
 * - Lifecycle: every finding is exported, RESOLVED ones too. Open states (NEW, ONGOING, WORSENED, UNKNOWN,
 *   SUPPRESSED) are `RecordState: ACTIVE`; RESOLVED is `RecordState: ARCHIVED` with `Compliance.Status: PASSED`
 *   and `Workflow.Status: RESOLVED`, so a finding fixed since the last import is archived rather than left active
 *   forever. Our lifecycle only resolves a finding whose rule was evaluated on every node it named, so archiving
 *   never follows from a failed collection: a finding whose evidence went missing is UNKNOWN, stays ACTIVE and
 *   has `Compliance.Status: NOT_AVAILABLE`. A finding that comes back is ACTIVE and FAILED again, which makes
 *   Security Hub reset its workflow to NEW.
 * - Workflow: BatchImportFindings sets `Workflow` only when it creates a finding (Security Hub ignores it on
 *   updates; it belongs to the people triaging). SUPPRESSED is therefore `Workflow.Status: SUPPRESSED` on creation;
 *   for a finding suppressed later, a Security Hub automation rule on ProductFields
 *   `eks-fleet-auditor/state = SUPPRESSED` keeps the two in step.
 * - Severity and Types are also given in `FindingProviderFields`, the fields a provider may update after creation
 *   (a WORSENED finding raises its severity there). INFO maps to INFORMATIONAL.
 * - Times: `CreatedAt` and `UpdatedAt` are `generatedAt` (default: the run's `finishedAt`). The run result does not
 *   carry when a finding was first seen. Security Hub keeps an update only when `UpdatedAt` is newer, so
 *   exporting the same run twice changes nothing.
 * - Accounts: with the default product ARN Security Hub accepts a finding only from the account in its
 *   `AwsAccountId`, so the import runs once per account, with `awsAccountId` set: then only that account's
 *   clusters are exported.
 * - Clusters without account or region (`fleet-audit score` output) are left out: a finding needs a real
 *   account and cluster ARN, and a placeholder would be rejected or would file the finding under the wrong account.
 */
export interface AsffOptions {
  /** @default `arn:<partition>:securityhub:<cluster region>:<cluster account>:product/<cluster account>/default` */
  productArn?: string;
  /** only clusters in this account (the account that calls BatchImportFindings); @default every account */
  awsAccountId?: string;
  /** ISO 8601 time for CreatedAt/UpdatedAt; @default the run's finishedAt */
  generatedAt?: string;
}

export const ASFF_SCHEMA_VERSION = '2018-10-08';
/** ProductFields keys start with this; `GeneratorId` and `Id` too. */
export const ASFF_PRODUCT = 'eks-fleet-auditor';

/** Our severities as ASFF labels. */
export const ASFF_SEVERITY: Readonly<Record<Severity, AsffSeverityLabel>> = {
  CRITICAL: 'CRITICAL',
  HIGH: 'HIGH',
  MEDIUM: 'MEDIUM',
  LOW: 'LOW',
  INFO: 'INFORMATIONAL',
};

const BEST_PRACTICES = 'Software and Configuration Checks/AWS Security Best Practices';
const RESOURCE_CONSUMPTION = 'Effects/Resource Consumption';

/**
 * ASFF finding types per rule (namespace/category/classifier). The data-plane rules are EKS networking best
 * practices; the rules about iptables scale and lock queueing also name their effect, resource consumption.
 * No rule claims `Effects/Denial of Service`, which Security Hub users read as an attack.
 */
export const ASFF_TYPES: Readonly<Record<RuleId, ReadonlyArray<string>>> = {
  'KP-IPTABLES-SCALE': [`${BEST_PRACTICES}/EKS Networking`, RESOURCE_CONSUMPTION],
  'XT-LOCK-CONTENTION': [`${BEST_PRACTICES}/EKS Networking`, RESOURCE_CONSUMPTION],
  'IPT-SLOW-SYNC': [`${BEST_PRACTICES}/EKS Networking`, RESOURCE_CONSUMPTION],
  'KP-SYNC-FAILING': [`${BEST_PRACTICES}/EKS Networking`],
  'CNI-RESTARTS': [`${BEST_PRACTICES}/EKS Networking`],
  'CNI-API-DEPENDENCY': [`${BEST_PRACTICES}/EKS Networking`],
  'IPT-MIXED-BACKEND': [`${BEST_PRACTICES}/EKS Networking`],
  'ADDON-VERSION-RISK': [`${BEST_PRACTICES}/EKS Add-on Versions`],
  'SCALE-GROWTH': [`${BEST_PRACTICES}/EKS Networking`, RESOURCE_CONSUMPTION],
  'AUDIT-COVERAGE': [`${BEST_PRACTICES}/Audit Coverage`],
  'AUDIT-FAILED': [`${BEST_PRACTICES}/Audit Coverage`],
};

/**
 * Field limits, in characters. Title 256 and Description 1024: Security Hub partner guide, "Title and Description"
 * (https://docs.aws.amazon.com/securityhub/latest/partnerguide/guidelines-asff-mapping.html); Recommendation.Text
 * 512 (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_Recommendation.html); ProductFields at most 50
 * pairs, keys 128, values 2048 (AwsSecurityFinding.ProductFields); Resources at most 32
 * (https://docs.aws.amazon.com/securityhub/latest/userguide/asff-resources.html). Data in these fields is kept as
 * it is (JSON carries any string) and only cut to these lengths.
 */
const LIMITS = {
  id: 512,
  generatorId: 512,
  title: 256,
  description: 1024,
  recommendationText: 512,
  productFieldKey: 128,
  productFieldValue: 2048,
  productFields: 50,
  types: 50,
  resources: 32,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Schema: the subset of ASFF this file writes, with Security Hub's required fields and length limits.

/** Timestamps as BatchImportFindings accepts them (RFC 3339, at most nine fraction digits). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}(:?\d{2})?)$/;
const TYPE =
  /^(Software and Configuration Checks|TTPs|Effects|Unusual Behaviors|Sensitive Data Identifications)(\/[^/]+){0,2}$/;
const PRODUCT_ARN = /^arn:aws(-cn|-us-gov)?:securityhub:[a-z0-9-]+:(\d{12})?:product\/[^/\s]+\/[^/\s]+$/;

const text = (max: number) => z.string().max(max).regex(/\S/, 'must not be blank');
const AsffSeverityLabelSchema = z.enum(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
export type AsffSeverityLabel = z.infer<typeof AsffSeverityLabelSchema>;
const SeverityFieldSchema = z.strictObject({ Label: AsffSeverityLabelSchema, Original: z.string().min(1) });
const TypesSchema = z.array(z.string().regex(TYPE)).min(1).max(LIMITS.types);

export const AsffFindingSchema = z.strictObject({
  SchemaVersion: z.literal(ASFF_SCHEMA_VERSION),
  Id: text(LIMITS.id),
  ProductArn: z.string().regex(PRODUCT_ARN),
  GeneratorId: text(LIMITS.generatorId),
  AwsAccountId: z.string().regex(/^\d{12}$/),
  Types: TypesSchema,
  CreatedAt: z.string().regex(TIMESTAMP),
  UpdatedAt: z.string().regex(TIMESTAMP),
  Severity: SeverityFieldSchema,
  Title: text(LIMITS.title),
  Description: text(LIMITS.description),
  Remediation: z.strictObject({
    Recommendation: z.strictObject({ Text: text(LIMITS.recommendationText), Url: z.url().optional() }),
  }),
  ProductFields: z
    .record(z.string().min(1).max(LIMITS.productFieldKey), z.string().max(LIMITS.productFieldValue))
    .refine((fields) => Object.keys(fields).length <= LIMITS.productFields, 'at most 50 ProductFields'),
  Resources: z
    .array(
      z.strictObject({
        Type: z.literal('AwsEksCluster'),
        Id: z.string().regex(/^arn:aws(-cn|-us-gov)?:eks:[a-z0-9-]+:\d{12}:cluster\/.+$/),
        Partition: z.enum(['aws', 'aws-cn', 'aws-us-gov']),
        Region: text(16),
      }),
    )
    .min(1)
    .max(LIMITS.resources),
  Compliance: z.strictObject({ Status: z.enum(['PASSED', 'WARNING', 'FAILED', 'NOT_AVAILABLE']) }),
  Workflow: z.strictObject({ Status: z.enum(['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED']) }),
  RecordState: z.enum(['ACTIVE', 'ARCHIVED']),
  FindingProviderFields: z.strictObject({ Severity: SeverityFieldSchema, Types: TypesSchema }),
});
export type AsffFinding = z.infer<typeof AsffFindingSchema>;

/** Options that cannot produce valid findings (a malformed account, time or product ARN). */
export class AsffOptionsError extends Error {
  override name = 'AsffOptionsError';
}

// ---------------------------------------------------------------------------------------------------------------

/** The run's findings in ASFF, cluster by cluster in run order. See the decisions above `AsffOptions`. */
export function renderRunAsff(run: RunResult, options: AsffOptions = {}): AsffFinding[] {
  const at = timestamp(options.generatedAt ?? run.finishedAt, options.generatedAt ? 'generatedAt' : 'finishedAt');
  if (options.awsAccountId !== undefined && !/^\d{12}$/.test(options.awsAccountId)) {
    throw new AsffOptionsError(`awsAccountId "${options.awsAccountId}" is not a 12-digit AWS account id`);
  }
  if (options.productArn !== undefined && !PRODUCT_ARN.test(options.productArn)) {
    throw new AsffOptionsError(
      `productArn "${options.productArn}" is not a Security Hub product ARN (arn:aws:securityhub:REGION:ACCOUNT:product/COMPANY/PRODUCT)`,
    );
  }
  return run.clusters
    .filter((c) => c.account !== null && c.region !== null)
    .filter((c) => options.awsAccountId === undefined || c.account === options.awsAccountId)
    .flatMap((cluster) =>
      cluster.findings.map((finding) => asffFinding(run, cluster, finding, at, options.productArn)),
    );
}

function asffFinding(
  run: RunResult,
  cluster: ClusterResult,
  finding: Finding,
  at: string,
  productArn: string | undefined,
): AsffFinding {
  const account = cluster.account ?? '';
  const region = cluster.region ?? '';
  const partition = partitionOf(region);
  const severity = { Label: ASFF_SEVERITY[finding.severity], Original: finding.severity };
  const types = [...ASFF_TYPES[finding.ruleId]];
  const url = [...finding.remediation.links, ...(ruleById(finding.ruleId)?.links ?? [])].find((link) =>
    /^https?:\/\//i.test(link),
  );
  const lifecycle = LIFECYCLE[finding.state];
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: findingId(finding.fingerprint),
    ProductArn: productArn ?? `arn:${partition}:securityhub:${region}:${account}:product/${account}/default`,
    GeneratorId: `${ASFF_PRODUCT}/${finding.ruleId}`,
    AwsAccountId: account,
    Types: types,
    CreatedAt: at,
    UpdatedAt: at,
    Severity: severity,
    Title: truncate(nonBlank(finding.title, finding.ruleId), LIMITS.title),
    Description: truncate(description(finding), LIMITS.description),
    Remediation: {
      Recommendation: {
        Text: truncate(nonBlank(finding.remediation.summary, finding.title, finding.ruleId), LIMITS.recommendationText),
        ...(url ? { Url: url } : {}),
      },
    },
    ProductFields: productFields(run, cluster, finding),
    Resources: [
      {
        Type: 'AwsEksCluster',
        Id: eksClusterArn(account, region, cluster.name),
        Partition: partition,
        Region: region,
      },
    ],
    Compliance: { Status: lifecycle.compliance },
    Workflow: { Status: lifecycle.workflow },
    RecordState: lifecycle.recordState,
    FindingProviderFields: { Severity: { ...severity }, Types: [...types] },
  };
}

const LIFECYCLE: Readonly<
  Record<
    FindingState,
    {
      recordState: AsffFinding['RecordState'];
      workflow: AsffFinding['Workflow']['Status'];
      compliance: AsffFinding['Compliance']['Status'];
    }
  >
> = {
  NEW: { recordState: 'ACTIVE', workflow: 'NEW', compliance: 'FAILED' },
  ONGOING: { recordState: 'ACTIVE', workflow: 'NEW', compliance: 'FAILED' },
  WORSENED: { recordState: 'ACTIVE', workflow: 'NEW', compliance: 'FAILED' },
  UNKNOWN: { recordState: 'ACTIVE', workflow: 'NEW', compliance: 'NOT_AVAILABLE' },
  SUPPRESSED: { recordState: 'ACTIVE', workflow: 'SUPPRESSED', compliance: 'FAILED' },
  RESOLVED: { recordState: 'ARCHIVED', workflow: 'RESOLVED', compliance: 'PASSED' },
};

/** What the state adds in front of the evidence, for the states where the evidence is not this run's verdict. */
const STATE_PREFIX: Readonly<Partial<Record<FindingState, string>>> = {
  RESOLVED: 'Resolved: not seen in this run. Last evidence: ',
  UNKNOWN: 'Not re-checked in this run (its evidence was not collected). Last evidence: ',
  SUPPRESSED: 'Suppressed in eks-fleet-auditor. ',
};

function description(finding: Finding): string {
  const { summary, nodes, moreNodes } = finding.evidence;
  const affected =
    nodes.length > 0 ? ` Affected nodes: ${nodes.join(', ')}${moreNodes > 0 ? ` and ${moreNodes} more` : ''}.` : '';
  const evidence = nonBlank(summary, finding.title, finding.ruleId).trim();
  return `${STATE_PREFIX[finding.state] ?? ''}${/[.!?…]$/.test(evidence) ? evidence : `${evidence}.`}${affected}`;
}

function productFields(run: RunResult, cluster: ClusterResult, finding: Finding): Record<string, string> {
  const fields: Record<string, string | null> = {
    ProviderName: ASFF_PRODUCT,
    [`${ASFF_PRODUCT}/ruleId`]: finding.ruleId,
    [`${ASFF_PRODUCT}/state`]: finding.state,
    [`${ASFF_PRODUCT}/severity`]: finding.severity,
    [`${ASFF_PRODUCT}/score`]: cluster.score === null ? 'not audited' : String(cluster.score),
    [`${ASFF_PRODUCT}/auditStatus`]: cluster.status,
    [`${ASFF_PRODUCT}/cluster`]: cluster.name,
    [`${ASFF_PRODUCT}/fingerprint`]: finding.fingerprint,
    [`${ASFF_PRODUCT}/runId`]: run.runId,
    [`${ASFF_PRODUCT}/affectedNodes`]: String(finding.evidence.nodes.length + finding.evidence.moreNodes),
    [`${ASFF_PRODUCT}/command`]: finding.remediation.command,
    [`${ASFF_PRODUCT}/configurationValues`]:
      finding.remediation.configurationValues === null ? null : JSON.stringify(finding.remediation.configurationValues),
  };
  return Object.fromEntries(
    Object.entries(fields)
      .filter((entry): entry is [string, string] => entry[1] !== null && entry[1] !== '')
      .map(([key, value]) => [key, truncate(value, LIMITS.productFieldValue)]),
  );
}

/**
 * Run-independent: the same account/region/cluster/rule always gets the same Id. Readable as long as it fits
 * (EKS cluster names have at most 100 characters, so it always does); hashed, still deterministic, if not.
 */
function findingId(fingerprint: string): string {
  const id = `${ASFF_PRODUCT}/${fingerprint}`;
  return id.length <= LIMITS.id
    ? id
    : `${ASFF_PRODUCT}/sha256/${createHash('sha256').update(fingerprint).digest('hex')}`;
}

function timestamp(value: string, name: string): string {
  if (TIMESTAMP.test(value)) return value;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new AsffOptionsError(`${name} "${value}" is not an ISO 8601 timestamp`);
  return new Date(ms).toISOString();
}

function nonBlank(...candidates: string[]): string {
  return candidates.find((c) => c.trim() !== '') ?? '-';
}
