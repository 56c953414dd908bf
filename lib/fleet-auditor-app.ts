import { type App, Aws, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONTEXT_KEY, type ResolvedConfig, resolveConfig } from './config.js';
import { FleetAuditorStack } from './fleet-auditor-stack.js';
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
}

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

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { config, hub, members };
}
