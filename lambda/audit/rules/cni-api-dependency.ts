import type { Remediation } from '../model.js';
import { compareVersions, formatVersion } from '../versions.js';
import { iptablesModeNodes, serviceCount, vpcCniVersion } from './facts.js';
import { LINKS } from './links.js';
import {
  API_INDEPENDENT_START_VPC_CNI,
  addonRemediation,
  CLUSTER_ENDPOINT_MIN_VPC_CNI,
  clusterEndpointChange,
} from './remediation.js';
import { affectedNodes, type Rule, type RuleContext } from './rule.js';

/** aws-node reaches the API server through kube-proxy's rules, which take long to appear with many Services. */
export const cniApiDependency: Rule = {
  id: 'CNI-API-DEPENDENCY',
  title: 'The VPC CNI depends on kube-proxy to reach the API server',
  why:
    'Without CLUSTER_ENDPOINT, ipamd reaches the API server through the `kubernetes` Service, i.e. through rules ' +
    'kube-proxy has to write first. With many Services in iptables mode that first sync is slow and contends ' +
    'for the xtables lock with aws-node itself, so new nodes start slowly and aws-node can crash-loop. The ' +
    'maintainers’ first workaround in aws/amazon-vpc-cni-k8s#2948 is to set CLUSTER_ENDPOINT. From VPC CNI ' +
    'v1.19.4 ipamd waits only 30 s for the API server and then proceeds without it, reading maxPods from its ' +
    'local eni-max-pods.txt (aws/amazon-vpc-cni-k8s#3243, released on release-1.19 through #3256), unless pod ' +
    'ENIs (`ENABLE_POD_ENI`, security groups for pods) or custom networking (`AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG`) ' +
    'are on, which still need the API server at start. Where both are known to be off the dependency costs at ' +
    'most 30 s per node start, so it is only LOW.',
  severities: ['MEDIUM', 'LOW'],
  judges:
    'p50 over iptables-mode nodes of `iptables.kubeServiceChains` above `servicesMedium`, and at least one ' +
    'iptables-mode node with `awsNode.clusterEndpointSet === false` (null is unknown, not false). LOW instead of ' +
    'MEDIUM when the VPC CNI is v1.19.4 or later and every such node reports `awsNode.podEni` and ' +
    '`awsNode.customNetworking` both false (on, or null, keeps it MEDIUM).',
  thresholds: ['servicesMedium'],
  notEvaluatedWhen:
    'the Service count is unknown (no iptables-mode node reported it), or it is above the threshold and no ' +
    'iptables-mode node reported whether CLUSTER_ENDPOINT is set',
  remediation:
    'Set `env.CLUSTER_ENDPOINT` on the vpc-cni add-on to the cluster’s API server endpoint (from the evidence, or ' +
    'looked up by the command), merged with its current configurationValues; VPC CNI older than v1.12.1 must be ' +
    'upgraded first.',
  links: [LINKS.cniIssue2948, LINKS.cniPr3243, LINKS.cniPr2138, LINKS.cniReadme, LINKS.eksVpcCni],
  evaluate(context) {
    const { nodes, thresholds } = context;
    const { services, counted } = serviceCount(context);
    if (services === null) {
      return { kind: 'not-evaluated', reason: 'no iptables-mode node reported its KUBE-SVC chain count' };
    }
    if (services <= thresholds.servicesMedium) return { kind: 'passed' };
    const iptablesNodes = iptablesModeNodes(nodes);
    const known = iptablesNodes.filter((n) => n.report.awsNode?.clusterEndpointSet != null);
    const missing = known.filter((n) => n.report.awsNode?.clusterEndpointSet === false);
    if (known.length === 0) {
      return { kind: 'not-evaluated', reason: 'no iptables-mode node reported whether CLUSTER_ENDPOINT is set' };
    }
    if (missing.length === 0) return { kind: 'passed' };
    const cni = vpcCniVersion(context.evidence, nodes);
    const proceedsWithout = cni.version !== null && compareVersions(cni.version, API_INDEPENDENT_START_VPC_CNI) >= 0;
    const needsApiAtStart = missing.filter(
      (n) => n.report.awsNode?.podEni !== false || n.report.awsNode?.customNetworking !== false,
    );
    const low = proceedsWithout && needsApiAtStart.length === 0;
    return {
      kind: 'fired',
      severity: low ? 'LOW' : 'MEDIUM',
      evidence: {
        summary:
          `CLUSTER_ENDPOINT is unset on ${missing.length} of ${known.length} iptables-mode nodes that reported it, ` +
          `with ${services} Services (p50 over ${counted} nodes, threshold ${thresholds.servicesMedium})` +
          (low
            ? `; VPC CNI ${formatVersion(cni.version ?? API_INDEPENDENT_START_VPC_CNI)} proceeds without the API ` +
              'server after 30 s (no pod ENIs or custom networking on these nodes).'
            : proceedsWithout
              ? '; pod ENIs or custom networking (on, or unknown) still need the API server at start.'
              : '.'),
        values: {
          servicesP50: services,
          threshold: thresholds.servicesMedium,
          nodesWithoutClusterEndpoint: missing.length,
          nodesReportingClusterEndpoint: known.length,
          nodesNeedingApiAtStart: needsApiAtStart.length,
          vpcCniVersion: cni.raw,
          endpoint: context.evidence.endpoint,
        },
        ...affectedNodes(missing.map((n) => n.instanceId)),
      },
      remediation: endpointRemediation(context),
    };
  },
};

function endpointRemediation(context: RuleContext): Remediation {
  const { evidence, nodes } = context;
  const cni = vpcCniVersion(evidence, nodes);
  if (cni.version !== null && compareVersions(cni.version, CLUSTER_ENDPOINT_MIN_VPC_CNI) < 0) {
    return {
      summary:
        `VPC CNI ${formatVersion(cni.version)} cannot use CLUSTER_ENDPOINT (added in v1.12.1). Upgrade the vpc-cni ` +
        'add-on one minor version at a time, then set env.CLUSTER_ENDPOINT to the cluster endpoint.',
      configurationValues: null,
      command: null,
      links: [LINKS.cniPr2138, LINKS.eksManagingVpcCni],
    };
  }
  return addonRemediation(
    evidence,
    'vpc-cni',
    clusterEndpointChange(evidence),
    'Set CLUSTER_ENDPOINT on aws-node so ipamd reaches the API server without waiting for kube-proxy. Enable ' +
      'private endpoint access first, or the CNI’s API traffic leaves through the NAT gateway. New aws-node pods ' +
      'pick it up as the DaemonSet rolls.' +
      (evidence.endpoint === null ? ' The command looks the endpoint up with `aws eks describe-cluster`.' : ''),
    [LINKS.cniReadme, LINKS.cniIssue2948, LINKS.eksManagingVpcCni],
  );
}
