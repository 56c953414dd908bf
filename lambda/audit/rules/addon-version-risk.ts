import { ADVISORIES, type Advisory, type AdvisoryFacts, inRange, judge } from '../advisories.js';
import { type ClusterEvidence, mostSevereFirst, type Remediation } from '../model.js';
import { compareVersions, formatVersion, parseVersion, versionOf } from '../versions.js';
import { kubernetesVersion, proxyModes, type VersionFact, vpcCniVersion } from './facts.js';
import { LINKS } from './links.js';
import { addonRemediation, NFTABLES_MIN_VPC_CNI, SELF_MANAGED_KUBE_PROXY, shellQuote } from './remediation.js';
import { affectedNodes, type ReportedNode, type Rule } from './rule.js';

/** The facts advisories are judged on, with a line for each one the audit does not know. */
function advisoryFacts(evidence: ClusterEvidence, nodes: ReadonlyArray<ReportedNode>) {
  const cni = vpcCniVersion(evidence, nodes);
  const k8s = kubernetesVersion(evidence);
  const { modes, complete } = proxyModes(evidence, nodes);
  const unreadable = evidence.addons.kubeProxy?.configurationProblem ?? null;
  const facts: AdvisoryFacts = {
    vpcCni: cni.version,
    kubeProxy: parseVersion(evidence.addons.kubeProxy?.version),
    kubernetes: k8s.version,
    modes,
    modesComplete: complete || (evidence.addons.kubeProxy !== null && unreadable === null),
  };
  const unknown = (what: string, raw: string | null) =>
    raw === null ? `${what} unknown` : `${what} ${JSON.stringify(raw)} does not parse`;
  const gaps = {
    'vpc-cni': cni.version ? null : unknown('VPC CNI version', cni.raw),
    'kube-proxy': facts.kubeProxy
      ? null
      : unknown('kube-proxy add-on version', evidence.addons.kubeProxy?.version ?? null),
    kubernetes: k8s.version ? null : unknown('Kubernetes version', k8s.raw),
    mode: facts.modesComplete
      ? null
      : `kube-proxy mode not reported by every node${
          unreadable === null ? '' : ` and the kube-proxy add-on's configurationValues are ${unreadable}`
        }`,
  };
  return { facts, cni, k8s, gaps };
}

/** Why an advisory could not be judged: the unknown facts among its conditions. */
function gapsOf(advisory: Advisory, gaps: Record<'vpc-cni' | 'kube-proxy' | 'kubernetes' | 'mode', string | null>) {
  return [
    advisory.versions && advisory.addon ? gaps[advisory.addon] : null,
    advisory.kubernetes ? gaps.kubernetes : null,
    advisory.proxyMode ? gaps.mode : null,
  ].filter((g): g is string => g !== null);
}

/** Add-on versions (and the modes they run in) with known behaviour, from the advisories table. */
export const addonVersionRisk: Rule = {
  id: 'ADDON-VERSION-RISK',
  title: 'Add-on versions with known xtables-related behaviour',
  why:
    'Some VPC CNI versions and kube-proxy modes behave worse under xtables-lock contention or do not fit together: ' +
    'before v1.19.4 ipamd exits when it cannot reach the API server at start, before v1.12.1 it cannot bypass ' +
    'kube-proxy with CLUSTER_ENDPOINT, kube-proxy nftables mode needs VPC CNI v1.23.0, and IPVS mode is ' +
    'deprecated from Kubernetes 1.35. Each advisory names its source.',
  severities: ['MEDIUM', 'LOW'],
  judges:
    'Each advisory of the table in lambda/audit/advisories.ts against the VPC CNI version (the vpc-cni add-on’s, ' +
    'else the oldest `awsNode.version` on the nodes), the kube-proxy add-on version, the cluster’s Kubernetes ' +
    'version (EKS) and the kube-proxy modes (nodes’ `kubeProxy.mode` plus the add-on’s configured `mode`). The ' +
    'most severe advisory that applies sets the severity.',
  thresholds: [],
  notEvaluatedWhen:
    'no advisory applies and at least one could not be judged: a version that is missing or does not parse ' +
    '(`v1.18.1-eksbuild.3`, `v1.19.4` and `1.31` parse), or a proxy mode not reported by every node',
  remediation:
    'Upgrade the vpc-cni add-on to the highest minimum version the applying advisories name (one minor version at ' +
    'a time), or, for IPVS on 1.35+, switch kube-proxy to nftables when the VPC CNI allows it.',
  links: ADVISORIES.map((a) => a.source),
  evaluate(context) {
    const { evidence, nodes } = context;
    const { facts, cni, k8s, gaps } = advisoryFacts(evidence, nodes);
    const judged = ADVISORIES.map((advisory) => ({ advisory, judgement: judge(advisory, facts) }));
    const applying = judged
      .filter((j) => j.judgement === 'applies')
      .map((j) => j.advisory)
      .sort(mostSevereFirst);
    const unjudged = judged.filter((j) => j.judgement === 'unknown').map((j) => j.advisory);
    const top = applying[0];
    if (!top) {
      if (unjudged.length === 0) return { kind: 'passed' };
      const reasons = [...new Set(unjudged.flatMap((a) => gapsOf(a, gaps)))];
      return {
        kind: 'not-evaluated',
        reason: `${reasons.join('; ')} (advisories not judged: ${unjudged.map((a) => a.id).join(', ')})`,
      };
    }
    // A node is named when its own mode and aws-node version (where it reports them) fit the advisory.
    const affected = nodes.filter((n) =>
      applying.some((a) => {
        const own = parseVersion(n.report.awsNode?.version);
        const versionFits = a.addon !== 'vpc-cni' || a.versions === null || own === null || inRange(own, a.versions);
        const modeFits = a.proxyMode === null || n.report.kubeProxy?.mode === a.proxyMode;
        return versionFits && modeFits;
      }),
    );
    return {
      kind: 'fired',
      severity: top.severity,
      title: applying.length === 1 ? top.title : `${applying.length} add-on version advisories apply`,
      evidence: {
        summary: applying.length === 1 ? top.text : applying.map((a) => `${a.id}: ${a.text}`).join(' '),
        values: {
          advisories: applying.map((a) => a.id).join(', '),
          vpcCniVersion: cni.raw,
          vpcCniVersionFrom: cni.source,
          kubeProxyAddonVersion: evidence.addons.kubeProxy?.version ?? null,
          kubernetesVersion: k8s.raw,
          kubeProxyModes: [...facts.modes].sort().join(', ') || null,
          notJudged: unjudged.length > 0 ? unjudged.map((a) => a.id).join(', ') : null,
        },
        ...affectedNodes(affected.map((n) => n.instanceId)),
      },
      remediation: advisoryRemediation(evidence, applying, cni),
    };
  },
};

function advisoryRemediation(
  evidence: ClusterEvidence,
  applying: ReadonlyArray<Advisory>,
  cni: VersionFact,
): Remediation {
  const { cluster } = evidence;
  const links = [...new Set([...applying.map((a) => a.source), LINKS.eksManagingVpcCni])];
  const fixes = applying.map((a) => a.fix).join(' ');
  const wantsNftables = applying.some((a) => a.action !== null && 'proxyMode' in a.action);
  const nftablesReady = cni.version !== null && compareVersions(cni.version, NFTABLES_MIN_VPC_CNI) >= 0;
  if (wantsNftables && nftablesReady && !applying.some((a) => a.action !== null && 'upgrade' in a.action)) {
    return addonRemediation(
      evidence,
      'kube-proxy',
      { mode: 'nftables' },
      `${fixes} The change is disruptive: apply it off-hours and roll the nodes. ${SELF_MANAGED_KUBE_PROXY}`,
      [...links, LINKS.eksNftables],
    );
  }
  const minimums = applying.flatMap((a) => (a.action !== null && 'upgrade' in a.action ? [a.action.to] : []));
  if (wantsNftables && !nftablesReady) minimums.push(formatVersion(NFTABLES_MIN_VPC_CNI));
  if (minimums.length === 0) return { summary: fixes, configurationValues: null, command: null, links };
  const target = minimums.map(versionOf).sort(compareVersions).at(-1) ?? NFTABLES_MIN_VPC_CNI;
  const k8s = evidence.kubernetesVersion ? ` --kubernetes-version ${shellQuote(evidence.kubernetesVersion)}` : '';
  const region = cluster.region ? ` --region ${shellQuote(cluster.region)}` : '';
  const list = `aws eks describe-addon-versions --addon-name vpc-cni${k8s}${region} --query 'addons[].addonVersions[].addonVersion'`;
  return {
    summary:
      `${fixes} Pick a vpc-cni version ${formatVersion(target)} or later from \`${list}\`, set VPC_CNI_VERSION to ` +
      'it and run the command.',
    configurationValues: null,
    command:
      `aws eks update-addon --cluster-name ${shellQuote(cluster.name)} --addon-name vpc-cni ` +
      `--addon-version "\${VPC_CNI_VERSION:?set VPC_CNI_VERSION to ${formatVersion(target)} or later}" ` +
      `--resolve-conflicts PRESERVE${region}`,
    links,
  };
}
