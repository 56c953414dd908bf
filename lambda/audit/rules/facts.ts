import type { MetricAggregate } from '../aggregate.js';
import type { ClusterEvidence } from '../model.js';
import type { NodeReport, ProxyMode } from '../node-report.js';
import { compareVersions, parseVersion, type Version } from '../versions.js';
import type { ReportedNode, RuleContext } from './rule.js';

/** Facts several rules derive the same way from the evidence. Each returns null for unknown, never 0. */

/** Nodes whose kube-proxy reported iptables mode (a null mode is never taken for iptables). */
export function iptablesModeNodes(nodes: ReadonlyArray<ReportedNode>): ReportedNode[] {
  return nodes.filter((n) => n.report.kubeProxy?.mode === 'iptables');
}

/** The "services" of §7 on one node: its KUBE-SVC chains when kube-proxy runs in iptables mode, else null. */
export function nodeServices(report: NodeReport): number | null {
  return report.kubeProxy?.mode === 'iptables' ? (report.iptables?.kubeServiceChains ?? null) : null;
}

/** The cluster's Service count: p50 of `nodeServices` over iptables-mode nodes that reported it (`metrics.services`). */
export function serviceCount(context: RuleContext): { services: number | null; counted: number } {
  const { p50, nodes } = context.metrics.services.cluster;
  return { services: p50, counted: nodes };
}

/** Sum over nodes of kube-proxy's restore-failure counter; null when no node exposed it. */
export function restoreFailureSum(nodes: ReadonlyArray<ReportedNode>): number | null {
  const values = nodes.map((n) => n.report.kubeProxy?.restoreFailures).filter((v): v is number => v != null);
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) : null;
}

/** kube-proxy log lines counted both by the collector (`logs.*`) and by the CloudWatch query, over the window. */
export type WindowField = 'kubeProxyLockErrors' | 'kubeProxyRestoreFailures' | 'kubeProxySlowRestores';

/**
 * One log count over the window: the nodes that read their kube-proxy logs (`logged`) and those of them that
 * counted a line (`lined`), their summed count (`nodeSum`, null when no node read its logs), the CloudWatch count
 * (`cloudWatch`, null without a result), and the larger of the two (`count`, 0 when both are unknown; both may
 * count the same lines).
 */
export function windowCount(
  { evidence, nodes }: RuleContext,
  field: WindowField,
): { logged: ReportedNode[]; lined: ReportedNode[]; nodeSum: number | null; cloudWatch: number | null; count: number } {
  const logged = nodes.filter((n) => n.report.logs?.[field] != null);
  const lined = logged.filter((n) => (n.report.logs?.[field] ?? 0) > 0);
  const cloudWatch = evidence.logs?.[field] ?? null;
  const nodeSum = logged.length > 0 ? logged.reduce((s, n) => s + (n.report.logs?.[field] ?? 0), 0) : null;
  return { logged, lined, nodeSum, cloudWatch, count: Math.max(nodeSum ?? 0, cloudWatch ?? 0) };
}

/**
 * Whether the xtables lock can be contended on a node. Only iptables-legacy takes it (iptables/xshared.c
 * `xtables_lock_or_exit`, called by the legacy iptables, ip6tables and iptables-restore; xtables-restore.c, the
 * nft restore, ignores `-w`), and aws-node creates /run/xtables.lock on every node, so the lock file proves
 * nothing: the collector's `lock.applicable` is false where no legacy writer can exist. v1 reports (null) count.
 */
export function lockApplicable(report: NodeReport): boolean {
  return report.lock?.applicable !== false;
}

/** waited / samples of a node's lock probes: the share of samples with a writer queued; null when unknown. */
export function lockWaitedShare(report: NodeReport): number | null {
  const lock = report.lock;
  if (lock?.waited == null || lock.samples == null || lock.samples === 0) return null;
  return lock.waited / lock.samples;
}

