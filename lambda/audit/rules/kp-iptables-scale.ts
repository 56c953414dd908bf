import { byNodegroup, iptablesModeNodes, nodegroupBreakdown, nodeServices, plural, serviceCount } from './facts.js';
import { LINKS } from './links.js';
import { proxyModeRemediation } from './remediation.js';
import { affectedNodes, type Rule } from './rule.js';

/** kube-proxy in iptables mode with many Services rewrites tens of thousands of rules on every sync. */
export const kpIptablesScale: Rule = {
  id: 'KP-IPTABLES-SCALE',
  title: 'kube-proxy runs in iptables mode with many Services',
  why:
    'In iptables mode kube-proxy rewrites every Service and endpoint rule on each sync. Above roughly 500 Services ' +
    'the ruleset runs to tens of thousands of rules, every iptables call slows down, and the xtables lock it holds ' +
    'blocks the VPC CNI (aws-node), which waits for it without a time limit. Above 1,000 Services EKS guidance is ' +
    'to leave iptables mode (aws/amazon-vpc-cni-k8s#2948).',
  severities: ['HIGH', 'MEDIUM'],
  judges:
    'p50 over nodes whose kube-proxy mode is iptables of `iptables.kubeServiceChains` (the Service count most ' +
    'nodes see): MEDIUM above `servicesMedium`, HIGH above `servicesHigh`. Nodes in other or unknown modes are ' +
    'not counted.',
  thresholds: ['servicesMedium', 'servicesHigh'],
  notEvaluatedWhen: 'no reached node reports kube-proxy in iptables mode together with its KUBE-SVC chain count',
  remediation:
    'Move kube-proxy off iptables mode through the kube-proxy add-on: `{"mode":"nftables"}` when the cluster runs ' +
    'Kubernetes 1.33+ with VPC CNI v1.23.0+ and no node has a kernel older than 5.13, otherwise ' +
    '`{"mode":"ipvs","ipvs":{"scheduler":"rr"}}` (deprecated from 1.35), merged with the add-on’s current ' +
    'configurationValues.',
  links: [LINKS.eksIpvs, LINKS.eksNftables, LINKS.eksLargeClusters, LINKS.cniIssue2948],
  evaluate(context) {
    const { nodes, thresholds, metrics } = context;
    const iptablesNodes = iptablesModeNodes(nodes);
    const { services, counted } = serviceCount(context);
    if (services === null) {
      return {
        kind: 'not-evaluated',
        reason:
          iptablesNodes.length === 0
            ? 'no reached node reported kube-proxy in iptables mode'
            : 'no iptables-mode node reported its KUBE-SVC chain count',
      };
    }
    if (services <= thresholds.servicesMedium) return { kind: 'passed' };
    const severity = services > thresholds.servicesHigh ? 'HIGH' : 'MEDIUM';
    const threshold = severity === 'HIGH' ? thresholds.servicesHigh : thresholds.servicesMedium;
    const over = nodes.filter((n) => (nodeServices(n.report) ?? 0) > thresholds.servicesMedium);
    return {
      kind: 'fired',
      severity,
      evidence: {
        summary:
          `kube-proxy runs in iptables mode with ${services} Services (p50 of KUBE-SVC chains over ` +
          `${plural(counted, 'node')}), above the ${severity} threshold of ${threshold}.`,
        values: {
          servicesP50: services,
          servicesP95: metrics.services.cluster.p95,
          servicesMax: metrics.services.cluster.max,
          iptablesModeNodes: iptablesNodes.length,
          countedNodes: counted,
          threshold,
          ...byNodegroup(nodegroupBreakdown(metrics.services)),
        },
        ...affectedNodes(over.map((n) => n.instanceId)),
      },
      remediation: proxyModeRemediation(
        context,
        `${services} Services in iptables mode make every kube-proxy sync rewrite a large ruleset under the xtables lock.`,
      ),
    };
  },
};
