import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditSettingsSchema } from '#workflow/settings.js';
import { defaultHubTemplate, HUB, hubTemplate, MULTI_ACCOUNT } from './support.js';

let template: Template;
/** The hub of MULTI_ACCOUNT: two accounts, four account/regions, e-mail and a Berlin schedule. */
let multiTemplate: Template;

beforeAll(() => {
  template = defaultHubTemplate();
  multiTemplate = hubTemplate({ fleetAudit: MULTI_ACCOUNT, defaults: HUB });
});

/** Every statement of the inline policies attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(t: Template, rolePrefix: string): Array<Record<string, unknown>> {
  const policies = t.findResources('AWS::IAM::Policy');
  return Object.entries(policies)
    .filter(([id]) => id.startsWith(`${rolePrefix}RoleDefaultPolicy`))
    .flatMap(
      ([, p]) =>
        (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties
          .PolicyDocument.Statement,
    );
}

describe('findings table', () => {
  it('is on-demand, keyed pk/sk, with PITR, encryption, TTL on expiresAt and deletion protection', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      ],
    });
  });

  it('is retained when the stack is deleted or the table replaced', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('run-list bucket (the Distributed Map’s items)', () => {
  it('is encrypted, blocks public access, owns its objects and expires each run’s list after three days', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Status: 'Enabled',
            Prefix: 'runs/',
            ExpirationInDays: 3,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          }),
        ],
      },
    });
  });

  it('denies every request without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('is retained with the stack (lists expire by themselves; CloudFormation cannot delete a bucket with objects)', () => {
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('lets Plan put and Report get the lists only, and names the bucket to those two functions', () => {
    const lists = Match.objectLike({
      'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('/runs/\\*$')])]),
    });
    expect(statementsOf(template, 'PlanFunction').filter((st) => JSON.stringify(st.Action).includes('s3:'))).toEqual([
      expect.objectContaining({ Action: 's3:PutObject', Effect: 'Allow' }),
    ]);
    expect(statementsOf(template, 'ReportFunction').filter((st) => JSON.stringify(st.Action).includes('s3:'))).toEqual([
      expect.objectContaining({ Action: 's3:GetObject', Effect: 'Allow' }),
    ]);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 's3:PutObject', Resource: lists })]) },
    });
    for (const role of ['DiscoverFunction', 'PollFunction', 'AssessFunction', 'RecordFailureFunction']) {
      expect(statementsOf(template, role).some((st) => JSON.stringify(st.Action).includes('s3:'))).toBe(false);
    }
    const functions = Object.entries(template.findResources('AWS::Lambda::Function')).map(([id, f]) => ({
      id,
      variables:
        (f as { Properties: { Environment?: { Variables: Record<string, unknown> } } }).Properties.Environment
          ?.Variables ?? {},
    }));
    const named = functions.filter((f) => 'RUN_LIST_BUCKET' in f.variables).map((f) => f.id.replace(/Function.*$/, ''));
    expect(named.sort()).toEqual(['Plan', 'Report']);
  });

  it('lets the state machine read the lists (ItemReader) and start, describe and stop its own child executions', () => {
    const machineStatements = (prefix: string) =>
      Object.entries(template.findResources('AWS::IAM::Policy'))
        .filter(([id]) => id.startsWith(prefix))
        .flatMap(
          ([, p]) =>
            (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties
              .PolicyDocument.Statement,
        );
    expect(machineStatements('WorkflowStateMachineRoleDefaultPolicy')).toContainEqual(
      expect.objectContaining({ Action: 's3:GetObject', Effect: 'Allow' }),
    );
    const map = machineStatements('WorkflowStateMachineDistributedMapPolicy').map((st) => st.Action);
    expect(map).toEqual([
      'states:StartExecution',
      ['states:DescribeExecution', 'states:StopExecution'],
      'states:RedriveExecution',
    ]);
  });
});

describe('alerts topic', () => {
  it('denies publishing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('is encrypted with a rotated customer managed key', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } });
    // whether CloudWatch alarms may use the key is proven by the IAM proof (test/iam/)
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('has no subscription unless an e-mail address is configured', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    multiTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'platform@example.com',
    });
  });
});

describe('functions', () => {
  it('are six, all Node.js 24 on arm64 with their own log group', () => {
    template.resourceCountIs('AWS::Lambda::Function', 6);
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
    });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('get the settings, table, topic and audit role name from the environment', () => {
    template.allResourcesProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          AUDIT_SETTINGS: Match.anyValue(),
          TABLE_NAME: { Ref: Match.stringLikeRegexp('^FindingsTable') },
          TOPIC_ARN: { Ref: Match.stringLikeRegexp('^AlertsTopic') },
          AUDIT_ROLE_NAME: 'FleetAuditReadOnly',
          RETENTION_DAYS: '400',
          NODE_OPTIONS: '--enable-source-maps',
        }),
      },
    });
  });

  it('pass settings the functions accept (the Lambda side validates them at cold start)', () => {
    // Arrange
    const fn = Object.values(multiTemplate.findResources('AWS::Lambda::Function'))[0] as {
      Properties: { Environment: { Variables: { AUDIT_SETTINGS: string } } };
    };

    // Act
    const raw = JSON.parse(fn.Properties.Environment.Variables.AUDIT_SETTINGS) as Record<string, unknown>;
    const settings = AuditSettingsSchema.parse(raw);

    // Assert
    expect(settings.targets).toEqual([
      { account: HUB.account, region: HUB.region },
      { account: HUB.account, region: 'us-east-1' },
      { account: '222222222222', region: 'eu-west-1' },
      { account: '222222222222', region: 'eu-central-1' },
    ]);
    expect(settings).toMatchObject({ documentName: 'FleetAudit-Collector' });
    // the state machine paces and fans out the clusters (workflow tests); no function reads these two
    expect(raw).not.toHaveProperty('clusterConcurrency');
    expect(raw).not.toHaveProperty('pollIntervalSeconds');
  });

  it('assume exactly the audit role of every audited account', () => {
    const assume = statementsOf(multiTemplate, 'PlanFunction').find((s) => s.Action === 'sts:AssumeRole');
    expect(assume?.Resource).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:role/FleetAuditReadOnly']] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:role/FleetAuditReadOnly']] },
    ]);
  });

  it('that reach into audited accounts have the fixed role names the audit roles trust', () => {
    for (const name of ['plan', 'discover', 'poll', 'assess']) {
      template.hasResourceProperties('AWS::IAM::Role', { RoleName: `FleetAuditHub-${name}` });
    }
  });
});

describe('state machine', () => {
  it('is a Standard workflow with a run time-out, logging every event to CloudWatch Logs', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
      },
    });
  });
});

describe('nightly schedule', () => {
  it('starts the state machine on a cron in a time zone, with its own role', () => {
    const t = multiTemplate;
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 1 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { Ref: Match.stringLikeRegexp('^WorkflowStateMachine') },
        RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ScheduleRole'), 'Arn'] },
        RetryPolicy: { MaximumEventAgeInSeconds: 21600, MaximumRetryAttempts: 10 },
      },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ScheduleRole') }],
      PolicyDocument: {
        Statement: [
          {
            Action: 'states:StartExecution',
            Effect: 'Allow',
            Resource: { Ref: Match.stringLikeRegexp('^WorkflowStateMachine') },
          },
        ],
      },
    });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': HUB.account } },
          }),
        ],
      },
    });
  });
});

describe('dashboard and alarms', () => {
  it('alarm to the alerts topic when a run fails, times out or is aborted', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlertsTopic') }],
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'failed + timedOut + aborted' })]),
    });
  });

  it('alarm when no run has succeeded for 26 hours', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsSucceeded',
      Namespace: 'AWS/States',
      Period: 3600,
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlertsTopic') }],
    });
  });

  it('has a dashboard that shows runs, clusters and open findings by severity', () => {
    // Arrange
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Array<{
      Properties: { DashboardBody: unknown };
    }>;

    // Act
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);

    // Assert
    for (const name of [
      'ClustersAudited',
      'ClustersFailed',
      'RunDurationSeconds',
      'OpenFindingsCritical',
      'OpenFindingsInfo',
    ]) {
      expect(body).toContain(`\\"FleetAudit\\",\\"${name}\\",\\"service\\",\\"eks-fleet-auditor\\"`);
    }
    expect(body).toContain('ExecutionsSucceeded');
  });
});

describe('the hub as an audited account', () => {
  it('holds its own audit role and collector document when its account and region are audited', () => {
    template.resourceCountIs('AWS::SSM::Document', 1);
    template.hasResourceProperties('AWS::IAM::Role', { RoleName: 'FleetAuditReadOnly' });
  });

  it('holds neither when only other accounts are audited', () => {
    const t = hubTemplate({
      fleetAudit: { targets: [{ account: '222222222222', regions: ['eu-west-1'] }] },
      defaults: HUB,
    });
    t.resourceCountIs('AWS::SSM::Document', 0);
    expect(Object.keys(t.findResources('AWS::IAM::Role', { Properties: { RoleName: 'FleetAuditReadOnly' } }))).toEqual(
      [],
    );
  });
});
