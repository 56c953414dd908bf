import { expect } from 'vitest';
import { ruleContext } from '#audit/assess.js';
import type { Addon, ClusterEvidence, HistoryPoint, LogSignals, NodeObservation } from '#audit/model.js';
import { COLLECTOR_SCHEMA, type NodeReport, type NodeReportInput, NodeReportSchema } from '#audit/node-report.js';
import type { Rule, RuleOutcome } from '#audit/rules/rule.js';
import { DEFAULT_THRESHOLDS, type Thresholds, type ThresholdsInput } from '#audit/thresholds.js';

/** Builders that keep rule tests to the one field each case is about. */

type Section<K extends keyof NodeReportInput> = NonNullable<NodeReportInput[K]>;

/** A change to a report: per section, the fields to set (null for unknown), or null for a missing section. */
export type ReportPatch = {
  [K in keyof NodeReportInput]?: K extends 'schema'
    ? NodeReportInput['schema']
    : K extends 'errors'
      ? string[]
      : K extends 'iptables'
        ?
            | (Partial<Omit<Section<'iptables'>, 'rules' | 'chains'>> & {
                rules?: Partial<NonNullable<Section<'iptables'>['rules']>> | null;
                chains?: Partial<NonNullable<Section<'iptables'>['chains']>> | null;
              })
            | null
        : Partial<Section<K>> | null;
};

/** A healthy iptables-legacy node (collector v2): 100 Services, quick saves and syncs, idle lock, nothing queued, no restarts or log signals. */
export const HEALTHY: NodeReportInput = {
  schema: COLLECTOR_SCHEMA,
  collectedAt: '2026-06-01T02:00:00Z',
  durationMs: 900,
  node: {
    instanceId: null,
    hostname: 'ip-10-0-0-1',
    os: 'amzn2023',
    kernel: '6.1.94-99.176.amzn2023.x86_64',
    uptimeSeconds: 86_400,
  },
  iptables: {
    version: 'v1.8.8 (legacy)',
    backend: 'legacy',
    legacyRules: 900,
    nftRules: 0,
    rules: { total: 900, nat: 700, filter: 150, mangle: 40, raw: 10 },
    chains: { nat: 300, filter: 20 },
    kubeServiceChains: 100,
    kubeEndpointChains: 200,
    saveMs: 40,
    legacyTablesWarning: false,
  },
  lock: {
    path: '/run/xtables.lock',
    applicable: true,
    samples: 20,
    busy: 0,
    waited: 0,
    waitersMax: 0,
    windowMs: 2000,
    holders: [],
    waiters: [],
  },
  kubeProxy: {
    mode: 'iptables',
    iptablesBackend: 'legacy',
    syncCount: 100,
    syncSecondsSum: 5,
    syncP99Seconds: 0.128,
    syncP99LowerSeconds: 0.064,
    lastSyncAgeSeconds: 10,
    lastQueuedAgeSeconds: 0,
    restoreFailures: 0,
    partialRestoreFailures: 0,
    minSyncPeriod: '1s',
    syncPeriod: '30s',
    configSource: 'configz',
  },
  awsNode: { clusterEndpointSet: true, version: 'v1.20.0-eksbuild.1', podEni: false, customNetworking: false },
  restarts: { awsNode: 0, kubeProxy: 0, awsNodeInWindow: 0, kubeProxyInWindow: 0 },
  logs: {
    windowHours: 24,
    kubeProxyLockErrors: 0,
    kubeProxyRestoreFailures: 0,
    kubeProxySlowRestores: 0,
    ipamdApiUnreachable: 0,
    ipamdStarts: 1,
  },
  errors: [],
};

function mergeSection(base: unknown, patch: unknown): unknown {
  if (patch === null) return null;
  if (typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const merged: Record<string, unknown> = { ...((base as Record<string, unknown> | null) ?? {}) };
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    const inner = merged[key];
    merged[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value) && inner && typeof inner === 'object'
        ? { ...(inner as object), ...(value as object) }
        : value;
  }
  return merged;
}

/** The collector JSON of a report: `base` (HEALTHY) with `patch` applied, not yet validated. */
export function reportInput(patch: ReportPatch = {}, base: NodeReportInput = HEALTHY): Record<string, unknown> {
  const input: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    input[key] = key === 'errors' ? value : mergeSection(input[key], value);
  }
  return input;
}

