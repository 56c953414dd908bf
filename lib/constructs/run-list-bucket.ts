import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

/** Where the plan writes each run's cluster list: `runs/<runId>/clusters.json` (lambda/aws/run-lists.ts). */
export const RUN_LIST_PREFIX = 'runs/';

export interface RunListBucketProps {
  /** How long a run's cluster list is kept; a run reads it within its own time-out. @default Duration.days(3) */
  readonly expiration?: Duration;
}

/**
 * The bucket the Distributed Map reads its items from (its ItemReader): one JSON array of clusters per run, so the
 * fleet's size is bounded by neither the 256 KiB state payload nor one execution's history. Encrypted with S3
 * managed keys (no KMS grant for the state machine to hold, nothing to rotate), TLS only, no public access, objects
 * owned by the bucket owner (no ACLs), and every list expired after a few days: the table keeps the results, the
 * list is only the run's input.
 *
 * Removal: RETAIN, CDK's default for buckets. DESTROY would make the stack's deletion fail while a list has not yet
 * expired (CloudFormation deletes only empty buckets), and emptying it on delete needs a custom-resource Lambda; a
 * retained bucket empties itself within the expiration and costs nothing.
 */
export class RunListBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: RunListBucketProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'ExpireRunLists',
          prefix: RUN_LIST_PREFIX,
          expiration: props.expiration ?? Duration.days(3),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgeNag(this.bucket, {
      id: 'AwsSolutions-S1',
      reason:
        'no server access logs: the bucket holds only each run’s cluster list (account, region and cluster names the table also holds), written by the plan function and read by the state machine; a log bucket would keep more than this one does',
    });
  }
}
