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

/**
 * One field index of the log group as DescribeFieldIndexes answers it (API_FieldIndex:
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FieldIndex.html).
 */
export interface FieldIndexInfo {
  /** the field, e.g. `kubernetes.container_name` or `@logStream` */
  name: string;
  /** DEFAULT, CUSTOM, AUTO, INACTIVE, …; undefined when the answer has none */
  category?: string | undefined;
  /** FIELD_INDEX or FACET; undefined when the answer has none */
  type?: string | undefined;
  /**
   * epoch ms of the earliest event that matches the index after its policy was created; undefined: no event has
   * yet. A filterIndex query "returns only results from after the field index was created"
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-FilterIndex-Filter.html).
   */
  firstEventTime?: number | undefined;
}

/** A `filterIndex <field> in [values]` that selects the records of the container-log signals. */
export interface IndexedSelection {
  field: string;
  values: readonly string[];
}

/**
 * Fields that name a record's container, and so select the kube-proxy and aws-node records by equality, the only
 * comparison filterIndex makes (`=` and `IN`: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-FilterIndex.html).
 * `kubernetes.container_name` is the key Fluent Bit's kubernetes filter adds. Container Insights' own Fluent Bit
 * configuration does not run that filter on the dataplane inputs (aws-samples/amazon-cloudwatch-container-insights
 * k8s-deployment-manifest-templates/…/fluent-bit/fluent-bit.yaml, dataplane-log.conf: tail records carry `log`,
 * `stream` and the aws filter's `az`/`ec2_instance_id`; systemd records `hostname`, `systemd_unit`, `message`), so
 * only a cluster whose own pipeline adds it, and whose account indexes it, has one. `@logStream`, indexed by
 * default, does not serve: its names hold each pod's name and container id, unknown before the query.
 */
export const CONTAINER_NAME_FIELDS = ['kubernetes.container_name'] as const;
/** The containers whose log lines the container-log signals count. */
export const SIGNAL_CONTAINERS = ['kube-proxy', 'aws-node'] as const;

/**
 * The filterIndex selection the log group's field indexes allow for a window starting at `windowStartMs`, or null
 * (then the query scans the group's events in the window in full). An index serves only when it is active, a field
 * index (not a facet), and holds events from before the window: filterIndex skips a log group not indexed on the
 * field and returns nothing from before the index existed, so a younger index would hide part of the window.
 */
export function indexedSelection(
  indexes: ReadonlyArray<FieldIndexInfo>,
  windowStartMs: number,
): IndexedSelection | null {
  for (const field of CONTAINER_NAME_FIELDS) {
    const index = indexes.find(
      (i) =>
        i.name === field &&
        i.category !== 'INACTIVE' &&
        (i.type === undefined || i.type === 'FIELD_INDEX') &&
        i.firstEventTime !== undefined &&
        i.firstEventTime <= windowStartMs,
    );
    if (index) return { field, values: SIGNAL_CONTAINERS };
  }
  return null;
}

/**
 * Builds the Logs Insights query string. Without a selection: every record of the log group in the window is
 * scanned (Logs Insights bills the bytes scanned, and a `filter` does not reduce them); the filter keeps the
 * kube-proxy and aws-node container streams and kubelet's lines about aws-node (its liveness-probe kills are in
 * kubelet's journal, stream `<host>-dataplane.systemd.kubelet.service`). With a selection: `filterIndex` makes Logs
 * Insights scan only the records the index holds for those containers ("attempts to scan only log events that have
 * the indexed field" with the value, CWL_QuerySyntax-FilterIndex-Filter.html), and kubelet's journal is not read, so
 * the probe-kill count is left out (readLogSignals makes it null).
 */
export function buildLogQuery(selection: IndexedSelection | null = null): string {
  const signals = Object.entries(LOG_SIGNAL_NEEDLES).filter(
    ([name]) => selection === null || name !== 'awsNodeProbeFailures',
  );
  const sums = signals.map(([name, needle]) => `sum(strcontains(@message, ${JSON.stringify(needle)})) as ${name}`);
  const select = selection
    ? `| filterIndex ${selection.field} in [${selection.values.map((v) => JSON.stringify(v)).join(', ')}]`
    : '| filter @logStream like /kube-proxy|aws-node/ or @message like /aws-node/';
  return ['fields @message', select, `| stats ${sums.join(', ')}`].join('\n');
}

/**
 * Reads the one result row of the query into signals; a missing or non-numeric field counts 0. `indexed`: the
 * query was built with a selection, so it did not read kubelet's journal and the probe-kill count is unknown (null).
 */
export function readLogSignals(
  logGroup: string,
  windowHours: number,
  rows: ReadonlyArray<Record<string, string>>,
  indexed = false,
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
    awsNodeProbeFailures: indexed ? null : value('awsNodeProbeFailures'),
  };
}
