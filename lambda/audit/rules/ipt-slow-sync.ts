import { max as maxOf } from '../aggregate.js';
import type { Remediation, Severity } from '../model.js';
import type { ProxyMode } from '../node-report.js';
import {
  byNodegroup,
  distinct,
  nodegroupBreakdown,
  saveBackend,
  serviceCount,
  syncP99Lower,
  windowCount,
} from './facts.js';
import { LINKS } from './links.js';
import {
  addonRemediation,
  MIN_SYNC_PERIOD_UNVERIFIED,
  minSyncPeriodChange,
  proxyModeRemediation,
  SELF_MANAGED_KUBE_PROXY,
} from './remediation.js';
import { affectedNodes, type Rule, type RuleContext } from './rule.js';

/** iptables-save or kube-proxy syncs are slow: every write holds the xtables lock that long. */
export const iptSlowSync: Rule = {
  id: 'IPT-SLOW-SYNC',
  title: 'iptables writes are slow',
  why:
    'A slow save means a large, slow ruleset: kube-proxy in iptables mode writes it with iptables-restore, and ' +
    'with iptables-legacy it holds the xtables lock for that write, so other writers queue behind it (kube-proxy’s ' +
    'own next write may give up after 5 s; the VPC CNI blocks). The save itself never takes the lock, and an ' +
    'iptables-nft save of the same ruleset is slower (2.5–2.6× in CPU, docs/benchmarks.md), so nft nodes are ' +
    'judged against their own thresholds. kube-proxy’s sync histogram has buckets of 0.001 × 2^k s up to 16.384 s (pkg/proxy/metrics/' +
    'metrics.go, `ExponentialBuckets(0.001, 2, 15)`): the p99 is judged by its bucket’s lower bound, what a sync ' +
    'took at least, and a p99 beyond the top bucket is at least 16.384 s. kube-proxy traces restores that take ' +
    'over 2 s (`"iptables restore" … total time`), a sign the same is happening.',
  severities: ['HIGH', 'MEDIUM'],
  judges:
    'p95 of `iptables.saveMs` per backend: across iptables-legacy (and mixed) nodes MEDIUM above `saveMsMedium`, ' +
    'HIGH above `saveMsHigh`; across iptables-nft nodes above `saveMsNftMedium` / `saveMsNftHigh`. p95 across ' +
    'nodes of the sync p99’s lower bound `kubeProxy.syncP99LowerSeconds` (v1 reports: the previous bucket bound of ' +
    '`syncP99Seconds`): MEDIUM above `syncP99SecondsMedium`, HIGH above `syncP99SecondsHigh`; slow-restore ' +
    'trace lines (the larger of the nodes’ summed `logs.kubeProxySlowRestores` and CloudWatch ' +
    '`kubeProxySlowRestores`) above `slowRestoresMedium` make it MEDIUM. The highest signal wins.',
  thresholds: [
    'saveMsMedium',
    'saveMsHigh',
    'saveMsNftMedium',
    'saveMsNftHigh',
    'syncP99SecondsMedium',
    'syncP99SecondsHigh',
    'slowRestoresMedium',
    'servicesMedium',
  ],
  notEvaluatedWhen:
    'no node reported `saveMs` or a sync p99, no node read kube-proxy logs, and no CloudWatch result is available',
  remediation:
    'When kube-proxy runs in iptables mode with more than `servicesMedium` Services, move it off iptables mode (as ' +
    'KP-IPTABLES-SCALE). Otherwise raise kube-proxy’s `minSyncPeriod` for its mode (suggested: twice the p95 sync ' +
    'time, 2–30 s) so bursts of changes batch into fewer writes; whether the add-on schema accepts the key is ' +
    'unverified and the finding says how to check.',
  links: [LINKS.k8sProxyMetrics, LINKS.k8sVirtualIps, LINKS.eksNftables, LINKS.cniIssue2948],
  evaluate(context) {
    const { nodes, thresholds: t, metrics } = context;
    const saveMs = metrics.saveMs.cluster;
    const saveLegacy = metrics.saveMsLegacy.cluster;
    const saveNft = metrics.saveMsNft.cluster;
    const syncP99 = metrics.syncP99LowerSeconds.cluster;
    const {
      logged,
      nodeSum: nodeSlow,
      cloudWatch,
      count: slowRestores,
    } = windowCount(context, 'kubeProxySlowRestores');
    const saveP95 = saveMs.p95;
    const syncP95 = syncP99.p95;
    if (
      saveLegacy.p95 === null &&
      saveNft.p95 === null &&
      syncP95 === null &&
      logged.length === 0 &&
      cloudWatch === null
    ) {
      return {
        kind: 'not-evaluated',
        reason: 'no node reported iptables-save time, kube-proxy sync p99 or kube-proxy logs, and no CloudWatch result',
      };
    }
    const level = (value: number | null, medium: number, high: number): Severity | null =>
      value === null ? null : value > high ? 'HIGH' : value > medium ? 'MEDIUM' : null;
    const signals = [
      level(saveLegacy.p95, t.saveMsMedium, t.saveMsHigh),
      level(saveNft.p95, t.saveMsNftMedium, t.saveMsNftHigh),
      level(syncP95, t.syncP99SecondsMedium, t.syncP99SecondsHigh),
      slowRestores > t.slowRestoresMedium ? ('MEDIUM' as const) : null,
    ];
    if (signals.every((s) => s === null)) return { kind: 'passed' };
    const severity: Severity = signals.includes('HIGH') ? 'HIGH' : 'MEDIUM';

    const slowNodes = nodes.filter(
      (n) =>
        (n.report.iptables?.saveMs ?? 0) > (saveBackend(n.report) === 'nft' ? t.saveMsNftMedium : t.saveMsMedium) ||
        (syncP99Lower(n.report) ?? 0) > t.syncP99SecondsMedium ||
        (n.report.logs?.kubeProxySlowRestores ?? 0) > 0,
    );
    const measured = [
      saveLegacy.p95 !== null ? `iptables-legacy save time p95 ${saveLegacy.p95} ms` : null,
      saveNft.p95 !== null ? `iptables-nft save time p95 ${saveNft.p95} ms` : null,
      syncP95 !== null
        ? `kube-proxy sync p99 at least ${syncP95} s (p95 across nodes of the bucket's lower bound)`
        : null,
      slowRestores > 0 ? `${slowRestores} slow "iptables restore" traces in the window` : null,
    ].filter((p): p is string => p !== null);
    return {
      kind: 'fired',
      severity,
      evidence: {
        summary:
          `${measured.join('; ')}; thresholds ${t.saveMsMedium}/${t.saveMsHigh} ms (legacy), ` +
          `${t.saveMsNftMedium}/${t.saveMsNftHigh} ms (nft) and ${t.syncP99SecondsMedium}/${t.syncP99SecondsHigh} s.`,
        values: {
          saveMsP50: saveMs.p50,
          saveMsP95: saveP95,
          saveMsMax: saveMs.max,
          saveMsLegacyP95: saveLegacy.p95,
          saveMsNftP95: saveNft.p95,
          syncP99LowerSecondsP50: syncP99.p50,
          syncP99LowerSecondsP95: syncP95,
          syncP99LowerSecondsMax: syncP99.max,
          slowRestoresNodeLogs: nodeSlow,
          slowRestoresCloudWatch: cloudWatch,
          minSyncPeriod: distinct(nodes.flatMap((n) => n.report.kubeProxy?.minSyncPeriod ?? [])).join(', ') || null,
          ...byNodegroup(nodegroupBreakdown(metrics.saveMs)),
        },
        ...affectedNodes(slowNodes.map((n) => n.instanceId)),
      },
      remediation: slowSyncRemediation(context, maxOf([syncP95, saveP95 === null ? null : saveP95 / 1000])),
    };
  },
};

