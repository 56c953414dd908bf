import { Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
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
 * `aws/sns` key cannot be used by CloudWatch alarms, whose key policy grant is below. The topic policy lets the
 * alarms named in {@link Alerts.allowAlarmsToPublish} publish.
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
    // CloudWatch alarms publish to the encrypted topic only when the key lets the service use it
    // (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services). The key
    // policy cannot name the alarms themselves (key → alarm → topic → key would be a dependency cycle), so it names
    // this account's and region's alarms.
    const stack = Stack.of(this);
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
        },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'EKS fleet audit',
      enforceSSL: true,
      masterKey: this.key,
    });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }

  /**
   * Lets these alarms publish: enforceSSL makes the topic policy hold only its Deny, and a topic policy that allows
   * nobody else keeps CloudWatch out, so alarm notifications would never arrive. The statement is narrowed to the
   * alarms' own ARNs and this account (aws:SourceArn, aws:SourceAccount: the confused-deputy guard of
   * https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html); the Deny of non-TLS requests stays.
   */
  allowAlarmsToPublish(alarms: ReadonlyArray<cloudwatch.IAlarm>): void {
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowTheAuditAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          ArnEquals: { 'aws:SourceArn': alarms.map((alarm) => alarm.alarmArn) },
        },
      }),
    );
  }
}