/** A report: `base` (HEALTHY) with `patch` applied, validated by the real schema. */
export function report(patch: ReportPatch = {}, base: NodeReportInput = HEALTHY): NodeReport {
  return NodeReportSchema.parse(reportInput(patch, base));
}

/** A report with every section missing: everything unknown. */
export function emptyReport(): NodeReport {
  return NodeReportSchema.parse({ schema: COLLECTOR_SCHEMA });
}

/** A REACHED node with a report (HEALTHY + patch). */
export function reached(
  instanceId: string,
  patch: ReportPatch = {},
  nodegroup: string | null = 'ng-a',
): NodeObservation {
  return { instanceId, nodegroup, reach: 'REACHED', reason: null, report: report(patch) };
}

/** `count` REACHED nodes `i-<prefix>01…` with the same patch. */
export function reachedNodes(
  count: number,
  patch: ReportPatch = {},
  prefix = 'n',
  nodegroup = 'ng-a',
): NodeObservation[] {
  return Array.from({ length: count }, (_, i) =>
    reached(`i-${prefix}${String(i + 1).padStart(2, '0')}`, patch, nodegroup),
  );
}

export function unreachable(instanceId: string, reason: string | null = 'SSM agent offline'): NodeObservation {
  return { instanceId, nodegroup: 'ng-a', reach: 'UNREACHABLE', reason, report: null };
}

export function failedNode(instanceId: string, reason: string | null = 'command timed out'): NodeObservation {
  return { instanceId, nodegroup: 'ng-a', reach: 'FAILED', reason, report: null };
}

export function addon(
  name: string,
  version: string | null,
  configuration: Record<string, unknown> | null = null,
): Addon {
  return {
    name,
    version,
    configuration,
    status: 'ACTIVE',
    configurationValues: configuration === null ? null : JSON.stringify(configuration),
    configurationProblem: null,
  };
}

export const ENDPOINT = 'https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com';
export const OBSERVED_AT = '2026-06-01T02:00:00.000Z';

/** Evidence of a healthy one-node cluster `prod` in 111122223333/eu-west-1 (Kubernetes 1.31), with overrides. */
export function clusterEvidence(overrides: Partial<ClusterEvidence> = {}): ClusterEvidence {
  return {
    cluster: { account: '111122223333', region: 'eu-west-1', name: 'prod' },
    kubernetesVersion: '1.31',
    endpoint: ENDPOINT,
    addons: { vpcCni: addon('vpc-cni', 'v1.20.0-eksbuild.1'), kubeProxy: addon('kube-proxy', 'v1.31.2-eksbuild.3') },
    nodes: [reached('i-0001')],
    logs: null,
    history: [],
    auditError: null,
    observedAt: OBSERVED_AT,
    ...overrides,
  };
}

/** CloudWatch signals, all zero unless given. */
export function logSignals(signals: Partial<LogSignals> = {}): LogSignals {
  return {
    logGroup: '/aws/containerinsights/prod/dataplane',
    windowHours: 24,
    kubeProxyLockErrors: 0,
    kubeProxyRestoreFailures: 0,
    kubeProxySlowRestores: 0,
    ipamdApiUnreachable: 0,
    awsNodeProbeFailures: 0,
    ...signals,
  };
}

/** An earlier run `daysAgo` days before OBSERVED_AT. */
export function historyPoint(
  daysAgo: number,
  serviceCount: number | null,
  restoreFailures: number | null = null,
): HistoryPoint {
  const at = new Date(Date.parse(OBSERVED_AT) - daysAgo * 86_400_000).toISOString();
  return { runId: `run-${daysAgo}`, at, serviceCount, restoreFailures };
}

/** Runs one rule over evidence, as assessCluster would. */
export function evaluate(rule: Rule, evidence: ClusterEvidence, thresholds: ThresholdsInput = {}): RuleOutcome {
  const merged: Thresholds = { ...DEFAULT_THRESHOLDS, ...thresholds } as Thresholds;
  return rule.evaluate(ruleContext(evidence, merged));
}

/** Narrows an outcome to `fired`, failing the test otherwise. */
export function fired(outcome: RuleOutcome): Extract<RuleOutcome, { kind: 'fired' }> {
  expect(outcome.kind, JSON.stringify(outcome)).toBe('fired');
  if (outcome.kind !== 'fired') throw new Error('not fired');
  return outcome;
}

/** The outcome's severity, or its kind when it did not fire: one value to compare in table-driven tests. */
export function verdict(outcome: RuleOutcome): string {
  return outcome.kind === 'fired' ? outcome.severity : outcome.kind;
}
