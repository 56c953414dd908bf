import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LAMBDA_ENV } from './env.js';

// The runtime module builds its dependencies at import (cold start), so it is imported with a valid environment.
Object.assign(process.env, LAMBDA_ENV);

const { readRuntimeConfig, RuntimeConfigError } = await import('#handlers/runtime.js');

/** The one-line message readRuntimeConfig throws for `env`. */
function problemOf(env: Record<string, string | undefined>): string {
  try {
    readRuntimeConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(RuntimeConfigError);
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('the environment was accepted');
}

describe('the functions’ environment', () => {
  it('gives the settings with their defaults, the table, the topic and the audit role', () => {
    // Act
    const config = readRuntimeConfig({ ...LAMBDA_ENV });

    // Assert
    expect(config).toMatchObject({
      tableName: 'fleet-audit-findings',
      topicArn: 'arn:aws:sns:eu-west-1:111111111111:fleet-audit-alerts',
      auditRoleName: 'FleetAuditReadOnly',
      partition: 'aws',
      region: 'eu-west-1',
      retentionDays: 120,
    });
    expect(config.settings.targets).toEqual([{ account: '111111111111', region: 'eu-west-1' }]);
    expect(config.settings.documentName).toBe('FleetAudit-Collector');
    expect(config.settings.thresholds.servicesMedium).toBe(500);
  });

  it('defaults the partition and the retention', () => {
    const { AUDIT_PARTITION: _p, RETENTION_DAYS: _r, ...env } = LAMBDA_ENV;
    expect(readRuntimeConfig(env)).toMatchObject({ partition: 'aws', retentionDays: 400 });
  });

  it.each([
    [{ TABLE_NAME: undefined }, 'environment variable TABLE_NAME is not set'],
    [{ AUDIT_SETTINGS: undefined }, 'environment variable AUDIT_SETTINGS is not set'],
    [{ TOPIC_ARN: 'fleet-audit-alerts' }, 'environment variable TOPIC_ARN must be an SNS topic ARN'],
    [{ AUDIT_ROLE_NAME: 'no spaces allowed' }, 'environment variable AUDIT_ROLE_NAME must be an IAM role name'],
    [{ RETENTION_DAYS: 'forever' }, 'environment variable RETENTION_DAYS'],
    [{ AUDIT_SETTINGS: '{targets:' }, 'environment variable AUDIT_SETTINGS is not JSON'],
    [{ AUDIT_SETTINGS: '{"targets":[]}' }, 'AUDIT_SETTINGS.targets: name at least one target, or an organization'],
    [
      { AUDIT_SETTINGS: '{"organization":{"readerRoleArn":"FleetAuditOrganizationReader","regions":["eu-west-1"]}}' },
      'AUDIT_SETTINGS.organization.readerRoleArn: must be an IAM role ARN',
    ],
    [
      { AUDIT_SETTINGS: '{"targets":[{"account":"1","region":"x"}],"thresholds":{"servicesMedum":700}}' },
      'AUDIT_SETTINGS.thresholds: Unrecognized key: "servicesMedum"',
    ],
  ])('stops with one line naming the variable when %j', (change, expected) => {
    const message = problemOf({ ...LAMBDA_ENV, ...change });
    expect(message.startsWith(expected)).toBe(true);
    expect(message).toContain('(set by the FleetAuditorHub stack from the cdk.json context "fleetAudit")');
  });
});

describe('a cold start', () => {
  beforeEach(() => {
    vi.resetModules();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('fails before any event is handled when the environment is wrong', async () => {
    // Arrange
    vi.stubEnv('AUDIT_SETTINGS', '{"targets":"111111111111"}');

    // Act + Assert
    await expect(import('#handlers/plan.js')).rejects.toThrow(
      /^AUDIT_SETTINGS\.targets: Invalid input: expected array, received string/,
    );
  });

  it('builds the dependencies once from a good environment', async () => {
    const { deps } = await import('#handlers/runtime.js');
    expect(deps.settings.targets).toEqual([{ account: '111111111111', region: 'eu-west-1' }]);
    expect(deps.publisher).not.toBeNull();
    expect(deps.organization).toBeUndefined();
  });

  it('builds the organization reader when the settings name an organization', async () => {
    // Arrange
    vi.stubEnv(
      'AUDIT_SETTINGS',
      JSON.stringify({
        organization: {
          readerRoleArn: 'arn:aws:iam::999999999999:role/FleetAuditOrganizationReader',
          regions: ['eu-west-1'],
        },
      }),
    );

    // Act
    const { deps } = await import('#handlers/runtime.js');

    // Assert
    expect(deps.settings.targets).toEqual([]);
    expect(deps.settings.organization?.organizationalUnits).toEqual([]);
    // a fresh module graph (resetModules): compared by name, not by class identity
    expect(deps.organization?.constructor.name).toBe('OrganizationDirectory');
  });
});
