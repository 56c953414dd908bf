import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

export interface OrganizationReaderRoleProps {
  /** The role's name: the hub's plan function assumes `arn:aws:iam::<reader account>:role/<roleName>`. */
  readonly roleName: string;
  readonly hubAccount: string;
  /** The hub's plan function role, by name: the only principal the role trusts. */
  readonly trustedRoleName: string;
  readonly organizationId: string;
  /** Organizations ARNs name the management account, also when a delegated administrator calls. */
  readonly managementAccount: string;
  /** The OUs audited; empty: the whole organization (ListAccounts). */
  readonly organizationalUnits: ReadonlyArray<string>;
}

/**
 * The role the plan step assumes to list the organization's accounts, in the management account or a delegated
 * administrator: the Organizations List operations "can only be called from the management account or a member
 * account that is a delegated administrator" (API_ListAccounts, API_ListAccountsForParent,
 * API_ListOrganizationalUnitsForParent in the Organizations API Reference). It may read the account list and
 * nothing else: ListAccounts for a whole organization, or ListAccountsForParent and ListOrganizationalUnitsForParent
 * when OUs are configured (their resource types are `organizationalunit` and `root`, Service Authorization Reference
 * for AWS Organizations; ListAccounts has none).
 */
export class OrganizationReaderRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: OrganizationReaderRoleProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description:
        'Lists the organization’s accounts for the EKS fleet audit, assumed by the audit hub’s plan function',
      assumedBy: new iam.AccountPrincipal(props.hubAccount).withConditions({
        ArnEquals: {
          'aws:PrincipalArn': `arn:${Aws.PARTITION}:iam::${props.hubAccount}:role/${props.trustedRoleName}`,
        },
      }),
    });
    const ous = `arn:${Aws.PARTITION}:organizations::${props.managementAccount}:ou/${props.organizationId}/*`;
    if (props.organizationalUnits.length === 0) {
      this.role.addToPolicy(
        new iam.PolicyStatement({ sid: 'ListTheAccounts', actions: ['organizations:ListAccounts'], resources: ['*'] }),
      );
    } else {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ListTheAccountsOfTheOUs',
          actions: ['organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent'],
          resources: [ous],
        }),
      );
    }
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (!policy) throw new Error('the organization reader role has no default policy');
    acknowledgeNag(
      policy,
      props.organizationalUnits.length === 0
        ? {
            id: 'AwsSolutions-IAM5[Resource::*]',
            reason: 'organizations:ListAccounts has no resource types (Service Authorization Reference)',
          }
        : {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::${props.managementAccount}:ou/${props.organizationId}/*]`,
            reason:
              'the OUs nested in the configured ones are discovered at run time; their ids are not known at deploy time',
          },
    );
  }
}
