import { max as maxOf } from '../aggregate.js';
import { LINKS } from './links.js';
import { affectedNodes, type Rule } from './rule.js';

/** kube-proxy's rules are in both iptables-legacy and iptables-nft on a node. */
export const iptMixedBackend: Rule = {
  id: 'IPT-MIXED-BACKEND',
  title: 'kube-proxy rules exist in both iptables backends',
  why:
    'iptables-legacy and iptables-nft keep separate rulesets, and each tool sees only its own. When kube-proxy ' +
    'rules exist in both, some component writes with the other backend than kube-proxy: its rules are invisible ' +
    'to kube-proxy, stale rules are never cleaned up, traffic can match either set, and the legacy writers still ' +
    'serialise on the xtables lock.',
  severities: ['HIGH'],
  judges: 'Any node whose `iptables.backend` is `mixed` (kube-proxy chains seen by both backends’ save).',
  thresholds: [],
  notEvaluatedWhen: 'no reached node reported its iptables backend',
  remediation:
    'No add-on setting fixes it: find the writer using the other backend (an old image or self-managed DaemonSet ' +
    'without iptables-wrapper), fix it, then replace the affected nodes so the stale ruleset goes.',
  links: [LINKS.k8sIssue107965, LINKS.iptablesWrappers],
  evaluate({ nodes }) {
    const known = nodes.filter((n) => n.report.iptables?.backend != null);
    if (known.length === 0) return { kind: 'not-evaluated', reason: 'no reached node reported its iptables backend' };
    const mixed = known.filter((n) => n.report.iptables?.backend === 'mixed');
    if (mixed.length === 0) return { kind: 'passed' };
    const counts = new Map<string, number>();
    for (const n of known) {
      const backend = n.report.iptables?.backend ?? 'unknown';
      counts.set(backend, (counts.get(backend) ?? 0) + 1);
    }
    const backends = [...counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([b, c]) => `${b} ${c}`)
      .join(', ');
    return {
      kind: 'fired',
      severity: 'HIGH',
      evidence: {
        summary: `${mixed.length} of ${known.length} nodes have kube-proxy rules in both iptables-legacy and iptables-nft (backends: ${backends}).`,
        values: {
          mixedNodes: mixed.length,
          nodesWithBackend: known.length,
          backends,
          maxLegacyRules: maxOf(mixed.map((n) => n.report.iptables?.legacyRules)),
          maxNftRules: maxOf(mixed.map((n) => n.report.iptables?.nftRules)),
        },
        ...affectedNodes(mixed.map((n) => n.instanceId)),
      },
      remediation: {
        summary:
          'On an affected node compare `iptables-legacy-save | grep -c "^-A KUBE-"` with `iptables-nft-save | grep -c ' +
          '"^-A KUBE-"` and find which DaemonSet writes with the backend the node does not use (AL2023 uses nft; ' +
          'images should pick the backend with iptables-wrapper). Fix that image, then drain and replace the affected ' +
          'nodes: kube-proxy does not remove rules from the other backend.',
        configurationValues: null,
        command: null,
        links: [LINKS.k8sIssue107965, LINKS.iptablesWrappers],
      },
    };
  },
};
