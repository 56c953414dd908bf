import { z } from 'zod';

/**
 * The collector's output (a fixed contract, collector/collect.sh): one JSON object per node, at most
 * {@link COLLECTOR_MAX_BYTES} bytes.
 *
 * Reading rules: fields this version does not know are dropped; a missing section or field reads as null
 * (unknown, never zero); a wrong type, a negative count or `busy > samples` makes the whole report bad.
 * Both schema versions are read: a v1 report has none of v2's fields, and reads them as null (a v2 field in a
 * v1 report is a field v1 does not know, and is dropped).
 */
export const COLLECTOR_SCHEMA_V1 = 'fleet-audit.collector/v1';
export const COLLECTOR_SCHEMA_V2 = 'fleet-audit.collector/v2';
/** The schema the collector prints today. */
export const COLLECTOR_SCHEMA = COLLECTOR_SCHEMA_V2;
export const COLLECTOR_SCHEMAS = [COLLECTOR_SCHEMA_V1, COLLECTOR_SCHEMA_V2] as const;

/** Largest stdout the collector may print, so ListCommandInvocations (2,500 characters) returns it whole. */
export const COLLECTOR_MAX_BYTES = 2400;

const unknown = <T extends z.ZodType>(schema: T) => schema.nullable().default(null);
const count = unknown(z.number().int().nonnegative());
const amount = unknown(z.number().nonnegative());
const text = unknown(z.string());
const flag = unknown(z.boolean());
const section = <T extends z.ZodRawShape>(shape: T) => z.object(shape).nullable().default(null);

export const OsSchema = z.enum(['amzn2', 'amzn2023', 'bottlerocket', 'other']);
export const IptablesBackendSchema = z.enum(['legacy', 'nft', 'mixed', 'none']);
/** The backend of kube-proxy's own image (its iptables link, as iptables-wrapper set it). */
export const ImageBackendSchema = z.enum(['legacy', 'nft']);
export const ProxyModeSchema = z.enum(['iptables', 'ipvs', 'nftables']);
export const ConfigSourceSchema = z.enum(['configz', 'file']);

/** Fields only v2 reports carry, by section: a v1 report reads them as null. */
export const V2_FIELDS = {
  iptables: ['legacyTablesWarning'],
  lock: ['applicable', 'waited', 'waitersMax', 'waiters'],
  kubeProxy: ['iptablesBackend', 'syncP99LowerSeconds', 'lastQueuedAgeSeconds', 'configSource'],
  awsNode: ['podEni', 'customNetworking'],
  restarts: ['awsNodeInWindow', 'kubeProxyInWindow'],
} as const;

export const NodeReportSchema = z
  .object({
    schema: z.enum(COLLECTOR_SCHEMAS),
    collectedAt: text,
    durationMs: count,
    node: section({
      instanceId: text,
      hostname: text,
      os: unknown(OsSchema),
      kernel: text,
      uptimeSeconds: amount,
    }),
    iptables: section({
      version: text,
      backend: unknown(IptablesBackendSchema),
      legacyRules: count,
      nftRules: count,
      rules: section({ total: count, nat: count, filter: count, mangle: count, raw: count }),
      chains: section({ nat: count, filter: count }),
      kubeServiceChains: count,
      kubeEndpointChains: count,
      /** wall time of the iptables-save of the backend that holds kube-proxy's rules (a save takes no lock) */
      saveMs: count,
      /** iptables-nft-save warned "iptables-legacy tables present" */
      legacyTablesWarning: flag,
    }),
    lock: section({
      path: text,
      /** false where no iptables-legacy writer can exist (iptables-nft never takes the lock) */
      applicable: flag,
      samples: count,
      /** samples in which the lock was held */
      busy: count,
      /** samples in which a writer was also queued for it ("->" waiter lines) */
      waited: count,
      /** the most writers queued in one sample */
      waitersMax: count,
      windowMs: count,
      /** v1: the holders' process names; v2: `parent/comm` */
      holders: unknown(z.array(z.string())),
      waiters: unknown(z.array(z.string())),
    }),
    kubeProxy: section({
      mode: unknown(ProxyModeSchema),
      iptablesBackend: unknown(ImageBackendSchema),
      syncCount: count,
      syncSecondsSum: amount,
      /** upper bound of the bucket holding the 99th percentile; null in +Inf */
      syncP99Seconds: amount,
      /** lower bound of that bucket; in +Inf the largest finite bound */
      syncP99LowerSeconds: amount,
      lastSyncAgeSeconds: amount,
      /** how long a queued change has waited for a sync; 0 when none waits */
      lastQueuedAgeSeconds: amount,
      restoreFailures: count,
      partialRestoreFailures: count,
      /** v1: as written in the config file; v2: the value in effect */
      minSyncPeriod: text,
      syncPeriod: text,
      configSource: unknown(ConfigSourceSchema),
    }),
    awsNode: section({
      clusterEndpointSet: flag,
      version: text,
      podEni: flag,
      customNetworking: flag,
    }),
    restarts: section({
      /** lifetime of the current pod */
      awsNode: count,
      kubeProxy: count,
      /** restarts whose container started inside the log window */
      awsNodeInWindow: count,
      kubeProxyInWindow: count,
    }),
    logs: section({
      windowHours: amount,
      kubeProxyLockErrors: count,
      kubeProxyRestoreFailures: count,
      kubeProxySlowRestores: count,
      ipamdApiUnreachable: count,
      ipamdStarts: count,
    }),
    errors: z.array(z.string()).default([]),
  })
  .superRefine((report, ctx) => {
    const lock = report.lock;
    for (const field of ['busy', 'waited'] as const) {
      const value = lock?.[field];
      if (value != null && lock?.samples != null && value > lock.samples) {
        ctx.addIssue({
          code: 'custom',
          path: ['lock', field],
          message: `${field} (${value}) is more than samples (${lock.samples})`,
        });
      }
    }
  });

