import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from './audit-function.js';

/**
 * The run metrics the report function emits (EMF, namespace {@link METRICS_NAMESPACE}, dimension `service`).
 * lambda/handlers/observability.ts emits the same names; a test keeps the two equal.
 */
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
  },
} as const;

export interface AuditDashboardProps {
  readonly stateMachine: sfn.IStateMachine;
  /** The step functions, by the name shown on the dashboard. */
  readonly functions: Record<string, lambda.IFunction>;
  /** Where the alarms on the tool's own health go. */
  readonly alarmTopic: sns.ITopic;
  /**
   * An alarm fires when no run has succeeded for this long. Longer than a day, so that a run that ends later than
   * usual (or a daylight-saving shift of the schedule) does not raise it.
   * @default Duration.hours(26)
   */
  readonly missingRunAfter?: Duration;
}

/**
 * The CloudWatch dashboard of the audit itself (runs, clusters, open findings, function health) and the alarms on
 * the tool's own health, both to the alerts topic: a run that failed, timed out or was aborted, and no successful
 * run for more than a day (the schedule or the state machine is broken).
 */
export class AuditDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly runFailedAlarm: cloudwatch.Alarm;
  readonly noSuccessfulRunAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AuditDashboardProps) {
    super(scope, id);
    const { stateMachine } = props;
    const hour = Duration.hours(1);

    const failedRuns = new cloudwatch.MathExpression({
      label: 'failed, timed-out or aborted runs',
      expression: 'failed + timedOut + aborted',
      usingMetrics: {
        failed: stateMachine.metricFailed({ statistic: 'Sum' }),
        timedOut: stateMachine.metricTimedOut({ statistic: 'Sum' }),
        aborted: stateMachine.metricAborted({ statistic: 'Sum' }),
      },
      period: Duration.minutes(5),
    });
    this.runFailedAlarm = failedRuns.createAlarm(this, 'RunFailed', {
      alarmDescription: 'An EKS fleet audit run failed, timed out or was aborted: see the AuditRun executions.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const missingRunHours = Math.ceil((props.missingRunAfter ?? Duration.hours(26)).toHours());
    this.noSuccessfulRunAlarm = stateMachine
      .metricSucceeded({ statistic: 'Sum', period: hour })
      .createAlarm(this, 'NoSuccessfulRun', {
        alarmDescription: `No EKS fleet audit run has succeeded in ${missingRunHours} hours: check the schedule and the AuditRun executions.`,
        threshold: 1,
        evaluationPeriods: missingRunHours,
        datapointsToAlarm: missingRunHours,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    for (const alarm of [this.runFailedAlarm, this.noSuccessfulRunAlarm]) {
      alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
    }

    const runMetric = (metricName: string, label: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: SERVICE_NAME },
        statistic: 'Maximum',
        period: Duration.days(1),
        label,
      });
    const fns = Object.entries(props.functions);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(14),
      widgets: [
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Audit health',
            alarms: [this.runFailedAlarm, this.noSuccessfulRunAlarm],
            width: 6,
            height: 6,
          }),
          new cloudwatch.GraphWidget({
            title: 'Runs',
            width: 9,
            left: [
              stateMachine.metricStarted({ statistic: 'Sum', period: Duration.days(1), label: 'started' }),
              stateMachine.metricSucceeded({ statistic: 'Sum', period: Duration.days(1), label: 'succeeded' }),
              stateMachine.metricFailed({ statistic: 'Sum', period: Duration.days(1), label: 'failed' }),
              stateMachine.metricTimedOut({ statistic: 'Sum', period: Duration.days(1), label: 'timed out' }),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Run duration (seconds)',
            width: 9,
            left: [runMetric(RUN_METRICS.runDurationSeconds, 'run duration')],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Clusters per run',
            width: 12,
            left: [
              runMetric(RUN_METRICS.clustersAudited, 'audited'),
              runMetric(RUN_METRICS.clustersFailed, 'could not be audited'),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Open findings by severity',
            width: 12,
            stacked: true,
            left: Object.entries(RUN_METRICS.openFindings).map(([severity, name]) => runMetric(name, severity)),
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Function errors and throttles',
            width: 12,
            left: fns.map(([name, fn]) => fn.metricErrors({ statistic: 'Sum', period: hour, label: `${name} errors` })),
            right: fns.map(([name, fn]) =>
              fn.metricThrottles({ statistic: 'Sum', period: hour, label: `${name} throttles` }),
            ),
          }),
          new cloudwatch.GraphWidget({
            title: 'Function duration p99 (ms)',
            width: 12,
            left: fns.map(([name, fn]) => fn.metricDuration({ statistic: 'p99', period: hour, label: name })),
          }),
        ],
      ],
    });
  }
}
