import { max as maxOf } from '../aggregate.js';
import type { Remediation } from '../model.js';
import { compareVersions, formatVersion } from '../versions.js';
import { awsNodeRestartsInWindow, plural, sentence, vpcCniVersion } from './facts.js';
import { LINKS } from './links.js';
import {
  API_INDEPENDENT_START_VPC_CNI,
  addonRemediation,
  CLUSTER_ENDPOINT_MIN_VPC_CNI,
  clusterEndpointChange,
} from './remediation.js';
import { affectedNodes, type ReportedNode, type Rule, type RuleContext } from './rule.js';

/** aws-node restarted, or ipamd could not reach the API server. */
export const cniRestarts: Rule = {
  id: 'CNI-RESTARTS',
  title: 'The VPC CNI (aws-node) restarts or cannot reach the API server',
  why:
    'aws-node blocks on the xtables lock without a time limit and, at node start, needs kube-proxy’s rules for ' +
    'the `kubernetes` Service to reach the API server (unless CLUSTER_ENDPOINT is set). When either takes too ' +
    'long its probes fail, kubelet restarts it, the node stays NotReady longer and pods cannot get IP addresses ' +
    '(aws/amazon-vpc-cni-k8s#2948, #2945).',
  severities: ['HIGH', 'MEDIUM'],
  judges:
    'Per node: restarts inside the log window `restarts.awsNodeInWindow` (v1 reports: the pod’s lifetime ' +
    '`restarts.awsNode`; one bad night must not stay HIGH for the node’s whole life) and `logs.ipamdApiUnreachable`. MEDIUM when any node has restarts above ' +
    '`awsNodeRestartsMedium` or API-unreachable lines above `ipamdApiUnreachableMedium`, or CloudWatch counts ' +
    'ipamd API-unreachable lines or aws-node liveness-probe kills (cluster-wide, no node named); HIGH when one ' +
    'node has both, or restarts at or above `awsNodeRestartsHigh`.',
  thresholds: ['awsNodeRestartsMedium', 'awsNodeRestartsHigh', 'ipamdApiUnreachableMedium'],
  notEvaluatedWhen: 'no node reported aws-node restarts or ipamd log counts, and no CloudWatch result is available',
  remediation:
    'On the vpc-cni add-on: set `env.CLUSTER_ENDPOINT` to the cluster endpoint where a node runs without it ' +
    '(VPC CNI v1.12.1+); upgrade to VPC CNI v1.19.4+ when older; when aws-node restarted, give its probes more ' +
    'room with `initialDelaySeconds`/`failureThreshold`: the probe command (grpc-health-probe) has its own 5 s ' +
    'limits, so raising `timeoutSeconds` alone does not help.',
  links: [LINKS.cniIssue2948, LINKS.cniIssue2945, LINKS.eksVpcCni, LINKS.cniPr3243, LINKS.cniPr2138],
  evaluate(context) {
    const { evidence, nodes, thresholds: t } = context;
    const restarts = (n: ReportedNode) => awsNodeRestartsInWindow(n.report);
    const unreachable = (n: ReportedNode) => n.report.logs?.ipamdApiUnreachable ?? null;
    const known = nodes.filter((n) => restarts(n) !== null || unreachable(n) !== null);
    const cw = evidence.logs;
    if (known.length === 0 && cw === null) {
      return {
        kind: 'not-evaluated',
        reason: 'no node reported aws-node restarts or ipamd log counts, and no CloudWatch result is available',
      };
    }
    const restarted = known.filter((n) => (restarts(n) ?? 0) > t.awsNodeRestartsMedium);
    const cutOff = known.filter((n) => (unreachable(n) ?? 0) > t.ipamdApiUnreachableMedium);
    const both = restarted.filter((n) => cutOff.includes(n));
    const many = known.filter((n) => (restarts(n) ?? 0) >= t.awsNodeRestartsHigh);
    const cwUnreachable = cw?.ipamdApiUnreachable ?? null;
    const cwProbeKills = cw?.awsNodeProbeFailures ?? null;
    const cwFired = (cwUnreachable ?? 0) > t.ipamdApiUnreachableMedium || (cwProbeKills ?? 0) > 0;
    if (restarted.length === 0 && cutOff.length === 0 && !cwFired) return { kind: 'passed' };

    const maxRestarts = maxOf(known.map(restarts));
    const summary = sentence([
      restarted.length > 0
        ? `aws-node restarted on ${plural(restarted.length, 'node')} in the window (up to ` +
          `${plural(maxRestarts ?? 0, 'time')})`
        : null,
      cutOff.length > 0 ? `ipamd could not reach the API server on ${plural(cutOff.length, 'node')}` : null,
      both.length > 0 ? `${plural(both.length, 'node')} had both` : null,
      cwFired
        ? cwProbeKills === null
          ? // an indexed query (filterIndex on the container name, lambda/audit/log-query.ts) skips kubelet's journal
            `CloudWatch counted ${cwUnreachable ?? 0} API-unreachable lines in ${cw?.logGroup} (its indexed query ` +
            'does not read kubelet’s journal, where liveness-probe kills are logged)'
          : `CloudWatch counted ${cwUnreachable ?? 0} API-unreachable lines and ${cwProbeKills} aws-node ` +
            `liveness-probe kills in ${cw?.logGroup}`
        : null,
    ]);
    return {
      kind: 'fired',
      severity: both.length > 0 || many.length > 0 ? 'HIGH' : 'MEDIUM',
      evidence: {
        summary,
        values: {
          restartedNodes: restarted.length,
          maxAwsNodeRestarts: maxRestarts,
          apiUnreachableNodes: cutOff.length,
          nodesWithBoth: both.length,
          ipamdApiUnreachableCloudWatch: cwUnreachable,
          awsNodeProbeFailuresCloudWatch: cwProbeKills,
          nodesWithoutClusterEndpoint: nodes.filter((n) => n.report.awsNode?.clusterEndpointSet === false).length,
        },
        ...affectedNodes([...restarted, ...cutOff].map((n) => n.instanceId)),
      },
      remediation: restartRemediation(context, restarted.length > 0 || (cwProbeKills ?? 0) > 0),
    };
  },
};