export type NodeReport = z.output<typeof NodeReportSchema>;
export type NodeReportInput = z.input<typeof NodeReportSchema>;
export type IptablesBackend = z.infer<typeof IptablesBackendSchema>;
export type ProxyMode = z.infer<typeof ProxyModeSchema>;

/** Whether a report was printed by the v1 collector (whose restarts and lock fields mean less). */
export function isV1Report(report: NodeReport): boolean {
  return report.schema === COLLECTOR_SCHEMA_V1;
}

/** The outcome of reading one report: the report, or one line saying what was wrong with it. */
export type NodeReportParse = { ok: true; report: NodeReport } | { ok: false; problem: string };

/** A v1 report without the fields only v2 defines: v1 did not know them, so they read as null. */
function withoutV2Fields(json: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...json };
  for (const [name, fields] of Object.entries(V2_FIELDS)) {
    const value = copy[name];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    const trimmed: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const field of fields) delete trimmed[field];
    copy[name] = trimmed;
  }
  return copy;
}

/** Parses collector output text. `problem` is one line naming the first wrong field. */
export function parseNodeReport(text: string): NodeReportParse {
  // One trailing newline (the collector ends its line) is not part of the object's size.
  const bytes = Buffer.byteLength(text.endsWith('\n') ? text.slice(0, -1) : text);
  if (bytes > COLLECTOR_MAX_BYTES) return { ok: false, problem: tooLarge(bytes) };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not JSON (expected one collector JSON object)' };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, problem: 'not a JSON object (expected one collector JSON object)' };
  }
  const object = json as Record<string, unknown>;
  const schema = object.schema;
  if (schema !== COLLECTOR_SCHEMA_V1 && schema !== COLLECTOR_SCHEMA_V2) {
    return {
      ok: false,
      problem: `schema is ${JSON.stringify(schema ?? null)}, expected "${COLLECTOR_SCHEMA_V2}" or "${COLLECTOR_SCHEMA_V1}"`,
    };
  }
  const parsed = NodeReportSchema.safeParse(schema === COLLECTOR_SCHEMA_V1 ? withoutV2Fields(object) : object);
  if (parsed.success) return { ok: true, report: parsed.data };
  return { ok: false, problem: describeIssue(parsed.error) };
}

/** The problem of a report over the size limit: its size and the limit. */
export function tooLarge(bytes: number): string {
  return (
    `${bytes.toLocaleString('en-US')} bytes, over the collector's limit of ` +
    `${COLLECTOR_MAX_BYTES.toLocaleString('en-US')} bytes (not the collector's output, or a damaged one)`
  );
}

/** One line for the first issue of a zod error: `field a.b.c: message`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  return `field ${path}: ${issue.message}`;
}