/**
 * kube-proxy's sync-duration buckets: 0.001 × 2^k s up to 16.384 s (kubernetes pkg/proxy/metrics/metrics.go,
 * `SyncProxyRulesLatency`: `metrics.ExponentialBuckets(0.001, 2, 15)`).
 */
export const KUBE_PROXY_SYNC_BUCKETS = Array.from({ length: 15 }, (_, k) => Math.round(0.001 * 2 ** k * 1000) / 1000);

/**
 * The lower bound of the bucket holding a node's sync p99: what the sync took at least. v2 reports carry it (in
 * `+Inf` it is 16.384: beyond the top bucket, not unknown). A v1 report has only the upper bound: on kube-proxy's
 * buckets the lower bound is the previous bucket's (or 0); anything else, or a null p99 (v1 gave null in `+Inf`
 * too), is unknown.
 */
export function syncP99Lower(report: NodeReport): number | null {
  const kubeProxy = report.kubeProxy;
  if (kubeProxy?.syncP99LowerSeconds != null || report.schema !== 'fleet-audit.collector/v1') {
    return kubeProxy?.syncP99LowerSeconds ?? null;
  }
  const upper = kubeProxy?.syncP99Seconds ?? null;
  if (upper === null) return null;
  const index = KUBE_PROXY_SYNC_BUCKETS.findIndex((bound) => Math.abs(bound - upper) < 1e-9);
  if (index < 0) return null;
  return index === 0 ? 0 : (KUBE_PROXY_SYNC_BUCKETS[index - 1] ?? null);
}

/** The backend whose save `iptables.saveMs` timed: nft on nft nodes, legacy on legacy and mixed ones. */
export function saveBackend(report: NodeReport): 'legacy' | 'nft' | null {
  const backend = report.iptables?.backend;
  if (backend === 'nft') return 'nft';
  return backend === 'legacy' || backend === 'mixed' ? 'legacy' : null;
}

/** aws-node restarts inside the log window; a v1 report only knew the pod's lifetime count, so that is read. */
export function awsNodeRestartsInWindow(report: NodeReport): number | null {
  if (report.schema === 'fleet-audit.collector/v1') return report.restarts?.awsNode ?? null;
  return report.restarts?.awsNodeInWindow ?? null;
}

/** busy / samples of a node's lock probes; null without samples (no lock file, e.g. iptables-nft). */
export function lockBusyShare(report: NodeReport): number | null {
  const lock = report.lock;
  if (lock?.busy == null || lock.samples == null || lock.samples === 0) return null;
  return lock.busy / lock.samples;
}

const DURATION_UNITS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
const DURATION_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;

/** Seconds in a Go duration as kube-proxy's config writes it (`30s`, `1m0s`, `1h0m0s`, `500ms`); null otherwise. */
export function parseGoDuration(text: string | null | undefined): number | null {
  if (typeof text !== 'string' || text.length === 0) return null;
  DURATION_PART.lastIndex = 0;
  let seconds = 0;
  let consumed = 0;
  for (let match = DURATION_PART.exec(text); match !== null; match = DURATION_PART.exec(text)) {
    seconds += Number(match[1]) * (DURATION_UNITS[match[2] ?? ''] ?? Number.NaN);
    consumed = DURATION_PART.lastIndex;
  }
  return consumed === text.length && Number.isFinite(seconds) ? seconds : null;
}

/** A version as read, with where it came from; `version` is null when absent or it does not parse. */
export interface VersionFact {
  version: Version | null;
  raw: string | null;
  source: string | null;
}

/**
 * The VPC CNI version: the add-on's (EKS DescribeAddon) when it parses, else the oldest `awsNode.version` the
 * nodes report (during a roll-out the oldest one still running is the one at risk).
 */
