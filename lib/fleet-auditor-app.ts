import { type App, Aws, DefaultStackSynthesizer, Stack, Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONTEXT_KEY, type ResolvedConfig, resolveConfig } from './config.js';
import { OrganizationReaderRole } from './constructs/organization-reader-role.js';
import { FleetAuditorStack, organizationReaderProps } from './fleet-auditor-stack.js';
import { MemberStack } from './member-stack.js';

export const HUB_STACK_ID = 'FleetAuditorHub';

export interface FleetAuditorAppOptions {
  /** The collector's SSM Command document content (collector/ssm-document.ts). */
  collectorDocumentContent: Record<string, unknown>;
  /** CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION as the CLI sets them from the profile. */
  defaultAccount?: string | undefined;
  defaultRegion?: string | undefined;
}

export interface FleetAuditorStacks {
  config: ResolvedConfig;
  hub: FleetAuditorStack;
  members: MemberStack[];
  /** with an organization: the StackSet template of every member account (in the stage, not deployed by --all) */
  organizationMember?: MemberStack;
  /** with an organization whose reader role is not in the hub account: the stack that holds it */
  organizationReader?: Stack;
}

export const ORGANIZATION_READER_STACK_ID = 'FleetAuditorOrganizationReader';
/**
 * The stage holding the member template for CloudFormation StackSets. `cdk deploy --all` deploys the app's top-level
 * stacks only, never those inside a stage (aws/aws-cdk-cli packages/aws-cdk/lib/cli/cdk-toolkit.ts,
 * selectTopLevelOrMatchingStacks), so the template is synthesized with the app and deployed by StackSets alone.
 */
export const ORGANIZATION_MEMBERS_STAGE = 'OrganizationMembers';

/** `FleetAuditorMember-111111111111-eu-west-1` */
export const memberStackId = (account: string, region: string) => `FleetAuditorMember-${account}-${region}`;

/**
 * Adds the hub stack, a member stack for every other audited account and region, and cdk-nag's AwsSolutions
 * checks (always on: a finding fails synth, tests and deploys alike) to `app`, from the `fleetAudit` context.
 */
export function addFleetAuditor(app: App, options: FleetAuditorAppOptions): FleetAuditorStacks {
  const config = resolveConfig(app.node.tryGetContext(CONTEXT_KEY), {
    defaultAccount: options.defaultAccount,
    defaultRegion: options.defaultRegion,
    accountToken: Aws.ACCOUNT_ID,
    regionToken: Aws.REGION,
    partitionToken: Aws.PARTITION,
  });
  const env =
    config.hubAccount || config.hubRegion
      ? {
          ...(config.hubAccount && { account: config.hubAccount }),
          ...(config.hubRegion && { region: config.hubRegion }),
        }
      : undefined;
  const hub = new FleetAuditorStack(app, HUB_STACK_ID, {
    description: 'EKS fleet auditor hub: nightly xtables-lock contention audit (kube-proxy vs VPC CNI)',
    ...(env && { env }),
    config,
    collectorDocumentContent: options.collectorDocumentContent,
  });

  const members: MemberStack[] = [];
  const hubAccount = config.hubAccount ?? Aws.ACCOUNT_ID;
  const hubRegion = config.hubRegion ?? Aws.REGION;
  for (const target of config.auditTargets) {
    if (target.account === hubAccount && target.region === hubRegion) continue;
    const regionsOfAccount = config.auditTargets.filter((t) => t.account === target.account).map((t) => t.region);
    // The account's role lives in the hub stack (hub account) or in the stack of its first listed region.
    const holdsRole = target.account !== hubAccount && regionsOfAccount[0] === target.region;
    members.push(
      new MemberStack(app, memberStackId(target.account, target.region), {
        description: `EKS fleet auditor member: collector document${holdsRole ? ' and read-only audit role' : ''}`,
        env: { account: target.account, region: target.region },
        config,
        hubAccount,
        ...(holdsRole && { auditRoleRegions: regionsOfAccount }),
        collectorDocumentContent: options.collectorDocumentContent,
      }),
    );
  }

  const organizationStacks = config.organization ? addOrganization(app, config, hubAccount, options) : {};

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { config, hub, members, ...organizationStacks };
}

/**
 * The organization's parts outside the hub: the reader role's stack in the management account (or delegated
 * administrator) unless that is the hub's, and the member template for a service-managed StackSet: account-agnostic
 * (no account in it but the hub's, in the trust policy), without the CDK bootstrap version check (StackSets deploys
 * to accounts that were never bootstrapped), the collector document in every region it is deployed to and the
 * audit role only in the first configured region (an IAM role is global; one StackSet covers every region).
 * StackSets never deploys to the management account ("StackSets doesn't deploy stack instances to the organization
 * management account, even if the organization management account is in your organization or in an OU in your
 * organization", DeploymentTargets in the CloudFormation API Reference), which docs/operations.md says what to do
 * about; service-managed StackSets are created from the management account or, with CallAs DELEGATED_ADMIN, a
 * delegated administrator (CreateStackSet CallAs).
 */
function addOrganization(
  app: App,
  config: ResolvedConfig,
  hubAccount: string,
  options: FleetAuditorAppOptions,
): Pick<FleetAuditorStacks, 'organizationMember' | 'organizationReader'> {
  const organization = config.organization;
  if (!organization) return {};
  const [roleRegion] = organization.regions;
  const stage = new Stage(app, ORGANIZATION_MEMBERS_STAGE);
  const organizationMember = new MemberStack(stage, 'Member', {
    description: 'EKS fleet auditor member (CloudFormation StackSet): collector document and read-only audit role',
    synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    config,
    hubAccount,
    auditRoleRegions: organization.regions,
    ...(roleRegion !== undefined && { auditRoleOnlyInRegion: roleRegion }),
    collectorDocumentContent: options.collectorDocumentContent,
  });
  if (organization.readerAccount === hubAccount) return { organizationMember };
  const organizationReader = new Stack(app, ORGANIZATION_READER_STACK_ID, {
    description: 'EKS fleet auditor: the role that lists the organization’s accounts for the audit hub',
    env: { account: organization.readerAccount, ...(config.hubRegion && { region: config.hubRegion }) },
  });
  new OrganizationReaderRole(organizationReader, 'OrganizationReader', organizationReaderProps(config, hubAccount));
  return { organizationMember, organizationReader };
}
