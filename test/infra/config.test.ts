import { describe, expect, it } from 'vitest';
import { SEVERITIES as MODEL_SEVERITIES } from '#audit/model.js';
import { ConfigError, resolveConfig, SEVERITIES } from '#lib/config.js';
import { buildFleet, HUB, ORGANIZATION } from './support.js';

/** Stand-ins for the AWS::AccountId / AWS::Region tokens. */
const TOKENS = { accountToken: 'TOKEN-ACCOUNT', regionToken: 'TOKEN-REGION' };

const resolve = (context: unknown, defaults: { defaultAccount?: string; defaultRegion?: string } = {}) =>
  resolveConfig(context, { ...TOKENS, ...defaults });

/** The one-line message resolveConfig throws for `context`. */
function problemOf(context: unknown, defaults: { defaultAccount?: string; defaultRegion?: string } = {}): string {
  try {
    resolve(context, defaults);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('the configuration was accepted');
}

describe('fleetAudit configuration', () => {
  it('gives every setting a default when no context is given', () => {
    // Act
    const config = resolve(undefined);

    // Assert
    expect(config).toMatchObject({
      schedule: { cron: 'cron(0 2 * * ? *)', timeZone: 'UTC' },
      alertMinSeverity: 'MEDIUM',
      clusterConcurrency: 8,
      pollIntervalSeconds: 30,
      clusterDeadlineSeconds: 600,
      runTimeoutMinutes: 360,
      historyRetentionDays: 400,
      logRetentionDays: 90,
      memberRoleName: 'FleetAuditReadOnly',
      hubRolePrefix: 'FleetAuditHub',
      documentName: 'FleetAudit-Collector',
      thresholds: {},
    });
    expect(config.alertEmail).toBeUndefined();
  });

  it('audits the hub’s own account and region when no targets are configured', () => {
    expect(resolve(undefined).auditTargets).toEqual([{ account: TOKENS.accountToken, region: TOKENS.regionToken }]);
    expect(resolve({}, { defaultAccount: HUB.account, defaultRegion: HUB.region }).auditTargets).toEqual([HUB]);
  });

  it('flattens targets to account × region pairs without duplicates', () => {
    // Act
    const config = resolve(
      {
        hub: HUB,
        targets: [
          { account: '222222222222', regions: ['eu-west-1', 'us-east-1', 'eu-west-1'] },
          { account: '222222222222', regions: ['us-east-1'] },
        ],
      },
      {},
    );

    // Assert
    expect(config.auditTargets).toEqual([
      { account: '222222222222', region: 'eu-west-1' },
      { account: '222222222222', region: 'us-east-1' },
    ]);
    expect(config.hubAccount).toBe(HUB.account);
  });

  it('reads the context from a JSON string, as `-c fleetAudit=…` passes it', () => {
    expect(resolve('{"clusterConcurrency": 3}').clusterConcurrency).toBe(3);
  });

  it.each([
    [{ schedule: { timeZone: 'Mars/Olympus_Mons' } }, 'fleetAudit.schedule.timeZone: must be an IANA time zone'],
    [{ schedule: { cron: '0 2 * * *' } }, 'fleetAudit.schedule.cron: must look like cron(0 2 * * ? *)'],
    [{ alertEmail: 'platform-team' }, 'fleetAudit.alertEmail: must be an e-mail address'],
    [{ alertMinSeverity: 'SEVERE' }, 'fleetAudit.alertMinSeverity:'],
    [{ clusterConcurrency: 0 }, 'fleetAudit.clusterConcurrency:'],
    [{ clusterConcurrency: '8' }, 'fleetAudit.clusterConcurrency:'],
    [{ logRetentionDays: 10 }, 'fleetAudit.logRetentionDays: must be one of 1, 3, 5, 7, 14, 30'],
    [{ memberRoleName: 'audit role' }, 'fleetAudit.memberRoleName: must be an IAM role name'],
    [{ documentName: 'AWS-RunShellScript' }, 'fleetAudit.documentName: must not start with aws'],
    [{ hub: HUB, targets: [{ account: '12345', regions: ['eu-west-1'] }] }, 'fleetAudit.targets.0.account: must be'],
    [
      { hub: HUB, targets: [{ account: HUB.account, regions: ['Ireland'] }] },
      'fleetAudit.targets.0.regions.0: must be',
    ],
    [{ hub: HUB, targets: [{ account: HUB.account, regions: [] }] }, 'fleetAudit.targets.0.regions:'],
    [{ alertEmial: 'x@example.com' }, 'fleetAudit.alertEmial: is not a known setting'],
    [{ schedule: { timezone: 'UTC' } }, 'fleetAudit.schedule.timezone: is not a known setting'],
  ])('rejects %j with one line naming the field', (context, expected) => {
    const message = problemOf(context);
    expect(message.startsWith(expected)).toBe(true);
    expect(message).toContain('(cdk.json context "fleetAudit")');
  });

  it('asks for the hub account and region when targets are configured but the hub is unknown', () => {
    expect(problemOf({ targets: [{ account: HUB.account, regions: [HUB.region] }] })).toMatch(
      /^fleetAudit\.hub: account and region are required when fleetAudit\.targets is set/,
    );
  });

  it('says so when the context string is not JSON', () => {
    expect(problemOf('{clusterConcurrency: 3}')).toMatch(/^fleetAudit: is not valid JSON/);
  });

  it('fails the app, not just the resolver, on a bad context value', () => {
    expect(() => buildFleet({ fleetAudit: { pollIntervalSeconds: 1 } })).toThrow(
      /^fleetAudit\.pollIntervalSeconds: Too small/,
    );
  });

  it('stops a fleet whose settings would not fit in the functions’ environment (4 KB)', () => {
    // Arrange: 80 accounts in one region each.
    const targets = Array.from({ length: 80 }, (_, i) => ({
      account: String(100000000000 + i),
      regions: ['eu-west-1'],
    }));

    // Act + Assert
    expect(() => buildFleet({ fleetAudit: { targets }, defaults: HUB })).toThrow(
      /^fleetAudit\.targets: 80 account\/regions make the functions' settings \d+ bytes; Lambda allows 4 KB/,
    );
  });

  it('knows the same severities as the rule catalogue', () => {
    expect([...SEVERITIES]).toEqual([...MODEL_SEVERITIES]);
  });

  describe('with an organization as the targets', () => {
    it('resolves the organization with the reader role in the management account by default, and no listed targets', () => {
      const config = resolve({ hub: HUB, targets: { organization: ORGANIZATION } });

      expect(config.auditTargets).toEqual([]);
      expect(config.organization).toMatchObject({
        readerAccount: '999999999999',
        readerRoleArn: 'arn:aws:iam::999999999999:role/FleetAuditOrganizationReader',
        organizationalUnits: ['ou-ab12-workload'],
      });
    });

    it.each([
      [
        { ...ORGANIZATION, id: 'org-1' },
        'fleetAudit.targets.organization.id: must be an organization id such as o-a1b2c3d4e5',
      ],
      [
        { ...ORGANIZATION, organizationalUnits: ['Workloads'] },
        'fleetAudit.targets.organization.organizationalUnits.0: must be an OU id such as ou-ab12-cdef5678',
      ],
      [{ ...ORGANIZATION, regions: [] }, 'fleetAudit.targets.organization.regions:'],
      [
        { ...ORGANIZATION, excludeAccounts: ['12'] },
        'fleetAudit.targets.organization.excludeAccounts.0: must be a 12-digit AWS account id',
      ],
      [{ ...ORGANIZATION, ou: [] }, 'fleetAudit.targets.organization.ou: is not a known setting'],
    ])('names the field of a bad organization in one line (%#)', (organization, expected) => {
      expect(problemOf({ hub: HUB, targets: { organization } })).toContain(expected);
    });

    it('names a misspelt organization key, and asks for the hub like a list of targets does', () => {
      expect(problemOf({ hub: HUB, targets: { organisation: ORGANIZATION } })).toBe(
        'fleetAudit.targets.organisation: is not a known setting (cdk.json context "fleetAudit")',
      );
      expect(problemOf({ targets: { organization: ORGANIZATION } })).toMatch(
        /^fleetAudit\.hub: account and region are required/,
      );
    });
  });
});
