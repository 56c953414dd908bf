import { max as maxOf } from '../aggregate.js';
import type { HistoryPoint, Remediation } from '../model.js';
import {
  distinct,
  iptablesModeNodes,
  parseGoDuration,
  plural,
  restoreFailureSum,
  round2,
  sentence,
  windowCount,
} from './facts.js';
import { LINKS } from './links.js';
import { proxyModeRemediation } from './remediation.js';
import { affectedNodes, type ReportedNode, type Rule, type RuleContext } from './rule.js';

/** The most recent earlier run that knew the restore-failure sum. */
function previousRestoreFailures(history: ReadonlyArray<HistoryPoint>): HistoryPoint | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const point = history[i];
    if (point && point.restoreFailures !== null) return point;
  }
  return null;
}

/** Whether a node's last sync is stale; null when its age or its own syncPeriod is unknown. */
function staleness(node: ReportedNode, factor: number, grace: number): { stale: boolean; limit: number } | null {
  const age = node.report.kubeProxy?.lastSyncAgeSeconds ?? null;
  const period = parseGoDuration(node.report.kubeProxy?.syncPeriod);
  if (age === null || period === null) return null;
  const limit = factor * period + grace;
  return { stale: age > limit, limit };
}

/** kube-proxy's iptables-restore fails (lock time-outs) or its rules stopped syncing. */
export const kpSyncFailing: Rule = {
  id: 'KP-SYNC-FAILING',
  title: 'kube-proxy syncs are failing',
  why:
    'A failed iptables-restore leaves the node on its previous rules for at least 30 s, so new Services and ' +
    'endpoints are unreachable from it; on xtables-lock time-outs kube-proxy logs "Failed to execute ' +
    'iptables-restore" and "Sync failed". A node whose last successful sync is older than twice its periodic ' +
    'resync plus a minute is not syncing at all: its Service routing is frozen.',
  severities: ['CRITICAL', 'HIGH'],
  judges:
    'Any node. HIGH: restore failures logged in the window above `restoreFailuresHigh` (the larger of the nodes’ ' +
    'summed `logs.kubeProxyRestoreFailures` and CloudWatch `kubeProxyRestoreFailures`), or the counter rising ' +
    'between runs: the sum over reached nodes of `kubeProxy.restoreFailures` is greater than the sum stored by the ' +
    'most recent earlier run that knew it (a drop — kube-proxy restarts, nodes replaced — is not read as rising, ' +
    'so churn can hide a rise). CRITICAL: a node with `lastSyncAgeSeconds > staleSyncFactor × syncPeriod + ' +
    'staleSyncGraceSeconds`, using the node’s own `syncPeriod` (a null or unparsable period is not judged).',
  thresholds: ['restoreFailuresHigh', 'staleSyncFactor', 'staleSyncGraceSeconds'],
  notEvaluatedWhen:
    'no node read kube-proxy logs or reported sync age with its syncPeriod, no CloudWatch result is available, ' +
    'and the restore-failure counter cannot be compared with an earlier run',
  remediation:
    'CRITICAL (stale sync): restart kube-proxy (`kubectl -n kube-system rollout restart daemonset/kube-proxy`) ' +
    'after reading its logs. HIGH (restore failures): move kube-proxy off iptables mode (as KP-IPTABLES-SCALE) ' +
    'so writes no longer time out on the lock.',
  links: [LINKS.k8sPr85771, LINKS.k8sIssue48107, LINKS.cniIssue2948, LINKS.k8sVirtualIps],
  evaluate(context) {
    const { evidence, nodes, thresholds: t } = context;
    const {
      logged,
      nodeSum: nodeLogged,
      cloudWatch,
      count: loggedFailures,
    } = windowCount(context, 'kubeProxyRestoreFailures');
    const current = restoreFailureSum(nodes);
    const previous = previousRestoreFailures(evidence.history);
    const judged = nodes.flatMap((n) => {
      const s = staleness(n, t.staleSyncFactor, t.staleSyncGraceSeconds);
      return s ? [{ node: n, ...s }] : [];
    });
    const risingJudged = current !== null && previous !== null;
    if (logged.length === 0 && cloudWatch === null && !risingJudged && judged.length === 0) {
      return {
        kind: 'not-evaluated',
        reason:
          'no kube-proxy log counts, no node reported its last sync age with its syncPeriod, and no earlier ' +
          'run to compare the restore-failure counter with',
      };
    }
    const rising = risingJudged && (current ?? 0) > (previous?.restoreFailures ?? 0);
    const stale = judged.filter((j) => j.stale);
    const failing = loggedFailures > t.restoreFailuresHigh || rising;
    if (stale.length === 0 && !failing) return { kind: 'passed' };

    const ages = stale.map((j) => j.node.report.kubeProxy?.lastSyncAgeSeconds);
    const summary = sentence([
      stale.length > 0
        ? `${plural(stale.length, 'node')} last synced up to ${round2(maxOf(ages) ?? 0)} s ago ` +
          `(limit ${round2(Math.min(...stale.map((j) => j.limit)))} s)`
        : null,
      loggedFailures > t.restoreFailuresHigh ? `kube-proxy logged ${loggedFailures} iptables-restore failures` : null,
      rising
        ? `the restore-failure counter rose from ${previous?.restoreFailures} to ${current} since ${previous?.at}`
        : null,
    ]);
    const failingNodes = nodes.filter(
      (n) =>
        (n.report.logs?.kubeProxyRestoreFailures ?? 0) > 0 ||
        (rising && (n.report.kubeProxy?.restoreFailures ?? 0) > 0),
    );
    return {
      kind: 'fired',
      severity: stale.length > 0 ? 'CRITICAL' : 'HIGH',
      evidence: {
        summary,
        values: {
          staleNodes: stale.length,
          judgedNodes: judged.length,
          maxStaleSyncAgeSeconds: stale.length > 0 ? maxOf(ages) : null,
          syncPeriod: distinct(stale.flatMap((j) => j.node.report.kubeProxy?.syncPeriod ?? [])).join(', ') || null,
          restoreFailuresNodeLogs: nodeLogged,
          restoreFailuresCloudWatch: cloudWatch,
          restoreFailuresCounter: current,
          restoreFailuresPrevious: previous?.restoreFailures ?? null,
          previousRunAt: previous?.at ?? null,
        },
        ...affectedNodes([...stale.map((j) => j.node), ...failingNodes].map((n) => n.instanceId)),
      },
      remediation: stale.length > 0 ? staleRemediation() : proxyOrLogs(context),
    };
  },
};

