import { Aws, type CfnElement, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  ConfigError,
  type HubRoleStep,
  hubRoleName,
  hubRoleSteps,
  type ResolvedConfig,
  trustedHubRoleNames,
} from './config.js';
import { Alerts } from './constructs/alerts.js';
import { AuditFunction, handlerEntry } from './constructs/audit-function.js';
import { AuditRole } from './constructs/audit-role.js';
import { AuditWorkflow } from './constructs/audit-workflow.js';
import { CollectorDocument } from './constructs/collector-document.js';
import { AuditDashboard } from './constructs/dashboard.js';
import { FindingsTable } from './constructs/findings-table.js';
import { NightlySchedule } from './constructs/nightly-schedule.js';
import { OrganizationReaderRole } from './constructs/organization-reader-role.js';
import { RUN_LIST_PREFIX, RunListBucket } from './constructs/run-list-bucket.js';
import { SlackNotifier } from './constructs/slack-notifier.js';
import { acknowledgeNag } from './nag.js';

export interface FleetAuditorStackProps extends StackProps {
  readonly config: ResolvedConfig;
  /** The collector's SSM Command document content (collector/ssm-document.ts). */
  readonly collectorDocumentContent: Record<string, unknown>;
}

/**
 * The hub (docs/operations.md, What gets deployed): findings table, alerts topic, the six step functions, the AuditRun state machine,
 * the nightly schedule and the dashboard with its alarms. When the hub's own account is audited, the hub also
 * holds that account's read-only audit role, and its collector document when the hub's region is audited too;
 * every other account and region gets a member stack (lib/member-stack.ts).
 *
 * The functions reach every audited account, the hub's own included, through the same audit role: their own
 * roles hold no EKS, EC2 or SSM permission, only sts:AssumeRole on the audit roles.
 */
export class FleetAuditorStack extends Stack {
  readonly table: FindingsTable;
  readonly runLists: RunListBucket;
  readonly alerts: Alerts;
  readonly workflow: AuditWorkflow;
  readonly functions: Record<StepName, AuditFunction>;

