import { max as maxOf } from '../aggregate.js';
import { NO_XTABLES_LOCK } from '../evidence-sources.js';
import type { Remediation } from '../model.js';
import {
  distinct,
  iptablesModeNodes,
  lockApplicable,
  lockWaitedShare,
  round2,
  sentence,
  windowCount,
} from './facts.js';
import { LINKS } from './links.js';
import { proxyModeRemediation } from './remediation.js';
import { affectedNodes, type Rule, type RuleContext } from './rule.js';

/** Writers queued for the xtables lock on iptables-legacy nodes, or kube-proxy gave up waiting for it. */
export const xtLockContention: Rule = {
  id: 'XT-LOCK-CONTENTION',
  title: 'The xtables lock is contended',
  why:
    'With iptables-legacy every iptables writer on a node serialises on /run/xtables.lock (iptables ' +
    'iptables/xshared.c `xtables_lock_or_exit`). kube-proxy waits at most 5 s for it (`iptables-restore -w 5`, ' +
    'kubernetes pkg/util/iptables/iptables.go), then fails the sync and retries; the VPC CNI waits without a ' +
    'limit (go-iptables passes a bare `--wait`), one lock acquisition per rule, so its probes time out and ' +
    'kubelet restarts it (aws/amazon-vpc-cni-k8s#2948). Contention is waiting, not holding: every sync holds the ' +
    'lock briefly, but a writer queued behind the holder (a `->` line in /proc/locks, fs/locks.c) or kube-proxy ' +
    'logging "Stopped waiting after" is a writer that lost time. iptables-nft never takes the lock (only the ' +
    'legacy tools call `xtables_lock_or_exit`; xtables-restore.c ignores `-w`), so on nft-only nodes (Amazon ' +
    'Linux 2023) the rule does not apply, although aws-node creates the lock file on every node.',
  severities: ['HIGH', 'MEDIUM'],
  judges:
    'Only nodes whose `lock.applicable` is not false (with none, the rule is not evaluated). Per node: ' +
    '`lock.waited` (samples of /proc/locks with a writer queued behind the holder), the waited share ' +
    '`waited / samples` and `lock.waitersMax`; kube-proxy lock time-outs in the window: the larger of the nodes’ ' +
    'summed `logs.kubeProxyLockErrors` and the CloudWatch `kubeProxyLockErrors`. MEDIUM when any node has ' +
    '`waited > lockWaitedMedium` or a lock time-out was logged; HIGH when lock time-outs exceed `lockErrorsHigh`, ' +
    'a node’s waited share is at or above `lockWaitedShareHigh`, or `waitersMax` is at or above ' +
    '`lockWaitersHigh`. A lock held without waiters (`busy`) is evidence only; v1 reports, which did not count ' +
    'waiters, are judged on their logs alone.',
  thresholds: ['lockWaitedMedium', 'lockWaitedShareHigh', 'lockWaitersHigh', 'lockErrorsHigh'],
  notEvaluatedWhen:
    'no node can take the xtables lock (iptables-nft does not use it), or no applicable node sampled the lock or ' +
    'read kube-proxy logs and no CloudWatch query result is available',
  remediation:
    'Where kube-proxy runs in iptables mode, move it off iptables mode (nftables where the cluster can take it, ' +
    'chosen as for KP-IPTABLES-SCALE) and restart it; otherwise look at the holders and waiters named in the ' +
    'evidence.',
  links: [LINKS.cniIssue2948, LINKS.cniIssue3684, LINKS.k8sPr85771, LINKS.k8sIssue48107, LINKS.iptablesXshared],
  evaluate(context) {
    const { evidence, thresholds: t } = context;
    const applicable = context.nodes.filter((n) => lockApplicable(n.report));
    if (applicable.length === 0 && context.nodes.length > 0) {
      return { kind: 'not-evaluated', reason: NO_XTABLES_LOCK };
    }
    const scoped = { ...context, nodes: applicable };
    const probed = applicable.filter((n) => lockWaitedShare(n.report) !== null);
    const {
      logged,
      lined: errorNodes,
      nodeSum: nodeErrors,
      cloudWatch,
      count: lockErrors,
    } = windowCount(scoped, 'kubeProxyLockErrors');
    if (probed.length === 0 && logged.length === 0 && cloudWatch === null) {
      return {
        kind: 'not-evaluated',
        reason:
          'no iptables-legacy node counted lock waiters or read kube-proxy logs, and no CloudWatch query result is ' +
          'available',
      };
    }
    const waitedNodes = probed.filter((n) => (n.report.lock?.waited ?? 0) > t.lockWaitedMedium);
    const shares = probed.map((n) => lockWaitedShare(n.report));
    const highShareNodes = probed.filter((n) => (lockWaitedShare(n.report) ?? 0) >= t.lockWaitedShareHigh);
    const queueNodes = probed.filter((n) => (n.report.lock?.waitersMax ?? 0) >= t.lockWaitersHigh);
    if (waitedNodes.length === 0 && lockErrors === 0) return { kind: 'passed' };

    const high = lockErrors > t.lockErrorsHigh || highShareNodes.length > 0 || queueNodes.length > 0;
    const maxShare = maxOf(shares);
    // who held the lock is evidence wherever it was held, also without waiters; who waited, where writers waited
    const busyNodes = applicable.filter((n) => (n.report.lock?.busy ?? 0) > 0);
    const holders = distinct(busyNodes.flatMap((n) => n.report.lock?.holders ?? []));
    const waiters = distinct(waitedNodes.flatMap((n) => n.report.lock?.waiters ?? []));
    const summary = sentence([
      waitedNodes.length > 0
        ? `writers queued for the xtables lock on ${waitedNodes.length} of ${probed.length} sampled iptables-legacy ` +
          `nodes (highest waited share ${Math.round((maxShare ?? 0) * 100)} %, up to ` +
          `${maxOf(probed.map((n) => n.report.lock?.waitersMax)) ?? 0} waiting at once` +
          `${holders.length > 0 ? `; held by ${holders.join(', ')}` : ''}` +
          `${waiters.length > 0 ? `; waiting: ${waiters.join(', ')}` : ''})`
        : null,
      lockErrors > 0 ? `kube-proxy timed out on the xtables lock ${lockErrors} times in the window` : null,
    ]);
    return {
      kind: 'fired',
      severity: high ? 'HIGH' : 'MEDIUM',
      evidence: {
        summary,
        values: {
          waitedNodes: waitedNodes.length,
          sampledNodes: probed.length,
          notApplicableNodes: context.nodes.length - applicable.length,
          maxWaitedShare: maxShare === null ? null : round2(maxShare),
          maxWaiters: maxOf(probed.map((n) => n.report.lock?.waitersMax)),
          nodesAtHighShare: highShareNodes.length,
          busyNodes: busyNodes.length,
          lockErrorsNodeLogs: nodeErrors,
          lockErrorsCloudWatch: cloudWatch,
          holders: holders.length > 0 ? holders.join(', ') : null,
          waiters: waiters.length > 0 ? waiters.join(', ') : null,
        },
        ...affectedNodes([...waitedNodes, ...errorNodes].map((n) => n.instanceId)),
      },
      remediation: lockRemediation({ ...context, evidence }, [...holders, ...waiters]),
    };
  },
};

function lockRemediation(context: RuleContext, holders: ReadonlyArray<string>): Remediation {
  if (iptablesModeNodes(context.nodes).length > 0) {
    return proxyModeRemediation(
      context,
      'kube-proxy in iptables mode holds the xtables lock for every ruleset write; fewer and shorter writes need ' +
        'another proxy mode.',
    );
  }
  return {
    summary:
      'kube-proxy does not run in iptables mode on the reached nodes, so another writer holds the lock' +
      (holders.length > 0 ? ` (seen: ${distinct(holders).join(', ')})` : '') +
      '. Find the DaemonSets that call iptables on the node (CNI plugins, NodeLocal DNS, service meshes) and ' +
      'check that each mounts /run/xtables.lock and uses a bounded wait.',
    configurationValues: null,
    command: null,
    links: [LINKS.cniIssue2948, LINKS.k8sIssue48107],
  };
}
