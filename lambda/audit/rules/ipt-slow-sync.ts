import { max as maxOf } from '../aggregate.js';
import type { Remediation, Severity } from '../model.js';
import type { ProxyMode } from '../node-report.js';
import { byNodegroup, distinct, nodegroupBreakdown, serviceCount, windowCount } from './facts.js';
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
    'The time to save or restore the ruleset is the time the xtables lock is held. When `iptables-save` takes ' +
    'over a second, or kube-proxy’s sync p99 does, other writers queue behind it: kube-proxy’s own next write ' +
    'may give up after 5 s and the VPC CNI blocks. kube-proxy traces restores that take over 2 s ' +
    '(`"iptables restore" … total time`), a sign the same is happening.',
  severities: ['HIGH', 'MEDIUM'],
  judges:
    'p95 across nodes of `iptables.saveMs` (MEDIUM above `saveMsMedium`, HIGH above `saveMsHigh`) and of ' +
    '`kubeProxy.syncP99Seconds` (MEDIUM above `syncP99SecondsMedium`, HIGH above `syncP99SecondsHigh`); slow-restore ' +
    'trace lines (the larger of the nodes’ summed `logs.kubeProxySlowRestores` and CloudWatch ' +
    '`kubeProxySlowRestores`) above `slowRestoresMedium` make it MEDIUM. The highest signal wins.',
  thresholds: [
    'saveMsMedium',
    'saveMsHigh',
    'syncP99SecondsMedium',
    'syncP99SecondsHigh',
    'slowRestoresMedium',
    'servicesMedium',
  ],
  notEvaluatedWhen:
    'no node reported `saveMs` or `syncP99Seconds`, no node read kube-proxy logs, and no CloudWatch result is available',
  remediation:
    'When kube-proxy runs in iptables mode with more than `servicesMedium` Services, move it off iptables mode (as ' +
    'KP-IPTABLES-SCALE). Otherwise raise kube-proxy’s `minSyncPeriod` for its mode (suggested: twice the p95 sync ' +
    'time, 2–30 s) so bursts of changes batch into fewer writes; whether the add-on schema accepts the key is ' +
    'unverified and the finding says how to check.',
  links: [LINKS.k8sVirtualIps, LINKS.eksIpvs, LINKS.eksNftables, LINKS.cniIssue2948],
  evaluate(context) {
    const { nodes, thresholds: t, metrics } = context;
    const saveMs = metrics.saveMs.cluster;
    const syncP99 = metrics.syncP99Seconds.cluster;
    const {
      logged,
      nodeSum: nodeSlow,
      cloudWatch,
      count: slowRestores,
    } = windowCount(context, 'kubeProxySlowRestores');
    const saveP95 = saveMs.p95;
    const syncP95 = syncP99.p95;
    if (saveP95 === null && syncP95 === null && logged.length === 0 && cloudWatch === null) {
      return {
        kind: 'not-evaluated',
        reason: 'no node reported iptables-save time, kube-proxy sync p99 or kube-proxy logs, and no CloudWatch result',
      };
    }
    const level = (value: number | null, medium: number, high: number): Severity | null =>
      value === null ? null : value > high ? 'HIGH' : value > medium ? 'MEDIUM' : null;
    const signals = [
      level(saveP95, t.saveMsMedium, t.saveMsHigh),
      level(syncP95, t.syncP99SecondsMedium, t.syncP99SecondsHigh),
      slowRestores > t.slowRestoresMedium ? ('MEDIUM' as const) : null,
    ];
    if (signals.every((s) => s === null)) return { kind: 'passed' };
    const severity: Severity = signals.includes('HIGH') ? 'HIGH' : 'MEDIUM';

    const slowNodes = nodes.filter(
      (n) =>
        (n.report.iptables?.saveMs ?? 0) > t.saveMsMedium ||
        (n.report.kubeProxy?.syncP99Seconds ?? 0) > t.syncP99SecondsMedium ||
        (n.report.logs?.kubeProxySlowRestores ?? 0) > 0,
    );
    const measured = [
      saveP95 !== null ? `iptables-save p95 ${saveP95} ms` : null,
      syncP95 !== null ? `kube-proxy sync p99 (p95 across nodes) ${syncP95} s` : null,
      slowRestores > 0 ? `${slowRestores} slow "iptables restore" traces in the window` : null,
    ].filter((p): p is string => p !== null);
    return {
      kind: 'fired',
      severity,
      evidence: {
        summary: `${measured.join('; ')}; thresholds ${t.saveMsMedium}/${t.saveMsHigh} ms and ${t.syncP99SecondsMedium}/${t.syncP99SecondsHigh} s.`,
        values: {
          saveMsP50: saveMs.p50,
          saveMsP95: saveP95,
          saveMsMax: saveMs.max,
          syncP99SecondsP50: syncP99.p50,
          syncP99SecondsP95: syncP95,
          syncP99SecondsMax: syncP99.max,
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
