import { Aws, CfnCondition, type CfnResource, Fn, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

export interface AuditRoleProps {
  /** The role's name: the hub's functions assume `arn:aws:iam::<account>:role/<roleName>`. */
  readonly roleName: string;
  /** The hub account (may be the `AWS::AccountId` token when the role lives in the hub stack itself). */
  readonly hubAccount: string;
  /** The hub's function roles allowed to assume this role, by name. */
  readonly trustedRoleNames: ReadonlyArray<string>;
  /** The regions of this account that are audited (literal names, or the `AWS::Region` token). */
  readonly regions: ReadonlyArray<string>;
  /** The collector's SSM document name: the only document the role may run. */
  readonly documentName: string;
  /**
   * Create the role only when the stack is deployed in this region (a CloudFormation condition on AWS::Region): a
   * StackSet deploys one template to every region of an account, and an IAM role, global, must be created once.
   * @default always created
   */
  readonly onlyInRegion?: string;
  /**
   * May import findings into Security Hub (the hub's report step, with securityHubImport): BatchImportFindings on
   * this account's default product in the audited regions, the role's only write. @default false
   */
  readonly importFindings?: boolean;
}

/** Where Container Insights keeps the kube-proxy and aws-node logs the audit queries. */
export const CONTAINER_INSIGHTS_LOG_GROUPS = '/aws/containerinsights/*';

/**
 * The read-only audit role in an audited account. It is assumed by the hub's plan, discover, poll and assess
 * functions (the trust policy names their role ARNs; the account principal plus `aws:PrincipalArn` means deploy
 * order does not matter) and may:
 *
 * - list and describe EKS clusters, node groups and add-ons, and describe EC2 instances (to find the nodes);
 * - read SSM's view of the nodes, run the collector document — and no other document — on EC2 instances, and
 *   read the command results;
 * - run Logs Insights queries on the Container Insights log groups, and list their field indexes;
 * - with `importFindings`, import the audit's findings into Security Hub (its one write, on the account's own
 *   default product: the account a finding belongs to must import it).
 *
 * Every permission is limited to the audited regions. SendCommand is not narrowed by an instance tag: nodes are
 * tagged `kubernetes.io/cluster/<name>`, a tag key that holds the cluster name, and IAM cannot match a tag *key*
 * with a wildcard; the guard is the document instead, which is fixed, takes no parameters and only reads.
 */
export class AuditRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: AuditRoleProps) {
    super(scope, id);
    const trusted = props.trustedRoleNames.map((name) => `arn:${Aws.PARTITION}:iam::${props.hubAccount}:role/${name}`);
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description: 'Read-only EKS fleet audit (xtables-lock contention), assumed by the audit hub',
      assumedBy: new iam.AccountPrincipal(props.hubAccount).withConditions({
        ArnEquals: { 'aws:PrincipalArn': trusted },
      }),
    });

    const regional = (service: string, resource: string) =>
      props.regions.map((region) => ({
        arn: `arn:${Aws.PARTITION}:${service}:${region}:${Aws.ACCOUNT_ID}:${resource}`,
        label: `arn:<AWS::Partition>:${service}:${Token.isUnresolved(region) ? '<AWS::Region>' : region}:<AWS::AccountId>:${resource}`,
      }));
    const eks = [...regional('eks', 'cluster/*'), ...regional('eks', 'nodegroup/*'), ...regional('eks', 'addon/*')];
    const instances = regional('ec2', 'instance/*');
    const logGroups = regional('logs', `log-group:${CONTAINER_INSIGHTS_LOG_GROUPS}`);
    const documents = regional('ssm', `document/${props.documentName}`);

    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListWithoutResourceLevelPermissions',
        actions: [
          'eks:ListClusters',
          'ec2:DescribeInstances',
          'ssm:DescribeInstanceInformation',
          'ssm:ListCommands',
          'ssm:ListCommandInvocations',
          'logs:GetQueryResults',
          // cancels a cluster's query still running at its deadline, freeing the account's concurrent-query slot
          'logs:StopQuery',
          // whether the log group indexes a field the query can filterIndex on (without it the query scans the
          // group in full); wildcard-only in the Service Authorization Reference (Amazon CloudWatch Logs actions,
          // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html)
          'logs:DescribeFieldIndexes',
        ],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:RequestedRegion': [...props.regions] } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeClusters',
        actions: [
          'eks:DescribeCluster',
          'eks:ListNodegroups',
          'eks:DescribeNodegroup',
          'eks:ListAddons',
          'eks:DescribeAddon',
        ],
        resources: eks.map((r) => r.arn),
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RunTheCollectorDocumentOnly',
        actions: ['ssm:SendCommand'],
        resources: [...documents, ...instances].map((r) => r.arn),
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'QueryContainerInsightsLogs',
        actions: ['logs:StartQuery'],
        resources: logGroups.map((r) => r.arn),
      }),
    );

    if (props.importFindings) {
      // BatchImportFindings authorizes on the `product` resource, arn:${Partition}:securityhub:${Region}:
      // ${Account}:product/${Company}/${ProductId} (Service Authorization Reference, AWS Security Hub); the
      // account's own findings go to its default product, product/<account>/default.
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ImportFindingsToSecurityHub',
          actions: ['securityhub:BatchImportFindings'],
          resources: regional('securityhub', `product/${Aws.ACCOUNT_ID}/default`).map((r) => r.arn),
        }),
      );
    }

    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (!policy) throw new Error('the audit role has no default policy');
    if (props.onlyInRegion !== undefined) {
      const inRegion = new CfnCondition(this, 'InRoleRegion', {
        expression: Fn.conditionEquals(Aws.REGION, props.onlyInRegion),
      });
      (this.role.node.defaultChild as CfnResource).cfnOptions.condition = inRegion;
      (policy.node.defaultChild as CfnResource).cfnOptions.condition = inRegion;
    }
    acknowledgeNag(
      policy,
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'eks:ListClusters, ec2:DescribeInstances, ssm:DescribeInstanceInformation, ssm:ListCommands, ssm:ListCommandInvocations, logs:GetQueryResults, logs:StopQuery and logs:DescribeFieldIndexes have no resource-level permissions; limited to the audited regions by aws:RequestedRegion',
      },
      ...eks.map((r) => ({
        id: `AwsSolutions-IAM5[Resource::${r.label}]`,
        reason: 'the audit covers every EKS cluster of the account; their names are discovered at run time',
      })),
      ...instances.map((r) => ({
        id: `AwsSolutions-IAM5[Resource::${r.label}]`,
        reason:
          'the collector runs on every node the audit discovers; the action is limited to the fixed read-only collector document',
      })),
      ...logGroups.map((r) => ({
        id: `AwsSolutions-IAM5[Resource::${r.label}]`,
        reason: 'Container Insights log groups are named per cluster (/aws/containerinsights/<cluster>/dataplane)',
      })),
    );
  }
}
