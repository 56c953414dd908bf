import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RecordedCall } from '#sim/call-log.js';
import { renderPermissions } from './permissions-doc.js';
import { prove, requestsOfCalls, requestsOfServices, unknownActionsAndKeys, unusedGrants } from './proof.js';
import { documentationNames, type ProofInputs, proofInputs } from './proof-inputs.js';
import type { RecordedRun } from './recorded-run.js';
import { modelStacks, type StackTemplate, type Statement } from './stack-policies.js';

let run: RecordedRun;
let calls: RecordedCall[];
let templates: StackTemplate[];
let inputs: ProofInputs;

beforeAll(async () => {
  inputs = await proofInputs();
  ({ run, calls, templates } = inputs);
}, 180_000);

const modelOf = (t: StackTemplate[]) =>
  modelStacks(t, { tableName: run.tableName, topicArn: run.topicArn, bucketName: run.bucketName });
const requestsOf = (t: StackTemplate[], model = modelOf(t)) => {
  return [...requestsOfCalls(calls, model), ...requestsOfServices(model)];
};

/**
 * A copy of the templates with `action` taken out of the statements that `where` picks (the statement goes when it
 * loses its last action), as if the grant had been deleted from the stack.
 */
function withoutGrant(
  where: (stackName: string, logicalId: string, statement: Statement) => boolean,
  action: string,
  from: StackTemplate[] = templates,
): StackTemplate[] {
  const copy = structuredClone(from);
  let removed = 0;
  for (const template of copy) {
    for (const [id, resource] of Object.entries(template.resources)) {
      const props = resource.Properties ?? {};
      for (const key of ['PolicyDocument', 'KeyPolicy', 'AssumeRolePolicyDocument']) {
        const document = props[key] as { Statement: Statement[] } | undefined;
        if (!document?.Statement) continue;
        document.Statement = document.Statement.flatMap((statement) => {
          if (!where(template.stackName, id, statement)) return [statement];
          const actions = [statement.Action ?? []].flat();
          if (!actions.includes(action)) return [statement];
          removed += 1;
          const rest = actions.filter((a) => a !== action);
          return rest.length === 0 ? [] : [{ ...statement, Action: rest }];
        });
      }
    }
  }
  if (removed === 0) throw new Error(`no statement grants ${action} there: the mutation would prove nothing`);
  return copy;
}

const policyOfRole = (rolePrefix: string) => (_stack: string, id: string) =>
  id.startsWith(`${rolePrefix}RoleDefaultPolicy`);
const auditRolePolicyIn = (account: string) => (stack: string, id: string) =>
  stack === `FleetAuditorMember-${account}-eu-west-1` && id.startsWith('AuditRoleDefaultPolicy');
const topicPolicy = (_stack: string, id: string) => id.startsWith('AlertsTopicPolicy');
const keyStatementFor = (service: string) => (_stack: string, id: string, statement: Statement) =>
  id.startsWith('AlertsKey') && JSON.stringify(statement.Principal) === JSON.stringify({ Service: service });

