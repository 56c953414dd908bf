import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlertsProps {
  /**
   * Subscribes this address (it must confirm the subscription mail).
   * @default no subscription: subscribe e-mail, AWS Chatbot or a queue yourself
   */
  readonly email?: string;
}

/**
 * The alerts topic: the nightly digest and the alarms on the tool's own health go here. TLS-only (a topic policy
 * denies `aws:SecureTransport false`) and encrypted with a customer managed key with rotation: the AWS managed
 * `aws/sns` key cannot be used by CloudWatch alarms, whose key policy grant is below.
 */
export class Alerts extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlertsProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the fleet audit alerts topic',
      enableKeyRotation: true,
    });
    // CloudWatch alarms publish to the encrypted topic only when the key lets the service use it.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'EKS fleet audit',
      enforceSSL: true,
      masterKey: this.key,
    });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
