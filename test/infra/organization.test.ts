import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ORGANIZATION_MEMBERS_STAGE, ORGANIZATION_READER_STACK_ID } from '#lib/fleet-auditor-app.js';
import { buildFleet, HUB, ORGANIZATION } from './support.js';

/** `targets` naming an organization: the configuration, the hub's grants, the reader role and the StackSet template. */

function synthOrganization(organization: Record<string, unknown> = ORGANIZATION) {
  const fleet = buildFleet({ fleetAudit: { hub: HUB, targets: { organization } } });
  const assembly = fleet.app.synth();
  const template = (name: string) => {
    const stack = assembly.stacks.find((s) => s.stackName === name);
    if (!stack) throw new Error(`no stack ${name}`);
    return stack.template as Record<string, Record<string, unknown>>;
  };
  const member = assembly.getNestedAssembly(`assembly-${ORGANIZATION_MEMBERS_STAGE}`).stacks[0];
  if (!member) throw new Error('no StackSet member template');
  return { fleet, assembly, template, member: member.template as Record<string, Record<string, unknown>> };
}

describe('an organization as the targets', () => {
  it('lets the plan function assume the reader role and every account’s audit role, and tells the functions the organization', () => {
    const { template } = synthOrganization();
    const hub = Template.fromJSON(template('FleetAuditorHub'));

    hub.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ReadTheOrganization',
            Action: 'sts:AssumeRole',
            Resource: {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, ':iam::999999999999:role/FleetAuditOrganizationReader'],
              ],
            },
          }),
        ]),
      },
    });
    hub.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AssumeTheAuditRoles',
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/FleetAuditReadOnly']] },
          }),
        ]),
      },
    });
    // the hub account's own role and document come from the StackSet, like every other account's
    hub.resourceCountIs('AWS::SSM::Document', 0);
    const settings = JSON.stringify(hub.findResources('AWS::Lambda::Function'));
    expect(settings).toContain('\\"organizationalUnits\\":[\\"ou-ab12-workload\\"]');
  });

  it('puts the reader role in the management account, trusting the plan function only, allowed to list the OUs only', () => {
    const { template } = synthOrganization();
    const reader = Template.fromJSON(template(ORGANIZATION_READER_STACK_ID));

    reader.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'FleetAuditOrganizationReader',
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Condition: {
              ArnEquals: {
                'aws:PrincipalArn': {
                  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:role/FleetAuditHub-plan']],
                },
              },
            },
          }),
        ],
      },
    });
    reader.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Sid: 'ListTheAccountsOfTheOUs',
            Effect: 'Allow',
            Action: ['organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent'],
            Resource: {
              'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':organizations::999999999999:ou/o-a1b2c3d4e5/*']],
            },
          },
        ],
      },
    });
  });

  it('keeps the reader role in the hub when the hub is the reader account, with ListAccounts for a whole organization', () => {
    const { template, assembly } = synthOrganization({
      ...ORGANIZATION,
      managementAccount: HUB.account,
      organizationalUnits: [],
    });

    expect(assembly.stacks.map((s) => s.stackName)).not.toContain(ORGANIZATION_READER_STACK_ID);
    Template.fromJSON(template('FleetAuditorHub')).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{ Sid: 'ListTheAccounts', Effect: 'Allow', Action: 'organizations:ListAccounts', Resource: '*' }],
      },
    });
  });

  it('synthesizes a StackSet member template: no account but the hub’s, no bootstrap check, the role in one region only', () => {
    const { member } = synthOrganization();
    const text = JSON.stringify(member);

    // StackSets deploys to accounts that were never bootstrapped: no BootstrapVersion parameter or rule
    expect(member.Parameters).toBeUndefined();
    expect(member.Rules).toBeUndefined();
    expect([...new Set(text.match(/\d{12}/g))]).toEqual([HUB.account]);
    const resources = member.Resources as Record<string, { Type: string; Condition?: string }>;
    const byType = Object.values(resources)
      .map((r) => `${r.Type} ${r.Condition ?? 'always'}`)
      .sort();
    const [condition] = Object.keys(member.Conditions ?? {});
    expect(byType).toEqual([
      `AWS::IAM::Policy ${condition}`,
      `AWS::IAM::Role ${condition}`,
      'AWS::SSM::Document always',
    ]);
    expect(member.Conditions?.[condition ?? '']).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] });
    // too big for TemplateBody (51,200 bytes), so it goes to S3; a TemplateURL may point at up to 460,800 bytes
    // (ValidateTemplate / CreateStackSet API reference)
    expect(text.length).toBeGreaterThan(51_200);
    expect(text.length).toBeLessThan(460_800);
  });
});