function slowSyncRemediation(context: RuleContext, observedSeconds: number | null): Remediation {
  const { evidence, nodes, thresholds } = context;
  const { services } = serviceCount(context);
  const modes = nodes.map((n) => n.report.kubeProxy?.mode).filter((m): m is ProxyMode => m != null);
  const mode: ProxyMode = modes.includes('iptables') || modes.length === 0 ? 'iptables' : (modes[0] ?? 'iptables');
  const { change, value } = minSyncPeriodChange(mode, observedSeconds);
  if (services !== null && services > thresholds.servicesMedium) {
    return proxyModeRemediation(
      context,
      `Slow writes follow from ${services} Services in iptables mode. As a stopgap, kube-proxy's ` +
        `${mode}.minSyncPeriod could be raised to ${value}.`,
    );
  }
  return addonRemediation(
    evidence,
    'kube-proxy',
    change,
    `Raise kube-proxy's ${mode}.minSyncPeriod to ${value} (twice the observed sync time, a heuristic) so bursts ` +
      `of Service and endpoint changes batch into fewer writes. ${MIN_SYNC_PERIOD_UNVERIFIED} ${SELF_MANAGED_KUBE_PROXY}`,
    [LINKS.k8sVirtualIps, LINKS.eksManagingKubeProxy],
  );
}
