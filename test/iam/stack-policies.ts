import { HUB_STACK_ID, ORGANIZATION_MEMBERS_STAGE } from '#lib/fleet-auditor-app.js';
import { buildFleet } from '../infra/support.js';

/** An IAM policy document, as CloudFormation holds it once its intrinsics are resolved. */
export interface PolicyDocument {
  Version?: string;
  Statement: Statement[];
}
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Principal?: unknown;
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** A synthesized stack's template: its account and region, and its resources by logical id. */
export interface StackTemplate {
  stackName: string;
  account: string;
  region: string;
  resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** Where the template's resources are in the world the run happened in. */
export interface Binding {
  tableName: string;
  topicArn: string;
  /** the run-list bucket's name */
  bucketName: string;
}

/** One role of the stacks, with everything IAM evaluates about it. */
export interface RoleModel {
  stackName: string;
  logicalId: string;
  arn: string;
  account: string;
  trust: PolicyDocument;
  /** the inline policies attached to it (AWS::IAM::Policy resources naming it), by logical id */
  policies: Array<{ name: string; document: PolicyDocument }>;
}

/** What the proof evaluates: every role, the topic with its policy and key, the alarms, the schedule. */
export interface StackModel {
  hub: { account: string; region: string };
  roles: RoleModel[];
  /** the hub function roles by the step their function runs (plan, discover, …) */
  functionRoles: Map<string, RoleModel>;
  /** the log group each function writes to, by step */
  functionLogGroups: Map<string, string>;
  /** the read-only audit role of each audited account */
  auditRoles: Map<string, RoleModel>;
  topic: { arn: string; policy: PolicyDocument | null; keyArn: string | null; keyPolicy: PolicyDocument | null };
  /** the alarms that publish to the topic: their ARNs */
  alarmArns: string[];
  /**
   * The functions subscribed to the topic, each with the resource policy its AWS::Lambda::Permission resources
   * make (AddPermission: a statement for the principal and action, `ArnLike AWS:SourceArn` for its SourceArn)
   */
  topicSubscribers: Array<{ step: string; functionArn: string; policy: PolicyDocument }>;
  schedule: { role: RoleModel; scheduleArn: string; stateMachineArn: string } | null;
  /**
   * The state machine: its role, the functions its Task states invoke, and the buckets its Distributed Maps'
   * ItemReaders read from (`ItemReader.Parameters.Bucket`)
   */
  stateMachine: { role: RoleModel; arn: string; functionArns: string[]; itemBuckets: string[] } | null;
  /** the run-list bucket (its ARN) and its bucket policy */
  runListBucket: { arn: string; policy: PolicyDocument | null } | null;
  /** every policy document of every stack (identity, trust, topic, key), for the IAM data check */
  documents: Array<{ where: string; document: PolicyDocument }>;
}

/** The app as bin/app.ts builds it for these audit targets, with its hub in `hub`; every stack's template. */
export function synthesizeFor(
  targets: ReadonlyArray<{ account: string; region: string }>,
  hub: { account: string; region: string },
  extra: Record<string, unknown> = {},
): StackTemplate[] {
  const accounts = [...new Set(targets.map((t) => t.account))];
  const fleetAudit = {
    ...extra,
    targets: accounts.map((account) => ({
      account,
      regions: targets.filter((t) => t.account === account).map((t) => t.region),
    })),
  };
  const { app } = buildFleet({ fleetAudit, defaults: hub });
  return app.synth().stacks.map((stack) => ({
    stackName: stack.stackName,
    account: stack.environment.account,
    region: stack.environment.region,
    resources: (stack.template as { Resources: StackTemplate['resources'] }).Resources,
  }));
}

/**
 * The app built with `targets` naming an organization, its hub in `hub`: the hub's and the reader role's templates,
 * and the StackSet member template once for every account in `members` (StackSets deploys the same template to
 * each; the copy in the organization's first region is the one whose audit role exists).
 */
export function synthesizeForOrganization(
  organization: { regions: string[] } & Record<string, unknown>,
  hub: { account: string; region: string },
  members: ReadonlyArray<string>,
): StackTemplate[] {
  const { app } = buildFleet({ fleetAudit: { targets: { organization } }, defaults: hub });
  const assembly = app.synth();
  const [member] = assembly.getNestedAssembly(`assembly-${ORGANIZATION_MEMBERS_STAGE}`).stacks;
  if (!member) throw new Error('no StackSet member template');
  const [roleRegion = hub.region] = organization.regions;
  return [
    ...assembly.stacks.map((stack) => ({
      stackName: stack.stackName,
      account: stack.environment.account,
      region: stack.environment.region,
      resources: (stack.template as { Resources: StackTemplate['resources'] }).Resources,
    })),
    ...members.map((account) => ({
      stackName: `${member.stackName}@${account}`,
      account,
      region: roleRegion,
      resources: structuredClone((member.template as { Resources: StackTemplate['resources'] }).Resources),
    })),
  ];
}

/** Reads the roles, policies, topic, key, alarms and schedule out of the templates. */
export function modelStacks(templates: ReadonlyArray<StackTemplate>, binding: Binding): StackModel {
  const hubTemplate = templates.find((t) => t.stackName === HUB_STACK_ID);
  if (!hubTemplate) throw new Error('no hub stack');
  const documents: StackModel['documents'] = [];
  const roles: RoleModel[] = [];
  for (const template of templates) {
    const resolve = resolver(template, binding);
    for (const [id, resource] of Object.entries(template.resources)) {
      if (resource.Type !== 'AWS::IAM::Role') continue;
      const props = resource.Properties ?? {};
      if (props.ManagedPolicyArns !== undefined || props.Policies !== undefined) {
        throw new Error(`${template.stackName}/${id}: managed or embedded policies are not modelled by the proof`);
      }
      const trust = resolve(props.AssumeRolePolicyDocument) as PolicyDocument;
      const policies = Object.entries(template.resources)
        .filter(([, p]) => p.Type === 'AWS::IAM::Policy')
        .filter(([, p]) =>
          ((p.Properties?.Roles as unknown[] | undefined) ?? []).some(
            (r) => JSON.stringify(r) === JSON.stringify({ Ref: id }),
          ),
        )
        .map(([name, p]) => ({ name, document: resolve(p.Properties?.PolicyDocument) as PolicyDocument }));
      const role: RoleModel = {
        stackName: template.stackName,
        logicalId: id,
        arn: resolve({ 'Fn::GetAtt': [id, 'Arn'] }) as string,
        account: template.account,
        trust,
        policies,
      };
      roles.push(role);
      documents.push({ where: `${template.stackName} ${id} trust policy`, document: trust });
      for (const p of policies) documents.push({ where: `${template.stackName} ${p.name}`, document: p.document });
    }
  }

  const hubResolve = resolver(hubTemplate, binding);
  const hubResources = Object.entries(hubTemplate.resources);
  const functionRoles = new Map<string, RoleModel>();
  const functionLogGroups = new Map<string, string>();
  for (const [id, resource] of hubResources) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const step = stepOfFunction(id);
    const props = resource.Properties ?? {};
    const roleId = (props.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const role = roles.find((r) => r.stackName === HUB_STACK_ID && r.logicalId === roleId);
    if (!step || !role) throw new Error(`function ${id}: no step or role`);
    functionRoles.set(step, role);
    const logGroup = (props.LoggingConfig as { LogGroup: unknown }).LogGroup;
    functionLogGroups.set(
      step,
      `${hubResolve({ 'Fn::GetAtt': [(logGroup as { Ref: string }).Ref, 'Arn'] }) as string}`,
    );
  }
  const auditRoles = new Map<string, RoleModel>();
  for (const template of templates) {
    for (const [id, resource] of Object.entries(template.resources)) {
      if (resource.Type === 'AWS::IAM::Role' && resource.Properties?.RoleName === 'FleetAuditReadOnly') {
        const role = roles.find((r) => r.stackName === template.stackName && r.logicalId === id);
        if (role) auditRoles.set(template.account, role);
      }
    }
  }

  const topicId = hubResources.find(([, r]) => r.Type === 'AWS::SNS::Topic')?.[0];
  if (!topicId) throw new Error('no topic in the hub stack');
  const topicProps = hubTemplate.resources[topicId]?.Properties ?? {};
  const topicPolicyResource = hubResources.find(
    ([, r]) => r.Type === 'AWS::SNS::TopicPolicy' && JSON.stringify(r.Properties?.Topics).includes(`"${topicId}"`),
  )?.[1];
  const topicPolicy = topicPolicyResource
    ? (hubResolve(topicPolicyResource.Properties?.PolicyDocument) as PolicyDocument)
    : null;
  if (topicPolicy) documents.push({ where: `${HUB_STACK_ID} topic policy`, document: topicPolicy });
  const keyRef = topicProps.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] } | undefined;
  const keyId = keyRef?.['Fn::GetAtt'][0];
  const keyPolicy = keyId ? (hubResolve(hubTemplate.resources[keyId]?.Properties?.KeyPolicy) as PolicyDocument) : null;
  if (keyPolicy) documents.push({ where: `${HUB_STACK_ID} ${keyId} key policy`, document: keyPolicy });

  const alarmArns = hubResources
    .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
    .filter(([, r]) => JSON.stringify(r.Properties?.AlarmActions ?? []).includes(`"${topicId}"`))
    .map(([id]) => hubResolve({ 'Fn::GetAtt': [id, 'Arn'] }) as string);

  const topicSubscribers: StackModel['topicSubscribers'] = hubResources
    .filter(([, r]) => r.Type === 'AWS::SNS::Subscription' && r.Properties?.Protocol === 'lambda')
    .filter(([, r]) => JSON.stringify(r.Properties?.TopicArn) === JSON.stringify({ Ref: topicId }))
    .map(([, r]) => {
      const endpoint = r.Properties?.Endpoint as { 'Fn::GetAtt': [string, string] };
      const functionId = endpoint['Fn::GetAtt'][0];
      const functionArn = hubResolve(endpoint) as string;
      const Statement = hubResources
        .filter(([, p]) => p.Type === 'AWS::Lambda::Permission')
        .filter(([, p]) => hubResolve(p.Properties?.FunctionName) === functionArn)
        .map(([, p]) => {
          const props = p.Properties ?? {};
          return {
            Effect: 'Allow',
            Principal: { Service: String(props.Principal) },
            Action: String(props.Action),
            Resource: functionArn,
            ...(props.SourceArn !== undefined && {
              Condition: { ArnLike: { 'AWS:SourceArn': hubResolve(props.SourceArn) } },
            }),
          };
        });
      const step = stepOfFunction(functionId);
      if (!step) throw new Error(`subscription to ${functionId}: not a function of the stack`);
      return { step, functionArn, policy: { Version: '2012-10-17', Statement } as PolicyDocument };
    });

  const scheduleEntry = hubResources.find(([, r]) => r.Type === 'AWS::Scheduler::Schedule');
  let schedule: StackModel['schedule'] = null;
  if (scheduleEntry) {
    const target = scheduleEntry[1].Properties?.Target as { Arn: unknown; RoleArn: { 'Fn::GetAtt': [string, string] } };
    const role = roles.find((r) => r.stackName === HUB_STACK_ID && r.logicalId === target.RoleArn['Fn::GetAtt'][0]);
    if (!role) throw new Error('the schedule names no role of the stack');
    schedule = {
      role,
      scheduleArn: `arn:aws:scheduler:${hubTemplate.region}:${hubTemplate.account}:schedule/default/${scheduleEntry[0]}`,
      stateMachineArn: hubResolve(target.Arn) as string,
    };
  }
  const machineEntry = hubResources.find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  let stateMachine: StackModel['stateMachine'] = null;
  if (machineEntry) {
    const props = machineEntry[1].Properties ?? {};
    const role = roles.find(
      (r) =>
        r.stackName === HUB_STACK_ID &&
        r.logicalId === (props.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0],
    );
    if (!role) throw new Error('the state machine names no role of the stack');
    const definition = JSON.parse(hubResolve(props.DefinitionString) as string) as unknown;
    stateMachine = {
      role,
      arn: hubResolve({ Ref: machineEntry[0] }) as string,
      functionArns: [...new Set(taskResources(definition))],
      itemBuckets: [...new Set(itemReaderBuckets(definition))],
    };
  }
  const bucketId = hubResources.find(([, r]) => r.Type === 'AWS::S3::Bucket')?.[0];
  const bucketPolicy = hubResources.find(
    ([, r]) =>
      r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r.Properties?.Bucket) === JSON.stringify({ Ref: bucketId }),
  )?.[1];
  const runListPolicy = bucketPolicy ? (hubResolve(bucketPolicy.Properties?.PolicyDocument) as PolicyDocument) : null;
  if (runListPolicy) documents.push({ where: `${HUB_STACK_ID} run-list bucket policy`, document: runListPolicy });
  const runListBucket = bucketId
    ? { arn: hubResolve({ 'Fn::GetAtt': [bucketId, 'Arn'] }) as string, policy: runListPolicy }
    : null;

  return {
    hub: { account: hubTemplate.account, region: hubTemplate.region },
    roles,
    functionRoles,
    functionLogGroups,
    auditRoles,
    topic: {
      arn: hubResolve({ Ref: topicId }) as string,
      policy: topicPolicy,
      keyArn: keyId ? (hubResolve({ 'Fn::GetAtt': [keyId, 'Arn'] }) as string) : null,
      keyPolicy,
    },
    alarmArns,
    topicSubscribers,
    schedule,
    stateMachine,
    runListBucket,
    documents,
  };
}