function staleRemediation(): Remediation {
  return {
    summary:
      'kube-proxy stopped syncing on these nodes. Read why first (`kubectl -n kube-system logs -l ' +
      'k8s-app=kube-proxy --since=1h | grep -E "Sync failed|xtables|Failed to execute"`), then restart it. If the ' +
      'logs show xtables-lock time-outs, the lasting fix is moving kube-proxy off iptables mode (see ' +
      'KP-IPTABLES-SCALE and XT-LOCK-CONTENTION).',
    configurationValues: null,
    command: 'kubectl -n kube-system rollout restart daemonset/kube-proxy',
    links: [LINKS.k8sVirtualIps, LINKS.eksManagingKubeProxy],
  };
}

function proxyOrLogs(context: RuleContext): Remediation {
  if (iptablesModeNodes(context.nodes).length > 0) {
    return proxyModeRemediation(
      context,
      'iptables-restore fails when kube-proxy cannot get the xtables lock within 5 s; each failure delays rule ' +
        'updates by 30 s.',
    );
  }
  return {
    summary:
      'Read the failures (`kubectl -n kube-system logs -l k8s-app=kube-proxy --since=1h | grep -A2 "Failed to ' +
      'execute"`): lock time-outs point at another iptables writer, parse errors at a kube-proxy bug.',
    configurationValues: null,
    command: null,
    links: [LINKS.k8sPr85771],
  };
}