describe('the IAM proof over every call of the end-to-end run', () => {
  it('records every call with the function that made it, and each function made some', () => {
    const byCaller = new Map<string, number>();
    for (const call of calls) byCaller.set(String(call.caller), (byCaller.get(String(call.caller)) ?? 0) + 1);
    console.log(`calls recorded by function: ${JSON.stringify(Object.fromEntries(byCaller))}`);
    expect([...byCaller.keys()].sort()).toEqual([
      'assess',
      'discover',
      'plan',
      'poll',
      'recordFailure',
      'report',
      'slackNotifier',
    ]);
  });

  it('includes the report step claiming and settling an ended suppression’s notice', () => {
    const notices = calls.filter(
      (c) => c.caller === 'report' && c.action === 'PutItem' && JSON.stringify(c.input).includes('"endNotice"'),
    );
    expect(notices.length).toBeGreaterThanOrEqual(2);
  });

  it('includes the report step importing the findings into Security Hub in each audited account and region', () => {
    const imports = calls.filter((c) => c.caller === 'report' && c.action === 'BatchImportFindings');
    expect(new Set(imports.map((c) => `${c.account}/${c.region}`)).size).toBeGreaterThanOrEqual(2);
  });

  it('allows every call each function made, and what AWS services do for the stack, under the synthesized policies', async () => {
    const result = await prove(requestsOf(templates));
    console.log(`requests proven by caller: ${JSON.stringify(Object.fromEntries(result.allowedByCaller))}`);
    expect(result.denied).toEqual([]);
    expect(result.allowedByCaller.get('report')).toBeGreaterThan(0);
    expect(result.allowedByCaller.get('cloudwatch alarm DashboardRunFailed02316908')).toBe(3);
  });

  it('grants no function or audit role an action none of its calls used', () => {
    const model = modelOf(templates);
    expect(unusedGrants(model, requestsOf(templates, model))).toEqual([]);
  });

  it('finds every action and condition key of every policy in AWS’s IAM data', async () => {
    expect(await unknownActionsAndKeys(modelOf(templates).documents)).toEqual([]);
  });

  it('rejects a misspelt action and an invented condition key', async () => {
    // Arrange
    const documents = [
      {
        where: 'a test policy',
        document: {
          Statement: [
            {
              Effect: 'Allow' as const,
              Action: ['dynamodb:BatchWriteItems', 'kms:GenerateDataKey*', 'ssm:Nothing*'],
              Resource: '*',
              Condition: {
                StringEquals: {
                  'aws:RequestedRegionn': 'eu-west-1',
                  'ssm:resourceTag/team': 'y',
                  'dynamodb:LeadingKey': 'pk',
                },
              },
            },
          ],
        },
      },
    ];

    // Act
    const problems = await unknownActionsAndKeys(documents);

    // Assert
    expect(problems).toEqual([
      'a test policy: action dynamodb:BatchWriteItems does not exist',
      'a test policy: action ssm:Nothing* matches no action',
      'a test policy: condition key aws:RequestedRegionn does not exist',
      'a test policy: condition key dynamodb:LeadingKey does not exist',
    ]);
  });

  it('denies publishing to the topic without TLS', async () => {
    // Arrange
    const model = modelOf(templates);
    const publish = requestsOfCalls(calls, model).find((r) => r.action === 'sns:Publish');
    if (!publish) throw new Error('the run published nothing');

    // Act
    const result = await prove([{ ...publish, context: { ...publish.context, 'aws:SecureTransport': 'false' } }]);

    // Assert
    expect(result.denied).toEqual([`report: sns:Publish on ${run.topicArn} denied (ExplicitlyDenied)`]);
  });
});