/** `PlanFunctionXXXX` → `plan`, `RecordFailureFunctionXXXX` → `recordFailure` (lib/fleet-auditor-stack.ts ids). */
function stepOfFunction(logicalId: string): string | null {
  const match = /^([A-Z][A-Za-z]*?)Function[A-F0-9]{8}$/.exec(logicalId);
  if (!match?.[1]) return null;
  return match[1].charAt(0).toLowerCase() + match[1].slice(1);
}

/**
 * The Lambda ARNs the definition's Task states invoke: a function ARN as the Resource (CDK's LambdaInvoke with
 * payloadResponseOnly), or the `lambda:invoke` integration's `Parameters.FunctionName`.
 */
function taskResources(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(taskResources);
  if (node === null || typeof node !== 'object') return [];
  const record = node as Record<string, unknown>;
  const resource = typeof record.Resource === 'string' ? record.Resource : '';
  let own: string[] = [];
  if (record.Type === 'Task' && /^arn:[\w-]+:lambda:/.test(resource)) own = [resource];
  if (record.Type === 'Task' && resource.endsWith(':lambda:invoke')) {
    own = [String((record.Parameters as Record<string, unknown>).FunctionName)];
  }
  return [...own, ...Object.values(record).flatMap(taskResources)];
}

/** The buckets the definition's Distributed Maps read their items from (ItemReader `Parameters.Bucket`). */
function itemReaderBuckets(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(itemReaderBuckets);
  if (node === null || typeof node !== 'object') return [];
  const record = node as Record<string, unknown>;
  const reader = record.ItemReader as { Parameters?: { Bucket?: unknown } } | undefined;
  const own = typeof reader?.Parameters?.Bucket === 'string' ? [reader.Parameters.Bucket] : [];
  return [...own, ...Object.values(record).flatMap(itemReaderBuckets)];
}

