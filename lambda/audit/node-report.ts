import { z } from 'zod';

/**
 * The collector's output (a fixed contract, collector/collect.sh): one JSON object per node, at most
 * {@link COLLECTOR_MAX_BYTES} bytes.
 *
 * Reading rules: fields this version does not know are dropped; a missing section or field reads as null
 * (unknown, never zero); a wrong type, a negative count or `busy > samples` makes the whole report bad.
 */
export const COLLECTOR_SCHEMA = 'fleet-audit.collector/v1';

/** Largest stdout the collector may print, so ListCommandInvocations (2,500 characters) returns it whole. */
export const COLLECTOR_MAX_BYTES = 2400;

const unknown = <T extends z.ZodType>(schema: T) => schema.nullable().default(null);
const count = unknown(z.number().int().nonnegative());
const amount = unknown(z.number().nonnegative());
const text = unknown(z.string());
const section = <T extends z.ZodRawShape>(shape: T) => z.object(shape).nullable().default(null);

export const OsSchema = z.enum(['amzn2', 'amzn2023', 'bottlerocket', 'other']);
export const IptablesBackendSchema = z.enum(['legacy', 'nft', 'mixed', 'none']);
export const ProxyModeSchema = z.enum(['iptables', 'ipvs', 'nftables']);

export const NodeReportSchema = z
  .object({
    schema: z.literal(COLLECTOR_SCHEMA),
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
      saveMs: count,
    }),
    lock: section({
      path: text,
      samples: count,
      busy: count,
      windowMs: count,
      holders: unknown(z.array(z.string())),
    }),
    kubeProxy: section({
      mode: unknown(ProxyModeSchema),
      syncCount: count,
      syncSecondsSum: amount,
      syncP99Seconds: amount,
      lastSyncAgeSeconds: amount,
      restoreFailures: count,
      partialRestoreFailures: count,
      minSyncPeriod: text,
      syncPeriod: text,
    }),
    awsNode: section({
      clusterEndpointSet: unknown(z.boolean()),
      version: text,
    }),
    restarts: section({ awsNode: count, kubeProxy: count }),
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
    if (lock?.busy != null && lock.samples != null && lock.busy > lock.samples) {
      ctx.addIssue({
        code: 'custom',
        path: ['lock', 'busy'],
        message: `busy (${lock.busy}) is more than samples (${lock.samples})`,
      });
    }
  });

export type NodeReport = z.output<typeof NodeReportSchema>;
export type NodeReportInput = z.input<typeof NodeReportSchema>;
export type IptablesBackend = z.infer<typeof IptablesBackendSchema>;
export type ProxyMode = z.infer<typeof ProxyModeSchema>;

/** The outcome of reading one report: the report, or one line saying what was wrong with it. */
export type NodeReportParse = { ok: true; report: NodeReport } | { ok: false; problem: string };

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
  const schema = (json as Record<string, unknown>).schema;
  if (schema !== COLLECTOR_SCHEMA) {
    return {
      ok: false,
      problem: `schema is ${JSON.stringify(schema ?? null)}, expected "${COLLECTOR_SCHEMA}"`,
    };
  }
  const parsed = NodeReportSchema.safeParse(json);
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