export function vpcCniVersion(evidence: ClusterEvidence, nodes: ReadonlyArray<ReportedNode>): VersionFact {
  const addonRaw = evidence.addons.vpcCni?.version ?? null;
  const addon = parseVersion(addonRaw);
  if (addon) return { version: addon, raw: addonRaw, source: 'the vpc-cni add-on' };
  const reported = nodes.flatMap((n) => {
    const raw = n.report.awsNode?.version ?? null;
    const version = parseVersion(raw);
    return version && raw ? [{ version, raw }] : [];
  });
  const oldest = reported.sort((a, b) => compareVersions(a.version, b.version))[0];
  if (oldest) return { version: oldest.version, raw: oldest.raw, source: 'aws-node on the nodes' };
  if (addonRaw !== null) return { version: null, raw: addonRaw, source: 'the vpc-cni add-on' };
  const nodeRaw = nodes.map((n) => n.report.awsNode?.version).find((v) => v != null) ?? null;
  return { version: null, raw: nodeRaw, source: nodeRaw === null ? null : 'aws-node on the nodes' };
}

/** The cluster's Kubernetes version from EKS DescribeCluster. */
export function kubernetesVersion(evidence: ClusterEvidence): VersionFact {
  const raw = evidence.kubernetesVersion;
  return { version: parseVersion(raw), raw, source: raw === null ? null : 'EKS' };
}

/**
 * kube-proxy modes in the cluster: what reached nodes report, plus the add-on's configured `mode`
 * (an add-on whose configurationValues do not set `mode` runs the EKS default, iptables; values that could not
 * be read add no mode).
 * `complete` is true when every reached node reported its mode.
 */
export function proxyModes(
  evidence: ClusterEvidence,
  nodes: ReadonlyArray<ReportedNode>,
): { modes: Set<ProxyMode>; complete: boolean } {
  const modes = new Set<ProxyMode>();
  let complete = nodes.length > 0;
  for (const node of nodes) {
    const mode = node.report.kubeProxy?.mode ?? null;
    if (mode === null) complete = false;
    else modes.add(mode);
  }
  const addon = evidence.addons.kubeProxy;
  // Values that could not be read say nothing about the mode: unknown, not the iptables default.
  if (addon && addon.configurationProblem === null) {
    const configured = addon.configuration?.mode;
    if (configured === 'iptables' || configured === 'ipvs' || configured === 'nftables') modes.add(configured);
    else if (configured === undefined || configured === '') modes.add('iptables');
  }
  return { modes, complete };
}

/** The distinct, sorted strings of a list, for evidence. */
export function distinct(values: ReadonlyArray<string>): string[] {
  return [...new Set(values)].sort();
}

/** Rounds for display in evidence (2 decimals). */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Per node group p50 of a metric, as `ng-a 1200 (4 nodes); ng-b 40 (2 nodes)`, for evidence; null when the
 * nodes that reported it are in fewer than two node groups.
 */
export function nodegroupBreakdown({ byNodegroup }: MetricAggregate): string | null {
  const groups = Object.entries(byNodegroup);
  if (groups.length < 2) return null;
  return groups.map(([name, a]) => `${name} ${a.p50} (${plural(a.nodes, 'node')})`).join('; ');
}

/** `{ byNodegroup }` for evidence values when there is a breakdown, else nothing. */
export function byNodegroup(breakdown: string | null): { byNodegroup?: string } {
  return breakdown === null ? {} : { byNodegroup: breakdown };
}

/** Lower-case names that stay lower-case at the start of a sentence. */
const LOWER_CASE_NAMES = /^(kube-proxy|aws-node|ipamd|iptables|xtables|vpc-cni)\b/;

/** Joins the present parts into one sentence: `a; b.`, capitalised unless it opens with a lower-case name. */
export function sentence(parts: ReadonlyArray<string | null>): string {
  const text = `${parts.filter((p): p is string => p !== null && p !== '').join('; ')}.`;
  return LOWER_CASE_NAMES.test(text) ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

/** `1 node`, `2 nodes`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