  constructor(scope: Construct, id: string, props: FleetAuditorStackProps) {
    super(scope, id, props);
    const { config } = props;
    const hubAccount = config.hubAccount ?? Aws.ACCOUNT_ID;
    const hubRegion = config.hubRegion ?? Aws.REGION;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.table = new FindingsTable(this, 'Findings');
    this.runLists = new RunListBucket(this, 'RunLists');
    this.alerts = new Alerts(this, 'Alerts', { ...(config.alertEmail && { email: config.alertEmail }) });

    const hubRegionsAudited = config.auditTargets.filter((t) => t.account === hubAccount).map((t) => t.region);
    if (hubRegionsAudited.length > 0) {
      new AuditRole(this, 'AuditRole', {
        roleName: config.memberRoleName,
        hubAccount,
        trustedRoleNames: trustedHubRoleNames(config),
        importFindings: config.securityHubImport,
        regions: hubRegionsAudited,
        documentName: config.documentName,
      });
    }
    if (hubRegionsAudited.includes(hubRegion)) {
      new CollectorDocument(this, 'Collector', {
        documentName: config.documentName,
        content: props.collectorDocumentContent,
      });
    }

    // What the functions read. pollIntervalSeconds and clusterConcurrency are the state machine's (AuditWorkflow,
    // below); only the local runner (runAudit) reads them from the settings.
    const { organization } = config;
    if (organization && organization.readerAccount === hubAccount) {
      new OrganizationReaderRole(this, 'OrganizationReader', organizationReaderProps(config, hubAccount));
    }
    const settings = {
      targets: config.auditTargets,
      ...(organization && {
        organization: {
          readerRoleArn: organization.readerRoleArn,
          regions: organization.regions,
          organizationalUnits: organization.organizationalUnits,
          excludeAccounts: organization.excludeAccounts,
        },
      }),
      documentName: config.documentName,
      clusterDeadlineSeconds: config.clusterDeadlineSeconds,
      logWindowHours: config.logWindowHours,
      logsInsightsBudget: config.logsInsightsBudget,
      alertMinSeverity: config.alertMinSeverity,
      ...(config.securityHubImport && { securityHubImport: true }),
      thresholds: config.thresholds,
    };
    const settingsBytes = Buffer.byteLength(JSON.stringify(settings));
    if (settingsBytes > MAX_SETTINGS_BYTES) {
      throw new ConfigError(
        `fleetAudit.targets: ${config.auditTargets.length} account/regions make the functions' settings ${settingsBytes} bytes; Lambda allows 4 KB of environment in total, so at most ${MAX_SETTINGS_BYTES} bytes fit (about 55 account/regions): split the fleet across two hubs (hubRolePrefix)`,
      );
    }
    const environment = {
      AUDIT_SETTINGS: this.toJsonString(settings),
      TABLE_NAME: this.table.table.tableName,
      TOPIC_ARN: this.alerts.topic.topicArn,
      AUDIT_ROLE_NAME: config.memberRoleName,
      AUDIT_PARTITION: Aws.PARTITION,
      RETENTION_DAYS: String(config.historyRetentionDays),
    };
    const fn = (name: StepName, description: string, timeout: Duration, assumesAuditRole: boolean) =>
      new AuditFunction(this, STEP_IDS[name], {
        entry: handlerEntry(STEP_ENTRIES[name]),
        description,
        environment,
        timeout,
        logRetention,
        ...(assumesAuditRole && { roleName: hubRoleName(config.hubRolePrefix, name as HubRoleStep) }),
      });
    this.functions = {
      plan: fn('plan', 'Fleet audit: list the clusters of every target', Duration.minutes(2), true),
      discover: fn('discover', 'Fleet audit: discover a cluster and send the collector', Duration.minutes(5), true),
      poll: fn('poll', 'Fleet audit: poll collector commands and log query', Duration.minutes(1), true),
      assess: fn('assess', 'Fleet audit: read node reports, evaluate rules, store', Duration.minutes(5), true),
      recordFailure: fn('recordFailure', 'Fleet audit: record a cluster that failed', Duration.minutes(1), false),
      report: fn(
        'report',
        'Fleet audit: lifecycle, run record, metrics, digest',
        Duration.minutes(10),
        config.securityHubImport,
      ),
    };

    // With an organization the accounts are known only at run time: any account's audit role, by its fixed name.
    const auditRoleArns = organization
      ? [`arn:${Aws.PARTITION}:iam::*:role/${config.memberRoleName}`]
      : [...new Set(config.auditTargets.map((t) => t.account))].map(
          (account) => `arn:${Aws.PARTITION}:iam::${account}:role/${config.memberRoleName}`,
        );
    for (const name of hubRoleSteps(config)) {
      this.functions[name].role.addToPolicy(
        new iam.PolicyStatement({ sid: 'AssumeTheAuditRoles', actions: ['sts:AssumeRole'], resources: auditRoleArns }),
      );
      if (organization) {
        acknowledgeNag(this.functions[name].role.node.findChild('DefaultPolicy'), {
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${config.memberRoleName}]`,
          reason:
            'the organization’s accounts are listed at run time; only roles of the audit role’s name, whose trust policy names these function roles, can be assumed',
        });
      }
    }
    if (organization) {
      this.functions.plan.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadTheOrganization',
          actions: ['sts:AssumeRole'],
          resources: [organization.readerRoleArn],
        }),
      );
    }
    const table = this.table.table;
    // GetItem: a target whose clusters cannot be listed (an account whose audit role cannot be assumed) is planned
    // from its last stored cluster list (plan in lambda/workflow/steps.ts, AuditStore.clusterDirectory)
    table.grant(this.functions.plan.role, 'dynamodb:GetItem', 'dynamodb:PutItem');
    // Discover stores the cluster's nodes and command ids as items (PutItem, AuditStore.putDiscovery) so the state
    // carries counts only; Poll reads the command ids back and Assess the nodes and ids (Query).
    // Discover, Poll and Assess hold the Logs Insights budget's slots (lambda/aws/slots.ts): Query to read them,
    // PutItem to take one, DeleteItem to free it; a query a poll starts late is one item (PutItem, GetItem).
    table.grant(this.functions.discover.role, 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:DeleteItem');
    table.grant(
      this.functions.poll.role,
      'dynamodb:Query',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
    );
    table.grant(
      this.functions.assess.role,
      'dynamodb:Query',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
    );
    table.grant(this.functions.recordFailure.role, 'dynamodb:PutItem');
    // finishRun writes the run's cluster results with BatchWriteItem, and the clusters' snapshots and finding states
    // are read a hundred at a time with BatchGetItem: each its own IAM action (lambda/aws/store.ts).
    table.grant(
      this.functions.report.role,
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:BatchWriteItem',
    );
    // The run's cluster list: Plan writes it, Report reads it back (the Distributed Map's ItemReader reads it with
    // the state machine's role). Only these two actions: grantPut/grantRead would add tagging, legal-hold and
    // listing actions nothing calls.
    const runLists = this.runLists.bucket;
    const lists = runLists.arnForObjects(`${RUN_LIST_PREFIX}*`);
    const listsFinding = `AwsSolutions-IAM5[Resource::<${this.getLogicalId(runLists.node.defaultChild as CfnElement)}.Arn>/${RUN_LIST_PREFIX}*]`;
    for (const [step, action] of [
      ['plan', 's3:PutObject'],
      ['report', 's3:GetObject'],
    ] as const) {
      this.functions[step].function.addEnvironment('RUN_LIST_BUCKET', runLists.bucketName);
      this.functions[step].role.addToPolicy(
        new iam.PolicyStatement({ sid: 'RunClusterList', actions: [action], resources: [lists] }),
      );
      acknowledgeNag(this.functions[step].role.node.findChild('DefaultPolicy'), {
        id: listsFinding,
        reason: 'one object per run under runs/, named by the run id the execution gives at run time',
      });
    }
    this.alerts.topic.grantPublish(this.functions.report.role);
    acknowledgeNag(this.functions.report.role.node.findChild('DefaultPolicy'), {
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'publishing to an encrypted SNS topic needs kms:GenerateDataKey* and kms:Decrypt (grantPublish), on the topic key only',
    });

    this.workflow = new AuditWorkflow(this, 'Workflow', {
      functions: {
        plan: this.functions.plan.function,
        discover: this.functions.discover.function,
        poll: this.functions.poll.function,
        assess: this.functions.assess.function,
        recordFailure: this.functions.recordFailure.function,
        report: this.functions.report.function,
      },
      runLists,
      clusterConcurrency: config.clusterConcurrency,
      toleratedFailurePercentage: config.toleratedClusterFailurePercent,
      pollInterval: Duration.seconds(config.pollIntervalSeconds),
      timeout: Duration.minutes(config.runTimeoutMinutes),
      logRetention,
    });
    new NightlySchedule(this, 'Schedule', {
      stateMachine: this.workflow.stateMachine,
      cron: config.schedule.cron,
      timeZone: config.schedule.timeZone,
    });
    const dashboard = new AuditDashboard(this, 'Dashboard', {
      stateMachine: this.workflow.stateMachine,
      functions: Object.fromEntries(Object.entries(this.functions).map(([name, f]) => [name, f.function])),
      alarmTopic: this.alerts.topic,
    });
    const slack = config.slackWebhookSecretName
      ? new SlackNotifier(this, 'SlackNotifier', {
          topic: this.alerts.topic,
          secretName: config.slackWebhookSecretName,
          logRetention,
        })
      : null;
    this.alerts.allowAlarmsToPublish([
      dashboard.runFailedAlarm,
      dashboard.noSuccessfulRunAlarm,
      ...(slack ? [slack.postFailedAlarm] : []),
    ]);

    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'AlertsTopicArn', { value: this.alerts.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: dashboard.dashboard.dashboardName });
  }
}

/** The organization reader role, in the hub stack or in its own stack in the reader account. */
export function organizationReaderProps(config: ResolvedConfig, hubAccount: string) {
  const organization = config.organization;
  if (!organization) throw new Error('no organization is configured');
  return {
    roleName: organization.readerRoleName,
    hubAccount,
    trustedRoleName: hubRoleName(config.hubRolePrefix, 'plan'),
    organizationId: organization.id,
    managementAccount: organization.managementAccount,
    organizationalUnits: organization.organizationalUnits,
  };
}

/**
 * The settings travel in the AUDIT_SETTINGS environment variable, and Lambda allows 4 KB for all variables together;
 * the other variables (table name, topic ARN, role name, …) take at most about 1 KB.
 */
const MAX_SETTINGS_BYTES = 3000;

type StepName = 'plan' | 'discover' | 'poll' | 'assess' | 'recordFailure' | 'report';

/** Construct ids (they name the logical ids, so keep them stable). */
const STEP_IDS: Record<StepName, string> = {
  plan: 'PlanFunction',
  discover: 'DiscoverFunction',
  poll: 'PollFunction',
  assess: 'AssessFunction',
  recordFailure: 'RecordFailureFunction',
  report: 'ReportFunction',
};

/** lambda/handlers/<entry>.ts */
const STEP_ENTRIES: Record<StepName, string> = {
  plan: 'plan',
  discover: 'discover',
  poll: 'poll',
  assess: 'assess',
  recordFailure: 'record-failure',
  report: 'report',
};
