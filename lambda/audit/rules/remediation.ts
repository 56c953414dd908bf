import { mergeIntoAddon } from '../addon-config.js';
import {
  KUBERNETES_IPVS_DEPRECATED,
  VPC_CNI_API_INDEPENDENT_START,
  VPC_CNI_CLUSTER_ENDPOINT,
  VPC_CNI_NFTABLES,
} from '../advisories.js';
import { eksClusterArn } from '../arn.js';
import type { ClusterEvidence, ClusterRef, Remediation } from '../model.js';
import { hasUnsafe, safeJson } from '../render/escape.js';
import { compareVersions, formatVersion, versionOf } from '../versions.js';
import { kubernetesVersion, plural, vpcCniVersion } from './facts.js';
import { LINKS } from './links.js';
import type { RuleContext } from './rule.js';

/** Add-ons whose configurationValues the rules change. */
export type AddonName = 'kube-proxy' | 'vpc-cni';

type Configuration = Record<string, unknown>;

/** Stands in for the API server endpoint when the evidence has none; the command then looks it up itself. */
export const ENDPOINT_PLACEHOLDER = '<the cluster API server endpoint>';

/** Kubernetes and VPC CNI versions from which kube-proxy nftables mode is recommended (EKS best practices). */
export const NFTABLES_MIN_KUBERNETES = versionOf('1.33');
export const NFTABLES_MIN_VPC_CNI = versionOf(VPC_CNI_NFTABLES);
/** nftables mode needs kernel 5.13+ (Kubernetes virtual-ips docs): AL2023 has it, AL2 (5.10) does not. */
export const NFTABLES_MIN_KERNEL = { major: 5, minor: 13 };
/** kube-proxy IPVS mode is deprecated from this Kubernetes version. */
export const IPVS_DEPRECATED_FROM = versionOf(KUBERNETES_IPVS_DEPRECATED);
/** First VPC CNI version that reads CLUSTER_ENDPOINT (#2138). */
export const CLUSTER_ENDPOINT_MIN_VPC_CNI = versionOf(VPC_CNI_CLUSTER_ENDPOINT);
/** First VPC CNI version whose ipamd no longer exits when the API server is unreachable at start (#3243). */
export const API_INDEPENDENT_START_VPC_CNI = versionOf(VPC_CNI_API_INDEPENDENT_START);

/**
 * Quotes a word for POSIX shells: in single quotes, where nothing but `'` is special (POSIX Shell Command Language
 * 2.2.2; a `'` is written `'\''`). Text with control, bidi or zero-width characters, which a terminal would act on
 * or hide, is written as `"$(printf '%b' '…')"` with those bytes as `\0ooo` octal escapes (printf %b, POSIX
 * printf(1)), so the command stays one line of plain characters and still passes the text byte for byte (trailing
 * newlines excepted, which command substitution removes).
 * https://pubs.opengroup.org/onlinepubs/9799919799/utilities/V3_chap02.html#tag_19_02_02
 * https://pubs.opengroup.org/onlinepubs/9799919799/utilities/printf.html
 */
export function shellQuote(text: string): string {
  if (/^[A-Za-z0-9._/:=@%+,-]+$/.test(text)) return text;
  if (!hasUnsafe(text)) return `'${text.replaceAll("'", `'\\''`)}'`;
  let escaped = '';
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    if (c === '\\') escaped += '\\\\';
    else if (c === "'") escaped += `'\\''`;
    else if (byte >= 0x20 && byte < 0x7f) escaped += c;
    else escaped += `\\0${byte.toString(8).padStart(3, '0')}`;
  }
  return `"$(printf '%b' '${escaped}')"`;
}

function regionFlag(cluster: ClusterRef): string {
  return cluster.region ? ` --region ${shellQuote(cluster.region)}` : '';
}

/**
 * `aws eks update-addon … --configuration-values '…' --resolve-conflicts PRESERVE` for the cluster. When the
 * configuration holds ENDPOINT_PLACEHOLDER, the command fills it from `aws eks describe-cluster` itself.
 */
export function updateAddonCommand(
  cluster: ClusterRef,
  addon: AddonName,
  configuration: Configuration | string,
): string {
  const json = typeof configuration === 'string' ? configuration : safeJson(configuration);
  const placeholder = JSON.stringify(ENDPOINT_PLACEHOLDER);
  let values = shellQuote(json);
  if (json.includes(placeholder)) {
    // printf reads backslash escapes and `%` in its format (bash's also \u): both doubled, so JSON's escapes stay
    const format = json.replaceAll('\\', '\\\\').replaceAll('%', '%%').replace(placeholder, '"%s"');
    const describe =
      `aws eks describe-cluster --name ${shellQuote(cluster.name)}${regionFlag(cluster)} ` +
      '--query cluster.endpoint --output text';
    values = `"$(printf ${shellQuote(format)} "$(${describe})")"`;
  }
  return (
    `aws eks update-addon --cluster-name ${shellQuote(cluster.name)} --addon-name ${addon} ` +
    `--configuration-values ${values} --resolve-conflicts PRESERVE${regionFlag(cluster)}`
  );
}

