import { max as maxOf } from '../aggregate.js';
import type { Remediation } from '../model.js';
import { distinct, iptablesModeNodes, lockBusyShare, round2, sentence, windowCount } from './facts.js';
import { LINKS } from './links.js';
import { proxyModeRemediation } from './remediation.js';
import { affectedNodes, type Rule, type RuleContext } from './rule.js';

/** The xtables lock was seen held, or kube-proxy gave up waiting for it. */
export const xtLockContention: Rule = {
  id: 'XT-LOCK-CONTENTION',
  title: 'The xtables lock is contended',
  why:
    'With iptables-legacy every iptables writer on a node serialises on /run/xtables.lock. kube-proxy waits at most ' +
    '5 s for it (`iptables-restore -w 5`), then fails the sync and retries 30 s later; the VPC CNI waits without a ' +
    'limit, one lock acquisition per rule, and logs nothing while it waits, so its probes time out and kubelet ' +
    'restarts it. A lock seen busy in short probes, or kube-proxy logging "Another app is currently holding the ' +
    'xtables lock", means writers are queueing on this node.',
  severities: ['HIGH', 'MEDIUM'],
  judges:
    'Per node: `lock.busy` (busy samples of /proc/locks) and the busy share `busy / samples`; kube-proxy lock-error ' +
    'lines in the window: the larger of the nodes’ summed `logs.kubeProxyLockErrors` and the CloudWatch ' +
    '`kubeProxyLockErrors` (both may count the same lines). MEDIUM when any node has `busy > lockBusyMedium` or ' +
    'any lock error was logged; HIGH when lock errors exceed `lockErrorsHigh` or any node’s busy share is at or ' +
    'above `lockBusyShareHigh`.',
  thresholds: ['lockBusyMedium', 'lockBusyShareHigh', 'lockErrorsHigh'],
  notEvaluatedWhen:
    'no node sampled the lock (no lock file, as with iptables-nft) or reported kube-proxy log counts, and no ' +
    'CloudWatch query result is available',
  remediation:
    'Where kube-proxy runs in iptables mode, move it off iptables mode (nftables or IPVS, chosen as for ' +
    'KP-IPTABLES-SCALE); otherwise look at the lock holders named in the evidence.',
  links: [LINKS.cniIssue2948, LINKS.cniIssue3684, LINKS.k8sPr85771, LINKS.k8sIssue48107],
  evaluate(context) {
    const { nodes, thresholds } = context;
    const probed = nodes.filter((n) => lockBusyShare(n.report) !== null);
    const { logged, nodeSum: nodeErrors, cloudWatch, count: lockErrors } = windowCount(context, 'kubeProxyLockErrors');
    if (probed.length === 0 && logged.length === 0 && cloudWatch === null) {
      return {
        kind: 'not-evaluated',
        reason: 'no node sampled the xtables lock or read kube-proxy logs, and no CloudWatch query result is available',
      };
    }
    const busyNodes = probed.filter((n) => (n.report.lock?.busy ?? 0) > thresholds.lockBusyMedium);
    const shares = probed.map((n) => lockBusyShare(n.report));
    const highShareNodes = probed.filter((n) => (lockBusyShare(n.report) ?? 0) >= thresholds.lockBusyShareHigh);
    const errorNodes = logged.filter((n) => (n.report.logs?.kubeProxyLockErrors ?? 0) > 0);
    if (busyNodes.length === 0 && lockErrors === 0) return { kind: 'passed' };

    const high = lockErrors > thresholds.lockErrorsHigh || highShareNodes.length > 0;
    const maxShare = maxOf(shares);
    const holders = distinct(busyNodes.flatMap((n) => n.report.lock?.holders ?? []));
    const summary = sentence([
      busyNodes.length > 0
        ? `xtables lock busy in probes on ${busyNodes.length} of ${probed.length} sampled nodes (highest busy share ` +
          `${Math.round((maxShare ?? 0) * 100)} %${holders.length > 0 ? `, held by ${holders.join(', ')}` : ''})`
        : null,
      lockErrors > 0 ? `kube-proxy logged ${lockErrors} xtables lock errors in the window` : null,
    ]);
    return {
      kind: 'fired',
      severity: high ? 'HIGH' : 'MEDIUM',
      evidence: {
        summary,
        values: {
          busyNodes: busyNodes.length,
          sampledNodes: probed.length,
          maxBusyShare: maxShare === null ? null : round2(maxShare),
          nodesAtHighShare: highShareNodes.length,
          lockErrorsNodeLogs: nodeErrors,
          lockErrorsCloudWatch: cloudWatch,
          holders: holders.length > 0 ? holders.join(', ') : null,
        },
        ...affectedNodes([...busyNodes, ...errorNodes].map((n) => n.instanceId)),
      },
      remediation: lockRemediation(context, holders),
    };
  },
};

function lockRemediation(context: RuleContext, holders: ReadonlyArray<string>): Remediation {
  if (iptablesModeNodes(context.nodes).length > 0) {
    return proxyModeRemediation(
      context,
      'kube-proxy in iptables mode holds the xtables lock for every full ruleset write; fewer and shorter writes ' +
        'need another proxy mode.',
    );
  }
  return {
    summary:
      'kube-proxy does not run in iptables mode on the reached nodes, so another writer holds the lock' +
      (holders.length > 0 ? ` (seen: ${holders.join(', ')})` : '') +
      '. Find the DaemonSets that call iptables on the node (CNI plugins, NodeLocal DNS, service meshes) and ' +
      'check that each mounts /run/xtables.lock and uses a bounded wait.',
    configurationValues: null,
    command: null,
    links: [LINKS.cniIssue2948, LINKS.k8sIssue48107],
  };
}
