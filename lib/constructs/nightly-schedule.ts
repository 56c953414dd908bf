import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface NightlyScheduleProps {
  readonly stateMachine: sfn.IStateMachine;
  /** An EventBridge Scheduler cron expression. @default 'cron(0 2 * * ? *)' (02:00 every day) */
  readonly cron?: string;
  /** The IANA time zone the cron expression is read in (daylight saving handled). @default 'UTC' */
  readonly timeZone?: string;
  /** @default true */
  readonly enabled?: boolean;
}

/**
 * EventBridge Scheduler starts one audit run a night, at a local time (not a UTC offset that drifts with daylight
 * saving). It uses its own role, which may start executions of this one state machine and nothing else. A start
 * that fails is retried for at most six hours, so a late retry cannot overlap the next night's run.
 */
export class NightlySchedule extends Construct {
  readonly schedule: scheduler.Schedule;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: NightlyScheduleProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      description: 'EventBridge Scheduler: starts the nightly EKS fleet audit',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Nightly EKS fleet audit (xtables-lock contention)',
      schedule: scheduler.ScheduleExpression.expression(
        props.cron ?? 'cron(0 2 * * ? *)',
        TimeZone.of(props.timeZone ?? 'UTC'),
      ),
      enabled: props.enabled ?? true,
      target: new targets.StepFunctionsStartExecution(props.stateMachine, {
        role: this.role,
        retryAttempts: 10,
        maxEventAge: Duration.hours(6),
      }),
    });
  }
}
