import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type ResolvedConfig, trustedHubRoleNames } from './config.js';
import { AuditRole } from './constructs/audit-role.js';
import { CollectorDocument } from './constructs/collector-document.js';

export interface MemberStackProps extends StackProps {
  readonly config: ResolvedConfig;
  /** The hub's account, whose function roles the audit role trusts. */
  readonly hubAccount: string;
  /**
   * The audited regions of this account when this stack holds the account's audit role (an IAM role is global,
   * so exactly one stack per account creates it); undefined: this stack holds only the region's collector document.
   */
  readonly auditRoleRegions?: ReadonlyArray<string>;
  /** Create the audit role only in this region (the StackSet template, lib/fleet-auditor-app.ts). @default always */
  readonly auditRoleOnlyInRegion?: string;
  /** The collector's SSM Command document content (collector/ssm-document.ts). */
  readonly collectorDocumentContent: Record<string, unknown>;
}

/**
 * What one audited account and region needs: the collector document (SSM documents are regional) and, in one
 * region of the account, the read-only audit role the hub assumes.
 */
export class MemberStack extends Stack {
  constructor(scope: Construct, id: string, props: MemberStackProps) {
    super(scope, id, props);
    const { config } = props;
    new CollectorDocument(this, 'Collector', {
      documentName: config.documentName,
      content: props.collectorDocumentContent,
    });
    if (props.auditRoleRegions) {
      new AuditRole(this, 'AuditRole', {
        roleName: config.memberRoleName,
        hubAccount: props.hubAccount,
        trustedRoleNames: trustedHubRoleNames(config),
        importFindings: config.securityHubImport,
        regions: props.auditRoleRegions,
        documentName: config.documentName,
        ...(props.auditRoleOnlyInRegion !== undefined && { onlyInRegion: props.auditRoleOnlyInRegion }),
      });
    }
  }
}
