import type { ProxyMode } from './node-report.js';
import { compareVersions, parseVersion, type Version } from './versions.js';

/** A version interval: at least `atLeast` (inclusive) and below `below` (exclusive); either end may be open. */
export interface VersionRange {
  atLeast?: string;
  below?: string;
}

/**
 * An add-on version with known behaviour that matters for xtables-lock contention, as data: ADDON-VERSION-RISK
 * reads this table. An advisory applies when every condition it sets holds; a condition on a fact the audit
 * does not know (a version that is missing or does not parse, an unreported proxy mode) leaves it unjudged.
 */
export interface Advisory {
  id: string;
  /** whose version `versions` constrains */
  addon: 'vpc-cni' | 'kube-proxy' | null;
  versions: VersionRange | null;
  /** the cluster's Kubernetes version (EKS DescribeCluster) */
  kubernetes: VersionRange | null;
  /** applies only where kube-proxy runs in this mode */
  proxyMode: ProxyMode | null;
  severity: 'MEDIUM' | 'LOW';
  title: string;
  /** what goes wrong, one or two sentences */
  text: string;
  /** what to do */
  fix: string;
  /** what the fix changes: an add-on upgrade to at least a version, or the kube-proxy mode to nftables */
  action: { upgrade: 'vpc-cni'; to: string } | { proxyMode: 'nftables' } | null;
  /** where the fact comes from */
  source: string;
}

// Version boundaries the advisories and the rules' remediations share, written once here (remediation.ts parses
// them with `versionOf`).

/** First VPC CNI version that reads CLUSTER_ENDPOINT (#2138). */
export const VPC_CNI_CLUSTER_ENDPOINT = 'v1.12.1';
/** First VPC CNI version whose ipamd no longer exits when the API server is unreachable at start (#3243). */
export const VPC_CNI_API_INDEPENDENT_START = 'v1.19.4';
/** First VPC CNI version EKS documents as compatible with kube-proxy nftables mode. */
export const VPC_CNI_NFTABLES = 'v1.23.0';
/** First kube-proxy version whose iptables mode writes partial syncs by default (MinimizeIPTablesRestore beta). */
export const KUBE_PROXY_PARTIAL_SYNC_DEFAULT = 'v1.27.0';
/**
 * First kube-proxy version in which partial syncs cannot be switched off: MinimizeIPTablesRestore is GA and locked
 * on (`{Default: true, PreRelease: featuregate.GA, LockToDefault: true}, // remove in 1.30` in
 * kubernetes/kubernetes pkg/features/kube_features.go of release 1.28).
 */
export const KUBE_PROXY_PARTIAL_SYNC_LOCKED = 'v1.28.0';
/** Kubernetes version from which kube-proxy IPVS mode is deprecated. */
export const KUBERNETES_IPVS_DEPRECATED = '1.35';

