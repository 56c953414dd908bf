import type { LogSignals } from './model.js';

/**
 * The one CloudWatch Logs Insights query run per cluster log group. Container Insights ships the kube-proxy and
 * aws-node container logs to `/aws/containerinsights/<cluster>/dataplane` (ipamd.log is not shipped), so the
 * query counts kube-proxy lock errors, restore failures and slow-restore traces, ipamd API-server errors that
 * reach the container log, and kubelet liveness-probe kills of aws-node.
 *
 * Each signal is `sum(strcontains(@message, "<needle>"))`, so the query is one cheap `stats` pass.
 */
export const LOG_SIGNAL_NEEDLES = {
  kubeProxyLockErrors: 'holding the xtables lock',
  kubeProxyRestoreFailures: 'Failed to execute iptables-restore',
  // kube-proxy logs this trace only for restores slower than 2 s. No quotes in the needle: in the dataplane log
  // group the klog line sits inside a JSON record, where its quotes are escaped.
  kubeProxySlowRestores: 'iptables restore',
  ipamdApiUnreachable: 'Unable to reach API Server',
  awsNodeProbeFailures: 'Container aws-node failed liveness probe',
} as const satisfies Record<Exclude<keyof LogSignals, 'logGroup' | 'windowHours'>, string>;

export type LogSignalName = keyof typeof LOG_SIGNAL_NEEDLES;

/** The default log group for a cluster's data-plane logs. */
export function dataplaneLogGroup(cluster: string): string {
  return `/aws/containerinsights/${cluster}/dataplane`;
}

/** Builds the Logs Insights query string. */
export function buildLogQuery(): string {
  const sums = Object.entries(LOG_SIGNAL_NEEDLES).map(
    ([name, needle]) => `sum(strcontains(@message, ${JSON.stringify(needle)})) as ${name}`,
  );
  return [
    'fields @message',
    '| filter @logStream like /kube-proxy|aws-node/ or @message like /aws-node/',
    `| stats ${sums.join(', ')}`,
  ].join('\n');
}

/** Reads the one result row of the query into signals; a missing or non-numeric field counts 0. */
export function readLogSignals(
  logGroup: string,
  windowHours: number,
  rows: ReadonlyArray<Record<string, string>>,
): LogSignals {
  const row = rows[0] ?? {};
  const value = (name: LogSignalName) => {
    const n = Number(row[name] ?? '0');
    return Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
  };
  return {
    logGroup,
    windowHours,
    kubeProxyLockErrors: value('kubeProxyLockErrors'),
    kubeProxyRestoreFailures: value('kubeProxyRestoreFailures'),
    kubeProxySlowRestores: value('kubeProxySlowRestores'),
    ipamdApiUnreachable: value('ipamdApiUnreachable'),
    awsNodeProbeFailures: value('awsNodeProbeFailures'),
  };
}
