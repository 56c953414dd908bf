import { type CfnElement, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

/** The functions the workflow calls, one per step. */
export interface AuditStepFunctions {
  readonly plan: lambda.IFunction;
  readonly discover: lambda.IFunction;
  readonly poll: lambda.IFunction;
  readonly assess: lambda.IFunction;
  readonly recordFailure: lambda.IFunction;
  readonly report: lambda.IFunction;
}

export interface AuditWorkflowProps {
  readonly functions: AuditStepFunctions;
  /** Where the Plan function writes the run's cluster list, which the Distributed Map's ItemReader reads. */
  readonly runLists: s3.IBucket;
  /** Clusters audited at once (the Map's MaxConcurrency). @default 8 */
  readonly clusterConcurrency?: number;
  /**
   * The share of child executions (clusters) that may fail before the Map fails with
   * States.ExceedToleratedFailureThreshold. A child fails only when something escapes its own Catch (a payload over
   * 256 KiB, a history over 25,000 events, RecordFailure itself failing): the report step then records that
   * cluster as AUDIT-FAILED ("produced no result in this run"), so one broken cluster costs nothing else; a larger
   * share is a systemic fault (the table unreachable, definition and functions out of step) that fails the run
   * loudly instead of sending a digest of failures. @default 20
   */
  readonly toleratedFailurePercentage?: number;
  /** The Wait between two polls of a cluster. @default Duration.seconds(30) */
  readonly pollInterval?: Duration;
  /** The whole run's time-out. @default Duration.hours(6) */
  readonly timeout?: Duration;
  /** Retention of the execution log group. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Errors of the Lambda service itself (not of our code), retried with back-off. Our steps' own AWS calls are
 * retried inside the functions by the SDK's adaptive retry; the state machine does not retry them again.
 */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/**
 * A step whose AWS call was still throttled, unanswered or failing on the server side after the SDK's own retries
 * (the handler names it so, lambda/handlers/step-handler.ts): the cluster's step runs again a little later instead
 * of the cluster being recorded AUDIT-FAILED for the night. With 30 % of every call throttled and six SDK attempts
 * a call, about one call in a thousand still fails (0.32⁶ with the 2 % of 5xx), a few a night over a fleet's
 * thousands of calls: the likely cause of the one cluster a 100 × 200 `npm run chaos` night recorded AUDIT-FAILED
 * (178 node reports short) before this Retry existed. Each cluster step
 * may run again: Discover overwrites its items under a new attempt id, Poll only reads, Assess rewrites its
 * snapshot (docs/operations.md, The state machine).
 */
export const TRANSIENT_STEP_ERRORS = ['TransientAwsError'];

/**
 * A function invocation whose process died before it answered (out of memory, a crash, a runtime that exited):
 * Lambda answers the function error `Runtime.ExitError`, "Runtime exited with error: signal: killed" or "exit
 * status N" (https://repost.aws/knowledge-center/lambda-runtime-error), which Step Functions takes as the error name;
 * an unhandled error Lambda gives no type is `Lambda.Unknown` ("These include out-of-memory errors and function
 * timeouts", https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html). Retried, a little:
 * every step may run again (the report step proven so at every write by test/integration/failpoints.test.ts), and a
 * killed Report must not fail the night (bench/chaos.ts kills one); a process that dies every time (memory too small)
 * still ends in the task's Catch after the retries. A time-out named Sandbox.Timedout is not retried (the step would
 * only time out again); one that Step Functions names Lambda.Unknown is, costing at most two more time-outs.
 */
export const LAMBDA_EXIT_ERRORS = ['Runtime.ExitError', 'Lambda.Unknown'];

/**
 * The "AuditRun" Standard state machine (docs/operations.md, The state machine):
 *
 * ```
 * Plan (writes runs/<runId>/clusters.json, returns its key and count)
 *   → AuditClusters (Distributed Map: ItemReader reads the list from S3; one Standard child execution per
 *                    cluster, MaxConcurrency N, ToleratedFailurePercentage P; Catch States.ALL → RecordRunFailure)
 *        child: AuditCluster (Parallel, one branch, Catch States.ALL → RecordFailure)
 *                 Discover → WaitForCollectors → Poll → CollectorsDone? ─ yes → Assess
 *                                    ▲                      │ no
 *                                    └──────────────────────┘
 *   → Report (reads the list again and each cluster's stored snapshot)
 * ```
 *
 * No Lambda waits idle: waiting is the Wait state. The run id is the execution name, so a retried Plan reuses it
 * and the run record names its execution. Neither the fleet's size nor one cluster's events bound the run: the
 * cluster list travels in S3, not in a state payload (256 KiB), and each cluster's events are in its own child
 * execution's history (25,000 events each), so the parent's history is the same for 5 clusters or 10,000. The
 * ItemSelector adds the run id and start time to each item, the Map discards its children's outputs (the report
 * step reads the snapshots from the table) and the report returns a summary.
 *
 * Children are Standard executions: a cluster may take `clusterDeadlineSeconds` (up to an hour, 10 minutes by
 * default) plus a poll interval and its assessment, and an Express execution runs for at most five minutes
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-standard-vs-express.html); Standard children also
 * keep their history for 90 days, like the parent's. Each child execution has its own history, apart from the
 * parent's (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html, Key terms).
 */
export class AuditWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AuditWorkflowProps) {
    super(scope, id);
    const { functions } = props;

    const plan = this.invoke('Plan', functions.plan, {
      payload: sfn.TaskInput.fromObject({ runId: sfn.JsonPath.stringAt('$$.Execution.Name') }),
    });

    const discover = this.invoke('Discover', functions.discover, { resultPath: '$.discovery' }, true);
    const waitForCollectors = new sfn.Wait(this, 'WaitForCollectors', {
      time: sfn.WaitTime.duration(props.pollInterval ?? Duration.seconds(30)),
    });
    // InputPath picks the payload; ResultPath still merges into the whole state (the item and its discovery).
    const poll = this.invoke('Poll', functions.poll, { inputPath: '$.discovery', resultPath: '$.poll' }, true);
    const assess = this.invoke('Assess', functions.assess, { inputPath: '$.discovery' }, true);
    const collectorsDone = new sfn.Choice(this, 'CollectorsDone?')
      .when(sfn.Condition.booleanEquals('$.poll.done', true), assess)
      .otherwise(waitForCollectors);

    const recordFailure = this.invoke('RecordFailure', functions.recordFailure);
    // One branch, so that a Catch covers the whole iteration: whatever fails, the cluster is recorded as
    // AUDIT-FAILED and the other clusters go on.
    const auditCluster = new sfn.Parallel(this, 'AuditCluster', { outputPath: '$[0]' })
      .branch(discover.next(waitForCollectors).next(poll).next(collectorsDone))
      .addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    const auditClusters = new sfn.DistributedMap(this, 'AuditClusters', {
      itemReader: new sfn.S3JsonItemReader({ bucket: props.runLists, key: sfn.JsonPath.stringAt('$.runList.key') }),
      mapExecutionType: sfn.StateMachineType.STANDARD,
      maxConcurrency: props.clusterConcurrency ?? 8,
      toleratedFailurePercentage: props.toleratedFailurePercentage ?? 20,
      itemSelector: {
        'runId.$': '$.runId',
        'startedAt.$': '$.startedAt',
        'cluster.$': '$$.Map.Item.Value',
      },
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(auditCluster);

    const report = this.invoke('Report', functions.report);
    // A failed report, or a Map whose failed children passed the tolerated share, must not leave the run RUNNING
    // with nobody told: the report function stores the run as FAILED with the reason (one PutItem; a run the step
    // had already stored as finished keeps its result), then the execution fails, which the RunFailed alarm watches.
    const recordRunFailure = this.invoke('RecordRunFailure', functions.report, { resultPath: '$.failure' });
    const runFailed = new sfn.Fail(this, 'RunFailed', {
      error: 'RunFailed',
      cause:
        'The clusters’ audits failed beyond the tolerated share, or the Report step failed; the run is stored as FAILED with the reason unless it had been stored as finished',
    });
    recordRunFailure.next(runFailed);
    auditClusters.addCatch(recordRunFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    report.addCatch(recordRunFailure, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // The /aws/vendedlogs/ prefix keeps the account's CloudWatch Logs resource policy from growing per group.
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-AuditRun`,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      // A named group left behind would make the next deployment of the stack fail; the runs' results are in
      // the table and the execution history, not here.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Nightly EKS fleet audit: xtables-lock contention between kube-proxy and the VPC CNI',
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(auditClusters).next(report)),
      timeout: props.timeout ?? Duration.hours(6),
      // Standard workflows keep every state's input and output in the execution history for 90 days, so the
      // log carries events without payloads (cheaper, and no cluster inventory in a second place).
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: false,
    });
    acknowledgeNag(this.stateMachine, {
      id: 'AwsSolutions-SF2',
      reason:
        'X-Ray is off: the handlers carry no tracer, and the Standard execution history already records every state with its timing',
    });
    const policy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (!policy) throw new Error('the state machine role has no default policy');
    acknowledgeNag(
      policy,
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'CloudWatch Logs vended-log delivery actions (logs:CreateLogDelivery, logs:DescribeLogGroups, …) do not support resource-level permissions',
      },
      ...Object.values(functions).map((fn: lambda.IFunction) => ({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on the function ARN with any version or alias qualifier (CDK task default)',
      })),
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${Stack.of(this).getLogicalId(props.runLists.node.defaultChild as CfnElement)}>/*]`,
        reason:
          'the ItemReader reads the run’s cluster list, whose key the execution names at run time (s3:GetObject only; CDK’s S3JsonItemReader grant)',
      },
    );
    // CDK's grant for the Distributed Map's own child executions: start them, describe and stop them (any child of
    // this state machine), and redrive a Map Run.
    const mapPolicy = this.stateMachine.node.tryFindChild('DistributedMapPolicy');
    if (!mapPolicy) throw new Error('the state machine has no DistributedMapPolicy');
    // cdk-nag names the ARN as synthesized: the stack's region and account literally when the stack has them
    const stack = Stack.of(this);
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const machineId = stack.getLogicalId(this.stateMachine.node.defaultChild as CfnElement);
    const executions = `arn:<AWS::Partition>:states:${region}:${account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machineId}"}]}]}`;
    acknowledgeNag(
      mapPolicy,
      {
        id: `AwsSolutions-IAM5[Resource::${executions}:*]`,
        reason: 'states:DescribeExecution and StopExecution on this state machine’s own executions, named at run time',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${executions}/*:*]`,
        reason: 'states:RedriveExecution on this state machine’s Map Runs, named at run time (CDK’s grant)',
      },
    );
  }

  /** `clusterStep`: a step of one cluster's audit, retried on {@link TRANSIENT_STEP_ERRORS} too. */
  private invoke(
    id: string,
    fn: lambda.IFunction,
    options: Partial<tasks.LambdaInvokeProps> = {},
    clusterStep = false,
  ): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(this, id, {
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      ...options,
    });
    task.addRetry({
      errors: LAMBDA_SERVICE_ERRORS,
      interval: Duration.seconds(2),
      maxAttempts: 6,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    task.addRetry({
      errors: LAMBDA_EXIT_ERRORS,
      interval: Duration.seconds(2),
      maxAttempts: 2,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    if (clusterStep) {
      task.addRetry({
        errors: TRANSIENT_STEP_ERRORS,
        interval: Duration.seconds(5),
        maxAttempts: 3,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
    }
    return task;
  }
}
