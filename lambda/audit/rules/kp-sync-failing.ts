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
import { kubectlContextNote, kubeProxyRestartInCluster, proxyModeRemediation } from './remediation.js';
import { affectedNodes, type ReportedNode, type Rule, type RuleContext } from './rule.js';

/** The most recent earlier run that knew the restore-failure sum. */
function previousRestoreFailures(history: ReadonlyArray<HistoryPoint>): HistoryPoint | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const point = history[i];
    if (point && point.restoreFailures !== null) return point;
  }
  return null;
}

/** A node's stuck-sync verdict and the limit it was judged against. */
interface Staleness {
  stale: boolean;
  limit: number;
  /** the age judged: how long a queued change waited, or (ipvs) the last sync's age */
  age: number;
  signal: 'queued' | 'ipvs-sync';
}

/**
 * Whether a node's kube-proxy is stuck; null when it cannot be judged. A change queued and unsynced for longer
 * than `max(factor × minSyncPeriod, floor) + grace` is stuck in any mode: kube-proxy's own healthz compares the
 * same queued time (pkg/proxy/healthcheck/proxier_health.go). The last sync's age alone is judged only in ipvs
 * mode: in iptables and nftables mode the sync runner may legitimately wait up to an hour on a quiet cluster
 * (pkg/proxy/iptables/proxier.go `async.NewBoundedFrequencyRunner(..., minSyncPeriod, time.Hour, burstSyncs)`;
 * syncPeriod only drives the canary check), so an old sync without a queued change is a quiet cluster.
 */
function staleness(node: ReportedNode, factor: number, floor: number, grace: number): Staleness | null {
  const kubeProxy = node.report.kubeProxy;
  const judged: Staleness[] = [];
  const queued = kubeProxy?.lastQueuedAgeSeconds ?? null;
  if (queued !== null) {
    // kube-proxy runs with a minSyncPeriod of 1 s when the config says 0s (v1alpha1 defaulting)
    const minSync = parseGoDuration(kubeProxy?.minSyncPeriod) ?? 1;
    const limit = Math.max(factor * minSync, floor) + grace;
    judged.push({ stale: queued > limit, limit, age: queued, signal: 'queued' });
  }
  // ipvs resyncs at least every syncPeriod (pkg/proxy/ipvs/proxier.go passes syncPeriod as the runner's
  // maxInterval), so there an old last sync is stuck even with nothing queued
  const age = kubeProxy?.lastSyncAgeSeconds ?? null;
  const period = parseGoDuration(kubeProxy?.syncPeriod);
  if (kubeProxy?.mode === 'ipvs' && age !== null && period !== null) {
    const limit = factor * period + grace;
    judged.push({ stale: age > limit, limit, age, signal: 'ipvs-sync' });
  }
  return judged.find((j) => j.stale) ?? judged[0] ?? null;
}

