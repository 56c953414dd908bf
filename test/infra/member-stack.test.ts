import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MemberStack } from '#lib/member-stack.js';
import { buildFleet, COLLECTOR_CONTENT, HUB, MULTI_ACCOUNT, synthTemplates } from './support.js';

let members: Map<string, Template>;

beforeAll(() => {
  const fleet = buildFleet({ fleetAudit: MULTI_ACCOUNT, defaults: HUB });
  const templates = synthTemplates(fleet.app);
  members = new Map(
    fleet.members.map((stack: MemberStack) => [stack.stackName, templates.get(stack.stackName) as Template]),
  );
});

function member(name: string): Template {
  const template = members.get(name);
  if (!template) throw new Error(`no member stack ${name}`);
  return template;
}

/** The read-only actions the audit role may have, and SendCommand (limited to the collector document). */
const ALLOWED_ACTIONS = new Set([
  'eks:ListClusters',
  'eks:DescribeCluster',
  'eks:ListNodegroups',
  'eks:DescribeNodegroup',
  'eks:ListAddons',
  'eks:DescribeAddon',
  'ec2:DescribeInstances',
  'ssm:DescribeInstanceInformation',
  'ssm:SendCommand',
  'ssm:ListCommands',
  'ssm:ListCommandInvocations',
  'logs:StartQuery',
  'logs:DescribeFieldIndexes',
  'logs:GetQueryResults',
  'logs:StopQuery',
]);

