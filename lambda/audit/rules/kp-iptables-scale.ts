import { p50 } from '../aggregate.js';
import { affectedNodes, type Rule } from './rule.js';

const IPVS_DOC = 'https://docs.aws.amazon.com/eks/latest/best-practices/ipvs.html';
const NFTABLES_DOC = 'https://docs.aws.amazon.com/eks/latest/best-practices/nftables.html';

/** kube-proxy in iptables mode with many Services rewrites tens of thousands of rules on every sync. */
export const kpIptablesScale: Rule = {
  id: 'KP-IPTABLES-SCALE',
  title: 'kube-proxy runs in iptables mode with many Services',
  why:
    'In iptables mode kube-proxy rewrites every Service and endpoint rule on each sync. Above roughly 500 Services ' +
    'the ruleset runs to tens of thousands of rules, every iptables call slows down, and the xtables lock it holds ' +
    'blocks the VPC CNI (aws-node), which waits for it without a time limit. Above 1,000 Services EKS guidance is ' +
    'to leave iptables mode.',
  severities: ['HIGH', 'MEDIUM'],
  judges:
    'p50 over nodes whose kube-proxy mode is iptables of `iptables.kubeServiceChains`; MEDIUM above ' +
    '`servicesMedium` (500), HIGH above `servicesHigh` (1,000)',
  links: [IPVS_DOC, NFTABLES_DOC, 'https://github.com/aws/amazon-vpc-cni-k8s/issues/2948'],
  evaluate({ nodes, thresholds }) {
    const iptablesNodes = nodes.filter((n) => n.report.kubeProxy?.mode === 'iptables');
    const counted = iptablesNodes.filter((n) => n.report.iptables?.kubeServiceChains != null);
    if (counted.length === 0) {
      return {
        kind: 'not-evaluated',
        reason:
          iptablesNodes.length === 0
            ? 'no reached node reported kube-proxy in iptables mode'
            : 'no iptables-mode node reported its KUBE-SVC chain count',
      };
    }
    const services = p50(counted.map((n) => n.report.iptables?.kubeServiceChains)) ?? 0;
    if (services <= thresholds.servicesMedium) return { kind: 'passed' };
    const severity = services > thresholds.servicesHigh ? 'HIGH' : 'MEDIUM';
    const over = counted.filter((n) => (n.report.iptables?.kubeServiceChains ?? 0) > thresholds.servicesMedium);
    return {
      kind: 'fired',
      severity,
      evidence: {
        summary:
          `kube-proxy runs in iptables mode with ${services} Services (p50 of KUBE-SVC chains over ` +
          `${counted.length} nodes); the threshold is ${severity === 'HIGH' ? thresholds.servicesHigh : thresholds.servicesMedium}.`,
        values: {
          servicesP50: services,
          iptablesModeNodes: iptablesNodes.length,
          threshold: severity === 'HIGH' ? thresholds.servicesHigh : thresholds.servicesMedium,
        },
        ...affectedNodes(over.map((n) => n.instanceId)),
      },
      remediation: {
        summary:
          'Move kube-proxy off iptables mode: nftables mode on Kubernetes 1.33+ with VPC CNI v1.23.0+, or IPVS ' +
          'mode on older clusters (deprecated from 1.35). The change is disruptive: roll nodes off-hours.',
        configurationValues: { mode: 'ipvs', ipvs: { scheduler: 'rr' } },
        command:
          'aws eks update-addon --cluster-name <cluster> --addon-name kube-proxy ' +
          `--configuration-values '{"mode":"ipvs","ipvs":{"scheduler":"rr"}}' --resolve-conflicts OVERWRITE`,
        links: [IPVS_DOC, NFTABLES_DOC],
      },
    };
  },
};