describe('deleting a grant the product needs fails the proof, naming function, action and resource', () => {
  const cases: Array<{
    grant: string;
    where: Parameters<typeof withoutGrant>[0];
    action: string;
    expected: string | ReturnType<typeof expect.stringMatching>;
  }> = [
    {
      grant: 'the report role’s BatchWriteItem',
      where: policyOfRole('ReportFunction'),
      action: 'dynamodb:BatchWriteItem',
      expected:
        'report: dynamodb:BatchWriteItem on arn:aws:dynamodb:eu-west-1:111111111111:table/fleet-audit denied (ImplicitlyDenied)',
    },
    {
      grant: 'the report role’s BatchGetItem (the clusters’ snapshots and finding states, a hundred a call)',
      where: policyOfRole('ReportFunction'),
      action: 'dynamodb:BatchGetItem',
      expected:
        'report: dynamodb:BatchGetItem on arn:aws:dynamodb:eu-west-1:111111111111:table/fleet-audit denied (ImplicitlyDenied)',
    },
    {
      grant: 'the report role’s sns:Publish',
      where: policyOfRole('ReportFunction'),
      action: 'sns:Publish',
      expected:
        'report: sns:Publish on arn:aws:sns:eu-west-1:111111111111:fleet-audit-alerts denied (ImplicitlyDenied)',
    },
    {
      grant: 'the assess role’s Query',
      where: policyOfRole('AssessFunction'),
      action: 'dynamodb:Query',
      expected:
        'assess: dynamodb:Query on arn:aws:dynamodb:eu-west-1:111111111111:table/fleet-audit denied (ImplicitlyDenied)',
    },
    {
      grant: 'the discover role’s PutItem (the cluster’s nodes and command ids go to the table)',
      where: policyOfRole('DiscoverFunction'),
      action: 'dynamodb:PutItem',
      expected:
        'discover: dynamodb:PutItem on arn:aws:dynamodb:eu-west-1:111111111111:table/fleet-audit denied (ImplicitlyDenied)',
    },
    {
      grant: 'the poll role’s Query (the command ids are read back from the table)',
      where: policyOfRole('PollFunction'),
      action: 'dynamodb:Query',
      expected:
        'poll: dynamodb:Query on arn:aws:dynamodb:eu-west-1:111111111111:table/fleet-audit denied (ImplicitlyDenied)',
    },
    {
      grant: 'the plan role’s sts:AssumeRole',
      where: policyOfRole('PlanFunction'),
      action: 'sts:AssumeRole',
      expected: 'plan: sts:AssumeRole on arn:aws:iam::222222222222:role/FleetAuditReadOnly denied (ImplicitlyDenied)',
    },
    {
      grant: 'the member audit role’s ssm:SendCommand',
      where: auditRolePolicyIn('222222222222'),
      action: 'ssm:SendCommand',
      expected:
        'discover: ssm:SendCommand on arn:aws:ssm:eu-west-1:222222222222:document/FleetAudit-Collector denied (ImplicitlyDenied)',
    },
    {
      grant: 'the hub account’s audit role’s logs:GetQueryResults',
      where: (stack, id) => stack === 'FleetAuditorHub' && id.startsWith('AuditRoleDefaultPolicy'),
      action: 'logs:GetQueryResults',
      expected:
        'poll: logs:GetQueryResults on arn:aws:logs:eu-west-1:111111111111:log-group:/aws/containerinsights/checkout-prod/dataplane denied (ImplicitlyDenied)',
    },
    {
      grant: 'the topic policy’s Allow for CloudWatch alarms',
      where: topicPolicy,
      action: 'sns:Publish',
      expected:
        'cloudwatch alarm DashboardRunFailed02316908: sns:Publish on arn:aws:sns:eu-west-1:111111111111:fleet-audit-alerts denied (ImplicitlyDenied)',
    },
    {
      grant: 'the key policy’s kms:GenerateDataKey* for CloudWatch',
      where: keyStatementFor('cloudwatch.amazonaws.com'),
      action: 'kms:GenerateDataKey*',
      expected:
        'cloudwatch alarm DashboardRunFailed02316908: kms:GenerateDataKey on arn:aws:kms:eu-west-1:111111111111:key/AlertsKey9E1197AF denied (ImplicitlyDenied)',
    },
    {
      grant: 'the plan role’s s3:PutObject on the run lists',
      where: policyOfRole('PlanFunction'),
      action: 's3:PutObject',
      expected: expect.stringMatching(
        /^plan: s3:PutObject on arn:aws:s3:::fleet-audit-run-lists\/runs\/[\w-]+\/clusters\.json denied \(ImplicitlyDenied\)$/,
      ),
    },
    {
      grant: 'the report role’s s3:GetObject on the run lists',
      where: policyOfRole('ReportFunction'),
      action: 's3:GetObject',
      expected: expect.stringMatching(
        /^report: s3:GetObject on arn:aws:s3:::fleet-audit-run-lists\/runs\/[\w-]+\/clusters\.json denied \(ImplicitlyDenied\)$/,
      ),
    },
    {
      grant: 'the state machine role’s s3:GetObject (the ItemReader)',
      where: (_stack, id) => id.startsWith('WorkflowStateMachineRoleDefaultPolicy'),
      action: 's3:GetObject',
      expected:
        'state machine: s3:GetObject on arn:aws:s3:::fleet-audit-run-lists/runs/fleet-audit-2026-12-07T02-00-00Z/clusters.json denied (ImplicitlyDenied)',
    },
    {
      grant: 'the state machine role’s states:StartExecution (its child executions)',
      where: (_stack, id) => id.startsWith('WorkflowStateMachineDistributedMapPolicy'),
      action: 'states:StartExecution',
      expected: expect.stringMatching(
        /^state machine: states:StartExecution on arn:aws:states:eu-west-1:111111111111:stateMachine:WorkflowStateMachine\w+ denied \(ImplicitlyDenied\)$/,
      ),
    },
    {
      grant: 'the Slack notifier role’s secretsmanager:GetSecretValue',
      where: policyOfRole('SlackNotifierFunction'),
      action: 'secretsmanager:GetSecretValue',
      expected: expect.stringMatching(
        /^slackNotifier: secretsmanager:GetSecretValue on arn:aws:secretsmanager:eu-west-1:111111111111:secret:fleet-audit\/slack-webhook-\w{6} denied \(ImplicitlyDenied\)$/,
      ),
    },
  ];

  it.each(cases)('without $grant', async ({ where, action, expected }) => {
    // Arrange
    const mutated = withoutGrant(where, action);

    // Act
    const result = await prove(requestsOf(mutated));

    // Assert
    expect(result.denied).toContainEqual(expected);
  });
  it('without the Lambda permission that lets SNS invoke the Slack notifier', async () => {
    // Arrange: the AWS::Lambda::Permission resources of the notifier's function gone
    const mutated = structuredClone(templates);
    for (const template of mutated) {
      for (const [id, resource] of Object.entries(template.resources)) {
        if (resource.Type === 'AWS::Lambda::Permission' && id.startsWith('SlackNotifier'))
          delete template.resources[id];
      }
    }

    // Act
    const result = await prove(requestsOf(mutated));

    // Assert
    expect(result.denied).toContainEqual(
      expect.stringMatching(/^sns delivery to slackNotifier: lambda:InvokeFunction on arn:aws:lambda:.* denied/),
    );
  });
});

