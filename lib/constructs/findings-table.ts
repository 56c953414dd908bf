import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** The TTL attribute lambda/aws/store.ts writes on history items (epoch seconds). */
export const TTL_ATTRIBUTE = 'expiresAt';

export interface FindingsTableProps {
  /**
   * What happens to the table when the stack is deleted. Audit history is the point of the table, so it is kept;
   * DESTROY is deliberately not offered.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy.RETAIN | RemovalPolicy.SNAPSHOT;
}

/**
 * The audit's one DynamoDB table (docs/operations.md): string keys `pk`/`sk`, on-demand billing, point-in-time
 * recovery, encryption with the AWS managed key (`aws/dynamodb`: every use is in CloudTrail, no key to pay for or
 * rotate), TTL on `expiresAt`, deletion protection, and retained when the stack goes.
 */
export class FindingsTable extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: FindingsTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      timeToLiveAttribute: TTL_ATTRIBUTE,
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