type Statement = { Sid: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function auditRoleStatements(template: Template): Statement[] {
  const [policy] = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{
    Properties: { PolicyDocument: { Statement: Statement[] } };
  }>;
  if (!policy) throw new Error('no audit role policy');
  return policy.Properties.PolicyDocument.Statement;
}

const arn = (service: string, region: string, resource: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:${service}:${region}:`, { Ref: 'AWS::AccountId' }, `:${resource}`],
  ],
});

describe('member stacks', () => {
  it('exist for every audited account and region except the hub’s own', () => {
    expect([...members.keys()]).toEqual([
      'FleetAuditorMember-111111111111-us-east-1',
      'FleetAuditorMember-222222222222-eu-west-1',
      'FleetAuditorMember-222222222222-eu-central-1',
    ]);
  });

  it('each hold the collector document, updated in place as a new version', () => {
    for (const template of members.values()) {
      template.hasResourceProperties('AWS::SSM::Document', {
        Name: 'FleetAudit-Collector',
        DocumentType: 'Command',
        UpdateMethod: 'NewVersion',
        Content: COLLECTOR_CONTENT,
      });
    }
  });

  it('ship a collector document within the SSM document size limit (64 KB)', () => {
    expect(JSON.stringify(COLLECTOR_CONTENT).length).toBeLessThan(64 * 1024);
  });

  it('create the audit role once per account, in its first listed region, never in the hub’s account', () => {
    const roleCount = (name: string) => Object.keys(member(name).findResources('AWS::IAM::Role')).length;
    expect(roleCount('FleetAuditorMember-222222222222-eu-west-1')).toBe(1);
    expect(roleCount('FleetAuditorMember-222222222222-eu-central-1')).toBe(0);
    expect(roleCount('FleetAuditorMember-111111111111-us-east-1')).toBe(0);
  });
});

describe('the audit role', () => {
  let template: Template;
  beforeAll(() => {
    template = member('FleetAuditorMember-222222222222-eu-west-1');
  });

  it('is trusted by the hub’s plan, discover, poll and assess roles only', () => {
    const hubRole = (name: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${HUB.account}:role/FleetAuditHub-${name}`]],
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'FleetAuditReadOnly',
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${HUB.account}:root`]] } },
            Condition: {
              ArnEquals: { 'aws:PrincipalArn': ['plan', 'discover', 'poll', 'assess'].map(hubRole) },
            },
          },
        ],
      },
    });
  });

  it('has read-only actions plus SendCommand, nothing else', () => {
    const actions = auditRoleStatements(template).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => !ALLOWED_ACTIONS.has(a))).toEqual([]);
    expect(new Set(actions)).toEqual(ALLOWED_ACTIONS);
  });

  it('may run the collector document and no other, on EC2 instances of the audited regions', () => {
    const send = auditRoleStatements(template).find((s) => s.Sid === 'RunTheCollectorDocumentOnly');
    expect(send?.Action).toBe('ssm:SendCommand');
    expect(send?.Resource).toEqual([
      arn('ssm', 'eu-west-1', 'document/FleetAudit-Collector'),
      arn('ssm', 'eu-central-1', 'document/FleetAudit-Collector'),
      arn('ec2', 'eu-west-1', 'instance/*'),
      arn('ec2', 'eu-central-1', 'instance/*'),
    ]);
  });

  it('limits the actions without resource-level permissions to the audited regions', () => {
    const list = auditRoleStatements(template).find((s) => s.Sid === 'ListWithoutResourceLevelPermissions');
    expect(list?.Resource).toBe('*');
    expect(list?.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'eu-central-1'] } });
  });

  it('queries only the Container Insights log groups', () => {
    const query = auditRoleStatements(template).find((s) => s.Sid === 'QueryContainerInsightsLogs');
    expect(query?.Action).toBe('logs:StartQuery');
    expect(query?.Resource).toEqual([
      arn('logs', 'eu-west-1', 'log-group:/aws/containerinsights/*'),
      arn('logs', 'eu-central-1', 'log-group:/aws/containerinsights/*'),
    ]);
  });

  it('describes EKS resources of the audited regions only', () => {
    const describe = auditRoleStatements(template).find((s) => s.Sid === 'DescribeClusters');
    expect(describe?.Resource).toEqual(
      ['cluster/*', 'nodegroup/*', 'addon/*'].flatMap((resource) =>
        ['eu-west-1', 'eu-central-1'].map((region) => arn('eks', region, resource)),
      ),
    );
  });
});

describe('with securityHubImport', () => {
  let withImport: Map<string, Template>;
  beforeAll(() => {
    const fleet = buildFleet({ fleetAudit: { ...MULTI_ACCOUNT, securityHubImport: true }, defaults: HUB });
    withImport = synthTemplates(fleet.app);
  });
  const roleOf = (template: Template) =>
    Object.values(template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'FleetAuditReadOnly' } }))[0] as {
      Properties: { AssumeRolePolicyDocument: { Statement: Array<{ Condition: unknown }> } };
    };

  it('lets the audit role import findings into its own account’s default Security Hub product, its one write', () => {
    const template = withImport.get('FleetAuditorMember-222222222222-eu-west-1') as Template;
    const imports = auditRoleStatements(template).find((s) => s.Sid === 'ImportFindingsToSecurityHub');
    const product = (region: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          `:securityhub:${region}:`,
          { Ref: 'AWS::AccountId' },
          ':product/',
          { Ref: 'AWS::AccountId' },
          '/default',
        ],
      ],
    });
    expect(imports?.Action).toBe('securityhub:BatchImportFindings');
    expect(imports?.Resource).toEqual([product('eu-west-1'), product('eu-central-1')]);
    // without the setting, the statement is not there (the read-only role above)
    expect(auditRoleStatements(member('FleetAuditorMember-222222222222-eu-west-1')).map((s) => s.Sid)).not.toContain(
      'ImportFindingsToSecurityHub',
    );
  });

  it('trusts the hub’s report role too, which may then assume the audit roles', () => {
    const trust = roleOf(withImport.get('FleetAuditorMember-222222222222-eu-west-1') as Template);
    expect(JSON.stringify(trust.Properties.AssumeRolePolicyDocument.Statement[0]?.Condition)).toContain(
      'FleetAuditHub-report',
    );
    const hub = withImport.get('FleetAuditorHub') as Template;
    hub.hasResourceProperties('AWS::IAM::Role', { RoleName: 'FleetAuditHub-report' });
    const reportPolicies = Object.values(hub.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p).includes('ReportFunctionRole'),
    );
    expect(JSON.stringify(reportPolicies)).toContain('sts:AssumeRole');
    expect(JSON.stringify(hub.findResources('AWS::Lambda::Function'))).toContain('\\"securityHubImport\\":true');
    // and without it, the report function assumes nothing
    const plain = synthTemplates(buildFleet({ fleetAudit: MULTI_ACCOUNT, defaults: HUB }).app).get(
      'FleetAuditorHub',
    ) as Template;
    const plainReport = Object.values(plain.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p).includes('ReportFunctionRole'),
    );
    expect(plainReport.length).toBeGreaterThan(0);
    expect(JSON.stringify(plainReport)).not.toContain('sts:AssumeRole');
  });
});