/**
 * A remediation that changes an add-on: the add-on's current configurationValues with `change` merged in, and
 * the command that applies them. When the evidence does not include the add-on (e.g. `fleet-audit score`), the
 * summary says to merge by hand, since update-addon sets the configuration as a whole.
 */
export function addonRemediation(
  evidence: ClusterEvidence,
  addon: AddonName,
  change: Configuration,
  summary: string,
  links: ReadonlyArray<string>,
): Remediation {
  const current = addon === 'kube-proxy' ? evidence.addons.kubeProxy : evidence.addons.vpcCni;
  const merged = mergeIntoAddon(current, change);
  const describe =
    `\`aws eks describe-addon --cluster-name ${shellQuote(evidence.cluster.name)} --addon-name ${addon} ` +
    '--query addon.configurationValues`';
  if (merged.kind === 'unmergeable') {
    return {
      summary:
        `${summary} The ${addon} add-on's current configurationValues are ${merged.problem}, so this change cannot ` +
        `be merged into them; update-addon sets them as a whole, so merge it by hand into the output of ${describe}.`,
      configurationValues: merged.values,
      command: null,
      links: [...links],
    };
  }
  const unseen =
    current === null
      ? ` This audit did not see the ${addon} add-on's current configurationValues; update-addon sets them as a ` +
        `whole, so merge this change into the output of ${describe} first.`
      : '';
  const yaml =
    merged.format === 'yaml' ? ' The command keeps the current values in YAML, as written, with their comments.' : '';
  const kubeProxy = addon === 'kube-proxy';
  const restartText = kubeProxy
    ? ` Then restart kube-proxy (the command waits for the add-on update, then does): running pods keep their old ` +
      `configuration. ${kubectlContextNote(evidence.cluster)}`
    : '';
  const update = updateAddonCommand(evidence.cluster, addon, merged.format === 'yaml' ? merged.text : merged.values);
  return {
    summary: `${summary}${restartText}${unseen}${yaml}`,
    configurationValues: merged.values,
    command: kubeProxy ? `${update} && ${kubeProxyRestartCommand(evidence.cluster)}` : update,
    links: [...links],
  };
}

/**
 * Restarts kube-proxy's pods so they read a changed configuration. kube-proxy does watch its config file and exits
 * on a Write or Rename event (kubernetes cmd/kube-proxy/app/options.go, `eventHandler`), but the EKS add-on mounts
 * the file from a ConfigMap, and kubelet updates a ConfigMap volume by writing a new timestamped directory and
 * swapping the `..data` symlink (kubernetes pkg/volume/util/atomic_writer.go): the watched file is removed, not
 * written, so running pods keep the configuration they started with until they are restarted.
 */
export const KUBE_PROXY_RESTART = 'kubectl -n kube-system rollout restart daemonset/kube-proxy';

/**
 * The kubeconfig context `aws eks update-kubeconfig` creates for a cluster: without `--alias` it is named after the
 * cluster ARN (AWS CLI reference, eks update-kubeconfig, `--alias`); null when account or region is unknown.
 */
export function kubeconfigContext(cluster: ClusterRef): string | null {
  if (!cluster.account || !cluster.region) return null;
  return eksClusterArn(cluster.account, cluster.region, cluster.name);
}

/**
 * Waits for the add-on update to finish (`aws eks wait addon-active` polls DescribeAddon until ACTIVE), then
 * restarts kube-proxy in this cluster's kubeconfig context, never the current one, which may be another cluster.
 */
export function kubeProxyRestartCommand(cluster: ClusterRef): string {
  const wait = `aws eks wait addon-active --cluster-name ${shellQuote(cluster.name)} --addon-name kube-proxy${regionFlag(cluster)}`;
  return `${wait} && ${kubeProxyRestartInCluster(cluster)}`;
}

/** KUBE_PROXY_RESTART in the cluster's own kubeconfig context when it is known. */
export function kubeProxyRestartInCluster(cluster: ClusterRef): string {
  const context = kubeconfigContext(cluster);
  return context === null
    ? KUBE_PROXY_RESTART
    : KUBE_PROXY_RESTART.replace('kubectl', `kubectl --context ${shellQuote(context)}`);
}

/** Says which kubeconfig context the command's kubectl uses. */
export function kubectlContextNote(cluster: ClusterRef): string {
  const context = kubeconfigContext(cluster);
  return context === null
    ? 'Point kubectl at this cluster first.'
    : `kubectl uses the context \`aws eks update-kubeconfig\` names after the cluster ARN (${context}).`;
}

/** The `env.CLUSTER_ENDPOINT` change for aws-node, with the cluster's endpoint when the evidence has it. */
export function clusterEndpointChange(evidence: ClusterEvidence): Configuration {
  return { env: { CLUSTER_ENDPOINT: evidence.endpoint ?? ENDPOINT_PLACEHOLDER } };
}