/**
 * Resolves CloudFormation intrinsics the way the deployed stack would: pseudo parameters from the stack's
 * environment, `Ref`/`Fn::GetAtt` of the stack's own resources to the names and ARNs CloudFormation gives them
 * (named by logical id where CloudFormation would generate the name), the table and topic to the ones of the run.
 */
function resolver(template: StackTemplate, binding: Binding): (value: unknown) => unknown {
  const { account, region } = template;
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::AccountId': account,
    'AWS::Region': region,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': template.stackName,
  };
  const physical = (id: string, attribute: 'Ref' | string): string => {
    const resource = template.resources[id];
    if (!resource) throw new Error(`${template.stackName}: no resource ${id}`);
    const props = resource.Properties ?? {};
    const name = (key: string) => (typeof props[key] === 'string' ? (props[key] as string) : id);
    switch (resource.Type) {
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
        return attribute === 'Ref'
          ? binding.tableName
          : `arn:aws:dynamodb:${region}:${account}:table/${binding.tableName}`;
      case 'AWS::SNS::Topic':
        return binding.topicArn;
      case 'AWS::KMS::Key':
        return attribute === 'Ref' ? id : `arn:aws:kms:${region}:${account}:key/${id}`;
      case 'AWS::IAM::Role':
        return attribute === 'Ref' ? name('RoleName') : `arn:aws:iam::${account}:role/${name('RoleName')}`;
      case 'AWS::Logs::LogGroup':
        return attribute === 'Ref'
          ? name('LogGroupName')
          : `arn:aws:logs:${region}:${account}:log-group:${name('LogGroupName')}:*`;
      case 'AWS::Lambda::Function':
        return attribute === 'Ref' ? id : `arn:aws:lambda:${region}:${account}:function:${id}`;
      case 'AWS::StepFunctions::StateMachine':
        return attribute === 'Name' ? id : `arn:aws:states:${region}:${account}:stateMachine:${id}`;
      case 'AWS::CloudWatch::Alarm':
        return attribute === 'Ref' ? id : `arn:aws:cloudwatch:${region}:${account}:alarm:${id}`;
      case 'AWS::SSM::Document':
        return name('Name');
      case 'AWS::S3::Bucket':
        return attribute === 'Ref' ? binding.bucketName : `arn:aws:s3:::${binding.bucketName}`;
      default:
        throw new Error(`${template.stackName}: cannot resolve ${resource.Type} ${id}.${attribute}`);
    }
  };
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key === 'Ref') {
      const ref = String(arg);
      return pseudo[ref] ?? physical(ref, 'Ref');
    }
    if (entries.length === 1 && key === 'Fn::GetAtt') {
      const [id, attribute] = arg as [string, string];
      return physical(id, attribute);
    }
    if (entries.length === 1 && key === 'Fn::Join') {
      const [separator, parts] = arg as [string, unknown[]];
      return parts.map((part) => String(resolve(part))).join(separator);
    }
    // CDK names the state machine in its own execution ARNs by splitting its ARN (the DistributedMapPolicy)
    if (entries.length === 1 && key === 'Fn::Split') {
      const [separator, source] = arg as [string, unknown];
      return String(resolve(source)).split(separator);
    }
    if (entries.length === 1 && key === 'Fn::Select') {
      const [index, list] = arg as [number, unknown];
      return (resolve(list) as unknown[])[index];
    }
    if (entries.length === 1 && key?.startsWith('Fn::'))
      throw new Error(`${template.stackName}: cannot resolve ${key}`);
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
  };
  return resolve;
}
