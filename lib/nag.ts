import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The one way this project acknowledges a cdk-nag finding: on the narrowest construct, naming the exact finding
 * (`AwsSolutions-IAM5[Resource::*]`, never a bare `AwsSolutions-IAM5`) and saying why. Setting the context value
 * `fleetAudit:nagAcknowledgements` to false turns every acknowledgement off, so a test can check that each one
 * still matches a real finding.
 */

/**
 * A rule id, with the finding in brackets for the rules that report several findings per resource (the finding may
 * itself hold brackets: an unresolved `{"Fn::Select":[6,…]}` in a resource ARN).
 */
const FINDING_ID = /^AwsSolutions-[A-Z]+\d+(\[.+\])?$/;
/** Rules whose findings must be acknowledged one by one. */
const PER_FINDING_RULES = /^AwsSolutions-(IAM4|IAM5)$/;
const MIN_REASON_LENGTH = 20;

export const NAG_ACKNOWLEDGEMENTS_CONTEXT = 'fleetAudit:nagAcknowledgements';

export interface NagAcknowledgement {
  /** the exact finding, e.g. `AwsSolutions-IAM5[Resource::*]` */
  id: string;
  /** why the finding is acceptable here (at least 20 characters) */
  reason: string;
}

/** Acknowledges cdk-nag findings on `scope` (and only its subtree). Throws on a vague id or a missing reason. */
export function acknowledgeNag(scope: IConstruct, ...acknowledgements: NagAcknowledgement[]): void {
  for (const { id, reason } of acknowledgements) {
    if (!FINDING_ID.test(id) || PER_FINDING_RULES.test(id)) {
      throw new Error(`cdk-nag acknowledgement "${id}" on ${scope.node.path} must name one exact finding`);
    }
    if (reason.trim().length < MIN_REASON_LENGTH) {
      throw new Error(`cdk-nag acknowledgement "${id}" on ${scope.node.path} needs a reason`);
    }
  }
  if (scope.node.tryGetContext(NAG_ACKNOWLEDGEMENTS_CONTEXT) === false) return;
  Validations.of(scope).acknowledge(...acknowledgements);
}
