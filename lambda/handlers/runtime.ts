import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { createAlertPublisher, createOrganizationReader, createTargetClientsFactory } from '#aws/clients.js';
import { sdkClientConfig } from '#aws/sdk-config.js';
import { AuditStore } from '#aws/store.js';
import { type AuditSettings, AuditSettingsSchema } from '#workflow/settings.js';
import type { StepDeps } from '#workflow/steps.js';
import { logger } from './observability.js';

/**
 * The functions' configuration and dependencies, read and built once per cold start (module scope). The
 * environment is set by the hub stack (lib/fleet-auditor-stack.ts); anything wrong with it stops the cold start
 * with one line naming the variable, instead of failing later inside a step.
 */

/** The environment is missing a variable or holds a bad value. */
export class RuntimeConfigError extends Error {
  override readonly name = 'RuntimeConfigError';
}

export interface RuntimeConfig {
  settings: AuditSettings;
  tableName: string;
  topicArn: string;
  /** the read-only audit role assumed in every audited account */
  auditRoleName: string;
  partition: string;
  /** the hub region (the function's own) */
  region: string;
  /** how long history items are kept (DynamoDB TTL) */
  retentionDays: number;
}

const EnvSchema = z.object({
  AUDIT_SETTINGS: z.string().min(1, 'is empty'),
  TABLE_NAME: z.string().min(3, 'must name the findings table'),
  TOPIC_ARN: z.string().regex(/^arn:[\w-]+:sns:[\w-]+:\d{12}:[\w-]+$/, 'must be an SNS topic ARN'),
  AUDIT_ROLE_NAME: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name'),
  AUDIT_PARTITION: z.enum(['aws', 'aws-cn', 'aws-us-gov']).default('aws'),
  RETENTION_DAYS: z.coerce.number().int().positive().default(400),
  AWS_REGION: z.string().min(1, 'is empty'),
});

const SOURCE = '(set by the FleetAuditorHub stack from the cdk.json context "fleetAudit")';

/** Reads and validates the functions' environment. Throws {@link RuntimeConfigError} with one line. */
export function readRuntimeConfig(env: NodeJS.ProcessEnv): RuntimeConfig {
  const parsedEnv = EnvSchema.safeParse(env);
  if (!parsedEnv.success) {
    const issue = parsedEnv.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const problem = env[variable] === undefined ? 'is not set' : (issue?.message ?? 'is not valid');
    throw new RuntimeConfigError(`environment variable ${variable} ${problem} ${SOURCE}`);
  }
  const vars = parsedEnv.data;
  let json: unknown;
  try {
    json = JSON.parse(vars.AUDIT_SETTINGS);
  } catch {
    throw new RuntimeConfigError(`environment variable AUDIT_SETTINGS is not JSON ${SOURCE}`);
  }
  const settings = AuditSettingsSchema.safeParse(json);
  if (!settings.success) {
    const issue = settings.error.issues[0];
    const field = ['AUDIT_SETTINGS', ...(issue?.path ?? []).map(String)].join('.');
    throw new RuntimeConfigError(`${field}: ${issue?.message ?? 'is not valid'} ${SOURCE}`);
  }
  return {
    settings: settings.data,
    tableName: vars.TABLE_NAME,
    topicArn: vars.TOPIC_ARN,
    auditRoleName: vars.AUDIT_ROLE_NAME,
    partition: vars.AUDIT_PARTITION,
    region: vars.AWS_REGION,
    retentionDays: vars.RETENTION_DAYS,
  };
}

/** The step dependencies: clients of every audited account (through the audit role), the store, the publisher. */
export function buildStepDeps(config: RuntimeConfig): StepDeps {
  return {
    // No hubAccount: the hub's own account is audited through the same audit role as every other account.
    clientsFor: createTargetClientsFactory({ roleName: config.auditRoleName, partition: config.partition }),
    store: new AuditStore(
      { tableName: config.tableName, retentionDays: config.retentionDays },
      new DynamoDBClient(sdkClientConfig({ region: config.region })),
    ),
    publisher: createAlertPublisher({ region: config.region, topicArn: config.topicArn }),
    settings: config.settings,
    ...(config.settings.organization && {
      organization: createOrganizationReader({
        ...(config.settings.organization.readerRoleArn && {
          readerRoleArn: config.settings.organization.readerRoleArn,
        }),
        partition: config.partition,
      }),
    }),
    now: () => new Date(),
    debug: (message) => logger.debug(message),
  };
}

/** Built once, at cold start. */
export const deps: StepDeps = buildStepDeps(readRuntimeConfig(process.env));