function restartRemediation(context: RuleContext, probeKills: boolean): Remediation {
  const { evidence, nodes } = context;
  const cni = vpcCniVersion(evidence, nodes);
  const endpointMissing = nodes.some((n) => n.report.awsNode?.clusterEndpointSet === false);
  const endpointSupported = cni.version === null || compareVersions(cni.version, CLUSTER_ENDPOINT_MIN_VPC_CNI) >= 0;
  const change: Record<string, unknown> = {};
  const steps: string[] = [];
  if (endpointMissing && endpointSupported) {
    Object.assign(change, clusterEndpointChange(evidence));
    steps.push(
      'set CLUSTER_ENDPOINT so ipamd reaches the API server without waiting for kube-proxy (enable private ' +
        'endpoint access, or the traffic leaves through NAT)',
    );
  } else if (endpointMissing) {
    steps.push(
      `upgrade the VPC CNI: ${formatVersion(cni.version ?? CLUSTER_ENDPOINT_MIN_VPC_CNI)} cannot use CLUSTER_ENDPOINT (v1.12.1+)`,
    );
  }
  if (probeKills) {
    // The aws-node DaemonSet's liveness and readiness probes run `/app/grpc-health-probe -addr=:50051
    // -connect-timeout=5s -rpc-timeout=5s` (aws/amazon-vpc-cni-k8s config/master/aws-k8s-cni.yaml, read at
    // 0055425): the command gives up after 5 s whatever the probe's timeoutSeconds (10 there) allows.
    steps.push(
      'give the aws-node probes more room: raise their `initialDelaySeconds` and `failureThreshold` (the probe ' +
        'command, grpc-health-probe, runs with `-connect-timeout=5s -rpc-timeout=5s` in the aws-node manifest, ' +
        'config/master/aws-k8s-cni.yaml, so raising `timeoutSeconds` alone does not help); whether the add-on’s ' +
        'configurationValues accept these keys is unverified: check with `aws eks describe-addon-configuration ' +
        '--addon-name vpc-cni --addon-version <version>`',
    );
  }
  if (cni.version !== null && compareVersions(cni.version, API_INDEPENDENT_START_VPC_CNI) < 0) {
    steps.push(
      `upgrade the VPC CNI from ${formatVersion(cni.version)} to v1.19.4 or later, whose ipamd no longer exits ` +
        'when the API server is unreachable at start (one minor version at a time)',
    );
  }
  if (steps.length === 0) {
    steps.push('read ipamd.log on the named nodes (/var/log/aws-routed-eni/ipamd.log) for why ipamd restarted');
  }
  const summary = `On the vpc-cni add-on: ${steps.join('; ')}.`;
  const links = [LINKS.eksVpcCni, LINKS.cniReadme, LINKS.cniPr3243, LINKS.eksManagingVpcCni];
  if (Object.keys(change).length === 0) return { summary, configurationValues: null, command: null, links };
  return addonRemediation(evidence, 'vpc-cni', change, summary, links);
}
