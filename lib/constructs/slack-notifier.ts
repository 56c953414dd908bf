import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { AuditFunction, handlerEntry, METRICS_NAMESPACE, SERVICE_NAME } from './audit-function.js';

/** The metric the notifier counts failed posts in (lambda/handlers/observability.ts SLACK_METRICS). */
export const SLACK_POST_FAILED_METRIC = 'SlackPostFailed';

export interface SlackNotifierProps {
  /** The alerts topic it subscribes to. */
  readonly topic: sns.ITopic;
  /**
   * The name of the Secrets Manager secret that holds the incoming webhook URL (the URL itself, or JSON with a
   * `url` field). The user creates it; the stack only reads it.
   */
  readonly secretName: string;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Posts each digest on the alerts topic (and the stack's alarms) to Slack through an incoming webhook
 * (lambda/handlers/slack-notify.ts). Lambda's own retries of an asynchronous invocation are off: the handler
 * retries a post itself within bounds and counts one that still failed, which the {@link postFailedAlarm} reports
 * by e-mail, so nothing is posted twice and a broken webhook is not retried forever.
 */
export class SlackNotifier extends Construct {
  readonly function: AuditFunction;
  readonly postFailedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: SlackNotifierProps) {
    super(scope, id);
    this.function = new AuditFunction(this, 'Function', {
      entry: handlerEntry('slack-notify'),
      description: 'EKS fleet audit: posts the alerts topic to Slack',
      environment: { SLACK_WEBHOOK_SECRET: props.secretName },
      // up to 3 Retry-After waits of at most 30 s and 3 posts of at most 10 s each, per message
      timeout: Duration.minutes(3),
      memorySize: 256,
      logRetention: props.logRetention,
    });
    const fn = this.function.function;
    fn.configureAsyncInvoke({ retryAttempts: 0 });
    // A secret's ARN "includes the name of the secret followed by six random characters" (CreateSecret API,
    // ARN), after a hyphen; `-??????` matches that suffix and nothing longer, so a secret whose name merely starts
    // with this one is not readable.
    const stack = Stack.of(this);
    this.function.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTheSlackWebhookSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${props.secretName}-??????`,
        ],
      }),
    );
    props.topic.addSubscription(new subscriptions.LambdaSubscription(fn));

    this.postFailedAlarm = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: SLACK_POST_FAILED_METRIC,
      dimensionsMap: { service: SERVICE_NAME },
      statistic: 'Sum',
      period: Duration.hours(1),
    }).createAlarm(this, 'PostFailed', {
      alarmDescription: 'The EKS fleet audit could not post to Slack: see the SlackNotifier function logs.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.postFailedAlarm.addAlarmAction(new actions.SnsAction(props.topic));
  }
}
