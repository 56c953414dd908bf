import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SEVERITIES, type Severity } from '#audit/model.js';

/**
 * The one place the Lambda functions get their logger and metrics (powertools, configured once per cold start).
 * The names below are what the dashboard in lib/constructs/dashboard.ts graphs; a test keeps both sides equal.
 */

export const SERVICE_NAME = 'eks-fleet-auditor';
export const METRICS_NAMESPACE = 'FleetAudit';

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

export const RUN_METRICS = {
  clustersAudited: 'ClustersAudited',
  clustersFailed: 'ClustersFailed',
  runDurationSeconds: 'RunDurationSeconds',
  openFindings: {
    CRITICAL: 'OpenFindingsCritical',
    HIGH: 'OpenFindingsHigh',
    MEDIUM: 'OpenFindingsMedium',
    LOW: 'OpenFindingsLow',
    INFO: 'OpenFindingsInfo',
  } satisfies Record<Severity, string>,
} as const;

/** The Slack notifier's metric: posts that failed after their retries (the stack alarms on it). */
export const SLACK_METRICS = { postFailed: 'SlackPostFailed' } as const;

/** What one run's metrics are made of (see lambda/handlers/run-summary.ts). */
export interface RunMetricValues {
  clustersAudited: number;
  clustersFailed: number;
  durationSeconds: number;
  openFindingsBySeverity: Record<Severity, number>;
}

/** Emits one run's metrics as one EMF blob on stdout (CloudWatch extracts them from the log line). */
export function publishRunMetrics(values: RunMetricValues, sink: Metrics = metrics): void {
  sink.addMetric(RUN_METRICS.clustersAudited, MetricUnit.Count, values.clustersAudited);
  sink.addMetric(RUN_METRICS.clustersFailed, MetricUnit.Count, values.clustersFailed);
  sink.addMetric(RUN_METRICS.runDurationSeconds, MetricUnit.Seconds, values.durationSeconds);
  for (const severity of SEVERITIES) {
    sink.addMetric(RUN_METRICS.openFindings[severity], MetricUnit.Count, values.openFindingsBySeverity[severity]);
  }
  sink.publishStoredMetrics();
}