/** kube-proxy's iptables-restore fails (lock time-outs) or a queued change is not being synced. */
export const kpSyncFailing: Rule = {
  id: 'KP-SYNC-FAILING',
  title: 'kube-proxy syncs are failing',
  why:
    'A failed iptables-restore leaves the node on its previous rules until the next try, so new Services and ' +
    'endpoints are unreachable from it; on xtables-lock time-outs kube-proxy logs "Failed to execute ' +
    'iptables-restore" (kubernetes/kubernetes#85771). A Service or EndpointSlice change queued and left unsynced ' +
    'is a stuck proxy: `kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds` — "if this is much larger than ' +
    'kubeproxy_sync_proxy_rules_last_timestamp_seconds, then something is hung" (pkg/proxy/metrics/metrics.go, ' +
    'kubernetes/kubernetes#90175), the same comparison kube-proxy’s healthz makes. An old last sync alone is not: ' +
    'in iptables and nftables mode the sync runner may wait up to an hour when nothing changes ' +
    '(pkg/proxy/iptables/proxier.go, `NewBoundedFrequencyRunner(..., minSyncPeriod, time.Hour, ...)`), so only in ' +
    'ipvs mode is a last sync older than twice its periodic resync plus a minute read as stuck.',
  severities: ['CRITICAL', 'HIGH'],
  judges:
    'Any node. HIGH: restore failures logged in the window above `restoreFailuresHigh` (the larger of the nodes’ ' +
    'summed `logs.kubeProxyRestoreFailures` and CloudWatch `kubeProxyRestoreFailures`), or the counter rising ' +
    'between runs: the sum over reached nodes of `kubeProxy.restoreFailures` is greater than the sum stored by the ' +
    'most recent earlier run that knew it (a drop — kube-proxy restarts, nodes replaced — is not read as rising, ' +
    'so churn can hide a rise). CRITICAL: a node whose queued change waited `lastQueuedAgeSeconds > ' +
    'max(staleSyncFactor × minSyncPeriod, staleSyncFloorSeconds) + staleSyncGraceSeconds` (minSyncPeriod as in ' +
    'effect; unknown reads as kube-proxy’s 1 s), or, in ipvs mode only, `lastSyncAgeSeconds > staleSyncFactor × ' +
    'syncPeriod + staleSyncGraceSeconds`. v1 reports carry no queued age: their iptables-mode nodes are not judged ' +
    'for a stuck sync.',
  thresholds: ['restoreFailuresHigh', 'staleSyncFactor', 'staleSyncFloorSeconds', 'staleSyncGraceSeconds'],
  notEvaluatedWhen:
    'no node read kube-proxy logs or reported a queued-change age (or, in ipvs mode, its sync age with its ' +
    'syncPeriod), no CloudWatch result is available, and the restore-failure counter cannot be compared with an ' +
    'earlier run',
  remediation:
    'CRITICAL (stuck sync): read kube-proxy’s logs, then restart it (`kubectl -n kube-system rollout restart ' +
    'daemonset/kube-proxy`). HIGH (restore failures): move kube-proxy off iptables mode (as KP-IPTABLES-SCALE) ' +
    'and restart it, so writes no longer time out on the lock.',
  links: [
    LINKS.k8sPr85771,
    LINKS.k8sPr90175,
    LINKS.k8sProxyMetrics,
    LINKS.k8sBoundedFrequencyRunner,
    LINKS.cniIssue2948,
  ],
  evaluate(context) {
    const { evidence, nodes, thresholds: t } = context;
    const {
      logged,
      lined: failedLogging,
      nodeSum: nodeLogged,
      cloudWatch,
      count: loggedFailures,
    } = windowCount(context, 'kubeProxyRestoreFailures');
    const current = restoreFailureSum(nodes);
    const previous = previousRestoreFailures(evidence.history);
    const judged = nodes.flatMap((n) => {
      const s = staleness(n, t.staleSyncFactor, t.staleSyncFloorSeconds, t.staleSyncGraceSeconds);
      return s ? [{ node: n, ...s }] : [];
    });
    const risingJudged = current !== null && previous !== null;
    if (logged.length === 0 && cloudWatch === null && !risingJudged && judged.length === 0) {
      return {
        kind: 'not-evaluated',
        reason:
          'no kube-proxy log counts, no node reported how long a queued change waited (or, in ipvs mode, its last ' +
          'sync age with its syncPeriod), and no earlier run to compare the restore-failure counter with',
      };
    }
    const rising = risingJudged && (current ?? 0) > (previous?.restoreFailures ?? 0);
    const stale = judged.filter((j) => j.stale);
    const failing = loggedFailures > t.restoreFailuresHigh || rising;
    if (stale.length === 0 && !failing) return { kind: 'passed' };

    const ages = stale.map((j) => j.age);
    const queuedStale = stale.filter((j) => j.signal === 'queued');
    const ipvsStale = stale.filter((j) => j.signal === 'ipvs-sync');
    const summary = sentence([
      queuedStale.length > 0
        ? `a Service or endpoint change has waited up to ${round2(maxOf(queuedStale.map((j) => j.age)) ?? 0)} s ` +
          `for a sync on ${plural(queuedStale.length, 'node')} (limit ` +
          `${round2(Math.min(...queuedStale.map((j) => j.limit)))} s)`
        : null,
      ipvsStale.length > 0
        ? `${plural(ipvsStale.length, 'ipvs-mode node')} last synced up to ` +
          `${round2(maxOf(ipvsStale.map((j) => j.age)) ?? 0)} s ago (limit ` +
          `${round2(Math.min(...ipvsStale.map((j) => j.limit)))} s)`
        : null,
      loggedFailures > t.restoreFailuresHigh
        ? `kube-proxy logged ${loggedFailures} iptables-restore failures` +
          (failedLogging.length > 0 ? ` (on ${plural(failedLogging.length, 'node')})` : ' (CloudWatch, no node named)')
        : null,
      rising
        ? `the restore-failure counter rose from ${previous?.restoreFailures} to ${current} since ${previous?.at}`
        : null,
    ]);
    const failingNodes = [
      ...failedLogging,
      ...(rising ? nodes.filter((n) => (n.report.kubeProxy?.restoreFailures ?? 0) > 0) : []),
    ];
    return {
      kind: 'fired',
      severity: stale.length > 0 ? 'CRITICAL' : 'HIGH',
      evidence: {
        summary,
        values: {
          staleNodes: stale.length,
          judgedNodes: judged.length,
          maxStaleSyncAgeSeconds: stale.length > 0 ? maxOf(ages) : null,
          maxQueuedAgeSeconds: maxOf(nodes.map((n) => n.report.kubeProxy?.lastQueuedAgeSeconds)),
          syncPeriod: distinct(stale.flatMap((j) => j.node.report.kubeProxy?.syncPeriod ?? [])).join(', ') || null,
          restoreFailuresNodeLogs: nodeLogged,
          restoreFailuresCloudWatch: cloudWatch,
          restoreFailuresCounter: current,
          restoreFailuresPrevious: previous?.restoreFailures ?? null,
          previousRunAt: previous?.at ?? null,
        },
        ...affectedNodes([...stale.map((j) => j.node), ...failingNodes].map((n) => n.instanceId)),
      },
      remediation: stale.length > 0 ? staleRemediation(context) : proxyOrLogs(context),
    };
  },
};

function staleRemediation({ evidence }: RuleContext): Remediation {
  return {
    summary:
      'kube-proxy stopped applying queued changes on these nodes. Read why first (`kubectl -n kube-system logs -l ' +
      'k8s-app=kube-proxy --since=1h | grep -E "Sync failed|xtables|Failed to execute"`), then restart it. If the ' +
      'logs show xtables-lock time-outs, the lasting fix is moving kube-proxy off iptables mode (see ' +
      `KP-IPTABLES-SCALE and XT-LOCK-CONTENTION). ${kubectlContextNote(evidence.cluster)}`,
    configurationValues: null,
    command: kubeProxyRestartInCluster(evidence.cluster),
    links: [LINKS.k8sVirtualIps, LINKS.eksManagingKubeProxy],
  };
}

function proxyOrLogs(context: RuleContext): Remediation {
  if (iptablesModeNodes(context.nodes).length > 0) {
    return proxyModeRemediation(
      context,
      'iptables-restore fails when kube-proxy cannot get the xtables lock within 5 s; each failure delays rule ' +
        'updates until the next try.',
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
