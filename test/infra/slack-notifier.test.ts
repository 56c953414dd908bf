import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFleet, HUB, hubTemplate } from './support.js';

const SECRET = 'fleet-audit/slack-webhook';

let template: Template;

beforeAll(() => {
  template = hubTemplate({ fleetAudit: { slackWebhookSecretName: SECRET }, defaults: HUB });
});

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
function idOf(type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}…, found ${ids.length}`);
  return ids[0] as string;
}

describe('the Slack notifier (slackWebhookSecretName)', () => {
  it('subscribes its function to the alerts topic, which SNS may invoke for that topic only', () => {
    const fn = idOf('AWS::Lambda::Function', 'SlackNotifierFunction');
    const topic = idOf('AWS::SNS::Topic', 'AlertsTopic');
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: topic },
      Endpoint: { 'Fn::GetAtt': [fn, 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'sns.amazonaws.com',
      SourceArn: { Ref: topic },
      FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
    });
  });

  it('turns off Lambda’s retries of the asynchronous invocation, so no digest is posted twice', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
  });

  it('may read the named secret only, with its random suffix', () => {
    const policy = idOf('AWS::IAM::Policy', 'SlackNotifierFunctionRoleDefaultPolicy');
    const statements = (
      template.findResources('AWS::IAM::Policy')[policy] as {
        Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } };
      }
    ).Properties.PolicyDocument.Statement;
    const read = statements.find((s) => s.Action === 'secretsmanager:GetSecretValue');
    expect(JSON.stringify(read?.Resource)).toContain(`:secret:${SECRET}-??????`);
  });

  it('alarms on failed posts to the alerts topic, and the topic lets that alarm publish', () => {
    const alarm = idOf('AWS::CloudWatch::Alarm', 'SlackNotifierPostFailed');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SlackPostFailed',
      Namespace: 'FleetAudit',
      AlarmActions: [{ Ref: idOf('AWS::SNS::Topic', 'AlertsTopic') }],
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowTheAuditAlarmsToPublish',
            Condition: Match.objectLike({
              ArnEquals: { 'aws:SourceArn': Match.arrayWith([{ 'Fn::GetAtt': [alarm, 'Arn'] }]) },
            }),
          }),
        ]),
      },
    });
  });

  it('is not deployed without the setting', () => {
    const plain = hubTemplate({ defaults: HUB });
    expect(Object.keys(plain.findResources('AWS::Lambda::Function')).some((id) => id.startsWith('Slack'))).toBe(false);
  });

  it('refuses a secret name that Secrets Manager would not take, in one line', () => {
    expect(() => buildFleet({ fleetAudit: { slackWebhookSecretName: 'bad name!' }, defaults: HUB })).toThrow(
      /^fleetAudit\.slackWebhookSecretName: must be a Secrets Manager secret name/,
    );
  });
});