describe('docs/operations.md', () => {
  it('holds the permissions section generated from the stacks and the run (npm run docs:permissions)', async () => {
    // Arrange
    const model = modelOf(templates);
    const section = renderPermissions(model, requestsOf(templates, model), documentationNames(inputs));

    // Act
    const doc = await readFile(new URL('../../docs/operations.md', import.meta.url), 'utf8');

    // Assert
    expect(doc).toContain(section);
  });
});

describe('the IAM proof over the organization-shaped run', () => {
  const org = () => inputs.organization;
  const orgModel = (t: StackTemplate[]) =>
    modelStacks(t, { tableName: org().run.tableName, topicArn: org().run.topicArn, bucketName: org().run.bucketName });
  const orgRequests = (t: StackTemplate[], model = orgModel(t)) => [
    ...requestsOfCalls(org().run.calls, model, org().organization),
    ...requestsOfServices(model),
  ];
  const withoutOrgGrant = (where: Parameters<typeof withoutGrant>[0], action: string) =>
    withoutGrant(where, action, org().templates);

  it('listed the organization from the management account and audited its accounts through their audit roles', () => {
    const listed = org()
      .run.calls.filter((c) => c.service === 'organizations')
      .map((c) => `${c.caller} ${c.account} ${c.action} ${String(c.input.ParentId)}`);
    expect(new Set(listed)).toEqual(
      new Set([
        'plan 999999999999 ListAccountsForParent ou-ab12-workload',
        'plan 999999999999 ListAccountsForParent ou-ab12-nested01',
        'plan 999999999999 ListOrganizationalUnitsForParent ou-ab12-workload',
        'plan 999999999999 ListOrganizationalUnitsForParent ou-ab12-nested01',
      ]),
    );
    expect([...new Set(org().run.targets.map((t) => t.account))].sort()).toEqual(['111111111111', '222222222222']);
  });

  it('allows every call of the run under the organization stacks’ policies; the reader role grants nothing unused', async () => {
    const model = orgModel(org().templates);
    const requests = orgRequests(org().templates, model);
    const result = await prove(requests);
    expect(result.denied).toEqual([]);
    expect(requests.filter((r) => r.action.startsWith('organizations:')).length).toBe(4);
    // the functions' and the audit role's grants are the list-shaped run's (above); the reader role is this run's
    expect(unusedGrants(model, requests).filter((grant) => grant.startsWith('organization reader role'))).toEqual([]);
    expect(await unknownActionsAndKeys(model.documents)).toEqual([]);
  });

  it.each([
    {
      grant: 'the reader role’s ListAccountsForParent',
      where: (_stack: string, id: string) => id.startsWith('OrganizationReaderRoleDefaultPolicy'),
      action: 'organizations:ListAccountsForParent',
      expected:
        'plan: organizations:ListAccountsForParent on arn:aws:organizations::999999999999:ou/o-a1b2c3d4e5/ou-ab12-nested01 denied (ImplicitlyDenied)',
    },
    {
      grant: 'the plan role’s sts:AssumeRole on the reader role',
      where: (_stack: string, id: string, statement: Statement) =>
        id.startsWith('PlanFunctionRoleDefaultPolicy') && statement.Sid === 'ReadTheOrganization',
      action: 'sts:AssumeRole',
      expected:
        'plan: sts:AssumeRole on arn:aws:iam::999999999999:role/FleetAuditOrganizationReader denied (ImplicitlyDenied)',
    },
    {
      grant: 'the StackSet audit role’s eks:ListClusters in 222222222222',
      where: (stack: string, id: string) => stack.endsWith('@222222222222') && id.startsWith('AuditRoleDefaultPolicy'),
      action: 'eks:ListClusters',
      expected: 'plan: eks:ListClusters on * denied (ImplicitlyDenied)',
    },
  ])('fails without $grant, naming function, action and resource', async ({ where, action, expected }) => {
    const result = await prove(orgRequests(withoutOrgGrant(where, action)));
    expect(result.denied).toContainEqual(expected);
  });
});