/** Text shared by remediations that touch the kube-proxy add-on. */
export const SELF_MANAGED_KUBE_PROXY =
  'If kube-proxy is self-managed rather than an EKS add-on, make the same change in ConfigMap ' +
  'kube-system/kube-proxy-config and restart it the same way.';

function kernelBelowNftablesMinimum(kernel: string | null | undefined): boolean {
  const match = /^(\d+)\.(\d+)/.exec(kernel ?? '');
  if (!match) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return (
    major < NFTABLES_MIN_KERNEL.major || (major === NFTABLES_MIN_KERNEL.major && minor < NFTABLES_MIN_KERNEL.minor)
  );
}

/**
 * Moving kube-proxy off iptables mode, chosen by the cluster's evidence: nftables mode when Kubernetes ≥ 1.33,
 * VPC CNI ≥ v1.23.0 and no reached node reports a kernel older than 5.13; IPVS mode otherwise (with the reason).
 * `lead` opens the summary (what the finding means for this cluster).
 */
export function proxyModeRemediation({ evidence, nodes }: RuleContext, lead: string): Remediation {
  const k8s = kubernetesVersion(evidence);
  const cni = vpcCniVersion(evidence, nodes);
  const oldKernels = nodes.filter((n) => kernelBelowNftablesMinimum(n.report.node?.kernel)).length;
  const k8sText = k8s.version ? `Kubernetes ${k8s.raw}` : 'an unknown Kubernetes version';
  const cniText = cni.version ? `VPC CNI ${formatVersion(cni.version)}` : 'an unknown VPC CNI version';
  const k8sOk = k8s.version !== null && compareVersions(k8s.version, NFTABLES_MIN_KUBERNETES) >= 0;
  const cniOk = cni.version !== null && compareVersions(cni.version, NFTABLES_MIN_VPC_CNI) >= 0;
  const disruptive = 'The change is disruptive: apply it off-hours and replace or reboot nodes so old rules go.';
  if (k8sOk && cniOk && oldKernels === 0) {
    return addonRemediation(
      evidence,
      'kube-proxy',
      { mode: 'nftables' },
      `${lead} Switch kube-proxy to nftables mode: the cluster runs ${k8sText} (nftables mode is GA from 1.33) ` +
        `and ${cniText} (compatible from v1.23.0); nodes need kernel 5.13 or later (AL2023 has it, AL2 does not). ` +
        `${disruptive} Watch aws/amazon-vpc-cni-k8s#3563 (Services from pods on secondary ENIs, open). ` +
        SELF_MANAGED_KUBE_PROXY,
      [LINKS.eksNftables, LINKS.cniIssue3563, LINKS.eksManagingKubeProxy],
    );
  }
  const blockers = [
    k8sOk ? null : `${k8sText} (nftables mode needs 1.33+)`,
    cniOk ? null : `${cniText} (nftables mode needs v1.23.0+)`,
    oldKernels === 0 ? null : `${plural(oldKernels, 'node')} with a kernel older than 5.13`,
  ].filter((b): b is string => b !== null);
  const deprecated =
    k8s.version !== null && compareVersions(k8s.version, IPVS_DEPRECATED_FROM) >= 0
      ? ' IPVS is deprecated on this Kubernetes version: treat it as a bridge and move to nftables as soon as the blockers are gone.'
      : ' IPVS is deprecated from Kubernetes 1.35: move to nftables once on 1.33+ with VPC CNI v1.23.0+.';
  return addonRemediation(
    evidence,
    'kube-proxy',
    { mode: 'ipvs', ipvs: { scheduler: 'rr' } },
    `${lead} Switch kube-proxy to IPVS mode (nodes need the ip_vs kernel modules and ipvsadm); nftables mode is ` +
      `not recommended yet because of ${blockers.join(', ')}.${deprecated} ${disruptive} ${SELF_MANAGED_KUBE_PROXY}`,
    [LINKS.eksIpvs, LINKS.eksNftables, LINKS.eksManagingKubeProxy],
  );
}

/**
 * Raising kube-proxy's minSyncPeriod for its mode, so bursts of changes batch into fewer syncs. The value
 * suggested is twice the observed p95 sync time rounded up to whole seconds, between 2 s and 30 s: a heuristic.
 */
export function minSyncPeriodChange(
  mode: 'iptables' | 'ipvs' | 'nftables',
  observedSeconds: number | null,
): { change: Configuration; value: string } {
  const seconds = Math.min(30, Math.max(2, Math.ceil((observedSeconds ?? 1) * 2)));
  const value = `${seconds}s`;
  return { change: { [mode]: { minSyncPeriod: value } }, value };
}

/** Says plainly that the add-on schema key is unverified. */
export const MIN_SYNC_PERIOD_UNVERIFIED =
  'Unverified: whether the EKS kube-proxy add-on schema accepts this key; check with `aws eks ' +
  'describe-addon-configuration --addon-name kube-proxy --addon-version <version> --query configurationSchema` ' +
  'and, if it is absent, set it in ConfigMap kube-system/kube-proxy-config.';