export const ADVISORIES: ReadonlyArray<Advisory> = [
  {
    id: 'VPC-CNI-EXITS-WITHOUT-API-SERVER',
    addon: 'vpc-cni',
    versions: { below: VPC_CNI_API_INDEPENDENT_START },
    kubernetes: null,
    proxyMode: null,
    severity: 'MEDIUM',
    title: 'VPC CNI before v1.19.4 exits when the API server is unreachable at start',
    text:
      'Before v1.19.4 ipamd needs the API server before it starts and exits when it cannot reach it; without ' +
      'CLUSTER_ENDPOINT it depends on kube-proxy having written the `kubernetes` Service rules, so on busy nodes ' +
      'aws-node crash-loops. v1.19.4 waits 30 s, then starts and keeps checking in the background.',
    fix: 'Upgrade the vpc-cni add-on to v1.19.4 or later, one minor version at a time; set CLUSTER_ENDPOINT meanwhile.',
    action: { upgrade: 'vpc-cni', to: VPC_CNI_API_INDEPENDENT_START },
    source: 'https://github.com/aws/amazon-vpc-cni-k8s/pull/3243',
  },
  {
    id: 'VPC-CNI-NO-CLUSTER-ENDPOINT',
    addon: 'vpc-cni',
    versions: { below: VPC_CNI_CLUSTER_ENDPOINT },
    kubernetes: null,
    proxyMode: null,
    severity: 'LOW',
    title: 'VPC CNI before v1.12.1 cannot use CLUSTER_ENDPOINT',
    text:
      'CLUSTER_ENDPOINT, which lets aws-node reach the API server without waiting for kube-proxy, was added in ' +
      'v1.12.1; older versions always depend on kube-proxy’s rules at node start.',
    fix: 'Upgrade the vpc-cni add-on to v1.12.1 or later (one minor version at a time), then set CLUSTER_ENDPOINT.',
    action: { upgrade: 'vpc-cni', to: VPC_CNI_CLUSTER_ENDPOINT },
    source: 'https://github.com/aws/amazon-vpc-cni-k8s/pull/2138',
  },
  {
    id: 'NFTABLES-NEEDS-VPC-CNI-1.23',
    addon: 'vpc-cni',
    versions: { below: VPC_CNI_NFTABLES },
    kubernetes: null,
    proxyMode: 'nftables',
    severity: 'MEDIUM',
    title: 'kube-proxy nftables mode with a VPC CNI before v1.23.0',
    text: 'EKS documents the VPC CNI as compatible with kube-proxy nftables mode only from v1.23.0.',
    fix: 'Upgrade the vpc-cni add-on to v1.23.0 or later, or run kube-proxy in another mode until then.',
    action: { upgrade: 'vpc-cni', to: VPC_CNI_NFTABLES },
    source: 'https://docs.aws.amazon.com/eks/latest/best-practices/nftables.html',
  },
  {
    id: 'KUBE-PROXY-FULL-RESTORE',
    addon: 'kube-proxy',
    versions: { below: KUBE_PROXY_PARTIAL_SYNC_DEFAULT },
    kubernetes: null,
    proxyMode: 'iptables',
    severity: 'MEDIUM',
    title: 'kube-proxy before 1.27 rewrites the whole ruleset on every sync',
    text:
      'kube-proxy writes only the Service chains that changed since the last sync when MinimizeIPTablesRestore ' +
      '(KEP-3453) is on: alpha and off by default in 1.26, beta and on by default from 1.27 ' +
      '(kubernetes/kubernetes#115138). Before that every sync restores the whole ruleset, holding the xtables ' +
      'lock for all of it.',
    fix:
      'Upgrade the cluster and its kube-proxy add-on to 1.28 or later, one minor version at a time; meanwhile keep ' +
      'minSyncPeriod at its 1 s default or above so bursts of changes batch into one write.',
    action: null,
    source: 'https://github.com/kubernetes/kubernetes/pull/115138',
  },
  {
    id: 'KUBE-PROXY-PARTIAL-SYNC-BETA',
    addon: 'kube-proxy',
    versions: { atLeast: KUBE_PROXY_PARTIAL_SYNC_DEFAULT, below: KUBE_PROXY_PARTIAL_SYNC_LOCKED },
    kubernetes: null,
    proxyMode: 'iptables',
    severity: 'LOW',
    title: 'kube-proxy 1.27 writes partial syncs only while a beta feature gate stays on',
    text:
      'In 1.27 partial syncs (MinimizeIPTablesRestore, KEP-3453) are a beta feature, on by default but still ' +
      'switchable off with `--feature-gates=MinimizeIPTablesRestore=false`, which brings back whole-ruleset writes ' +
      '(kubernetes/kubernetes#115138). From 1.28 the gate is GA and locked on (pkg/features/kube_features.go).',
    fix: 'Check kube-proxy’s feature gates keep MinimizeIPTablesRestore on, and plan the upgrade to 1.28 or later.',
    action: null,
    source: 'https://github.com/kubernetes/kubernetes/pull/115138',
  },
  {
    id: 'IPVS-DEPRECATED',
    addon: null,
    versions: null,
    kubernetes: { atLeast: KUBERNETES_IPVS_DEPRECATED },
    proxyMode: 'ipvs',
    severity: 'LOW',
    title: 'kube-proxy IPVS mode is deprecated from Kubernetes 1.35',
    text: 'IPVS mode is deprecated as of Kubernetes v1.35; nftables mode is the recommended replacement.',
    fix: 'Plan the move to nftables mode (needs VPC CNI v1.23.0+ and kernel 5.13+).',
    action: { proxyMode: 'nftables' },
    source: 'https://kubernetes.io/docs/reference/networking/virtual-ips/',
  },
];

/** Three-valued: an advisory applies, does not, or cannot be judged from what is known. */
export type Judgement = 'applies' | 'does-not-apply' | 'unknown';

/** What the audit knows for judging advisories. */
export interface AdvisoryFacts {
  vpcCni: Version | null;
  kubeProxy: Version | null;
  kubernetes: Version | null;
  /** proxy modes seen; `modesComplete` when no node or add-on could add another */
  modes: ReadonlySet<ProxyMode>;
  modesComplete: boolean;
}

export function inRange(version: Version, range: VersionRange): boolean {
  const low = parseVersion(range.atLeast);
  const high = parseVersion(range.below);
  return (low === null || compareVersions(version, low) >= 0) && (high === null || compareVersions(version, high) < 0);
}

/** Judges one advisory: does-not-apply as soon as one known condition fails, unknown when one cannot be read. */
export function judge(advisory: Advisory, facts: AdvisoryFacts): Judgement {
  const conditions: Array<boolean | null> = [];
  if (advisory.versions) {
    const version = advisory.addon === 'kube-proxy' ? facts.kubeProxy : facts.vpcCni;
    conditions.push(version === null ? null : inRange(version, advisory.versions));
  }
  if (advisory.kubernetes) {
    conditions.push(facts.kubernetes === null ? null : inRange(facts.kubernetes, advisory.kubernetes));
  }
  if (advisory.proxyMode) {
    conditions.push(facts.modes.has(advisory.proxyMode) ? true : facts.modesComplete ? false : null);
  }
  if (conditions.includes(false)) return 'does-not-apply';
  if (conditions.includes(null)) return 'unknown';
  return 'applies';
}
