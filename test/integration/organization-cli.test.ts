import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '#audit/model.js';
import { loadScenario } from '#sim/scenario.js';
import { type Simulator, startSimulator } from '#sim/server.js';
import { runCli } from './cli-process.js';

/**
 * `fleet-audit run --organization`: the built-in `default-org` scenario puts the default fleet's two accounts into
 * an organization with an account that has no audit role (333333333333), a sandbox OU whose account has none either
 * (555555555555), a suspended account (444444444444) and the management account (999999999999, no clusters).
 * Local runs list it through the simulator; real runs are the same CLI pointed at the simulator with the SDK's
 * AWS_ENDPOINT_URL, the management account's credentials (the simulator's accounts are their access key ids).
 */

const CLUSTERS_111 = ['catalog-prod', 'checkout-prod', 'ledger-prod', 'search-staging'];
const CLUSTERS_222 = ['edge-gateway', 'ml-platform'];

const names = (result: RunResult) => result.clusters.map((c) => `${c.account}/${c.region}/${c.name}`).sort();

describe('fleet-audit run --local --organization', () => {
  const dirs: string[] = [];
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'fa-org-cli-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  /** `run --local --scenario default-org --organization` with `args`, on a fresh state folder */
  const runOrganization = (...args: string[]) =>
    runCli([
      'run',
      '--local',
      '--scenario',
      'default-org',
      '--organization',
      ...args,
      '--state-dir',
      stateDir(),
      '--json',
    ]);

  it('audits every ACTIVE account through its audit role; one without the role is AUDIT-FAILED naming sts:AssumeRole', async () => {
    // Act
    const outcome = await runOrganization();

    // Assert
    expect(outcome.code).toBe(0);
    const result = JSON.parse(outcome.stdout) as RunResult;
    const accounts = new Set(result.clusters.map((c) => c.account));
    expect([...accounts].sort()).toEqual(['111111111111', '222222222222', '333333333333', '555555555555']);
    expect(
      names(result)
        .filter((n) => n.startsWith('111111111111/'))
        .map((n) => n.split('/')[2]),
    ).toEqual(CLUSTERS_111);
    const failed = result.clusters.filter((c) => c.account === '333333333333' || c.account === '555555555555');
    // each region of the run: the scenario's two
    expect(failed.map((c) => `${c.account}/${c.region}/${c.name} ${c.status}`).sort()).toEqual([
      '333333333333/eu-west-1/* FAILED',
      '333333333333/us-east-1/* FAILED',
      '555555555555/eu-west-1/* FAILED',
      '555555555555/us-east-1/* FAILED',
    ]);
    for (const cluster of failed) {
      expect(cluster.findings.map((f) => f.ruleId)).toEqual(['AUDIT-FAILED']);
      expect(cluster.findings[0]?.evidence.summary).toMatch(
        /could not assume the audit role in account \d{12}.*sts:AssumeRole/,
      );
    }
    // one warning line per target that could not be audited, and none for the suspended or management account
    const lines = outcome.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(outcome.stderr).not.toMatch(/444444444444|999999999999\//);
  }, 120_000);

  it('audits only the named OUs (and the OUs nested in them), minus the excluded accounts', async () => {
    // Act: Workloads holds Payments (111111111111), 222222222222, 333333333333 and the suspended one
    const outcome = await runOrganization('--ou', 'ou-ab12-workload1', '--exclude-accounts', '333333333333');

    // Assert
    expect(outcome).toMatchObject({ code: 0, stderr: '' });
    const result = JSON.parse(outcome.stdout) as RunResult;
    expect(new Set(result.clusters.map((c) => c.account))).toEqual(new Set(['111111111111', '222222222222']));
    expect(result.clusters.map((c) => c.name).sort()).toEqual([...CLUSTERS_111, ...CLUSTERS_222].sort());
  }, 120_000);

  it.each([
    [
      ['--scenario', 'default', '--organization'],
      /^fleet-audit: the scenario defines no organization for --organization/,
    ],
    [['--ou', 'ou-ab12-workload1'], /^fleet-audit: --ou go with --organization/],
    [['--organization', '--ou', 'workloads'], /^fleet-audit: --ou "workloads" is not an OU id/],
    [['--organization', '--exclude-accounts', '12345'], /^fleet-audit: --exclude-accounts "12345" is not a 12-digit/],
    [['--organization', '--reader-role', 'reader'], /^fleet-audit: --reader-role "reader" is not an IAM role ARN/],
    [['--organization', '--role-name', 'no spaces'], /^fleet-audit: --role-name "no spaces" is not an IAM role name/],
  ])(
    'refuses %j in one line with exit 2, storing nothing',
    async (args, line) => {
      // Arrange
      const dir = stateDir();
      const scenario = args.includes('--scenario') ? [] : ['--scenario', 'default-org'];

      // Act
      const outcome = await runCli(['run', '--local', ...scenario, ...args, '--state-dir', dir]);
      const runs = await runCli(['runs', '--local', '--state-dir', dir]);

      // Assert
      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toMatch(line);
      expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
      expect(runs.stdout).not.toMatch(/\d{8}T\d{6}/);
    },
    60_000,
  );
});

describe('fleet-audit run --organization against real AWS (the simulator behind AWS_ENDPOINT_URL)', () => {
  let sim: Simulator;
  let stateDir: string;
  const aws = (account: string) => ({
    AWS_ENDPOINT_URL: sim.endpoint,
    AWS_ACCESS_KEY_ID: account,
    AWS_SECRET_ACCESS_KEY: 'simulated',
    AWS_REGION: 'eu-west-1',
  });

  // the simulator does not model trust policies: its accounts' roles may be assumed by any caller
  const ORG = ['--organization', '--role-name', 'FleetAuditReadOnly'];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fa-org-real-'));
    sim = await startSimulator({ ...loadScenario('default-org'), timeScale: 0.002 });
  });
  afterAll(async () => {
    await sim.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('--dry-run lists the clusters of every account it can reach and names the ones it cannot', async () => {
    // Act
    const outcome = await runCli(
      ['run', ...ORG, '--regions', 'eu-west-1', '--dry-run', '--state-dir', stateDir],
      aws('999999999999'),
    );

    // Assert
    expect(outcome.code).toBe(0);
    expect(outcome.stdout.trim().split('\n')).toEqual([
      ...CLUSTERS_111.filter((n) => n.endsWith('prod') && n !== 'ledger-prod').map(
        (n) => `111111111111/eu-west-1/${n}`,
      ),
      ...CLUSTERS_222.map((n) => `222222222222/eu-west-1/${n}`),
    ]);
    const warnings = outcome.stderr.trim().split('\n');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^fleet-audit: account 333333333333 in eu-west-1 not listed: .*sts:AssumeRole/);
    expect(warnings[1]).toMatch(/^fleet-audit: account 555555555555 in eu-west-1 not listed: /);
    // the management account's own clusters were listed with its own credentials, the others through the role
    const assumed = sim.calls.filter((c) => c.service === 'sts' && c.action === 'AssumeRole');
    expect(new Set(assumed.map((c) => String(c.input.RoleArn)))).toEqual(
      new Set(
        ['111111111111', '222222222222', '333333333333', '555555555555'].map(
          (a) => `arn:aws:iam::${a}:role/FleetAuditReadOnly`,
        ),
      ),
    );
    expect(sim.calls.some((c) => c.service === 'eks' && c.account === '999999999999')).toBe(true);
  }, 60_000);

  it('audits the organization end to end and stores the run', async () => {
    // Act
    const outcome = await runCli(
      ['run', ...ORG, '--regions', 'eu-west-1', '--clusters', 'ml-platform', '--state-dir', stateDir, '--json'],
      aws('999999999999'),
    );

    // Assert
    expect(outcome.code).toBe(0);
    const result = JSON.parse(outcome.stdout) as RunResult;
    expect(result.clusters.map((c) => `${c.account}/${c.name} ${c.status}`).sort()).toEqual([
      '222222222222/ml-platform COMPLETE',
      '333333333333/* FAILED',
      '555555555555/* FAILED',
    ]);
  }, 120_000);

  it('--reader-role lists the accounts through the management account’s reader role from another account', async () => {
    // Arrange
    const reader = 'arn:aws:iam::999999999999:role/FleetAuditOrganizationReader';
    const before = sim.calls.length;

    // Act
    const outcome = await runCli(
      ['run', ...ORG, '--reader-role', reader, '--regions', 'eu-west-1', '--dry-run', '--state-dir', stateDir],
      aws('222222222222'),
    );

    // Assert
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('111111111111/eu-west-1/checkout-prod');
    const calls = sim.calls.slice(before);
    expect(calls.filter((c) => c.action === 'AssumeRole').map((c) => String(c.input.RoleArn))).toContain(reader);
    const listing = calls.filter((c) => c.service === 'organizations');
    expect(listing.length).toBeGreaterThan(0);
    expect(new Set(listing.map((c) => c.account))).toEqual(new Set(['999999999999']));
  }, 60_000);

  it('needs --role-name, as the member stack’s role trusts only the hub’s functions: one line, exit 2', async () => {
    // Act
    const outcome = await runCli(
      ['run', '--organization', '--regions', 'eu-west-1', '--dry-run', '--state-dir', stateDir],
      aws('999999999999'),
    );

    // Assert
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(
      /^fleet-audit: --organization needs --role-name: a role your credentials may assume/,
    );
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('from an account that may not list the organization: one line saying who may, exit 2', async () => {
    // Act
    const outcome = await runCli(
      ['run', ...ORG, '--regions', 'eu-west-1', '--dry-run', '--state-dir', stateDir],
      aws('222222222222'),
    );

    // Assert
    expect(outcome.code).toBe(2);
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
    expect(outcome.stderr).toMatch(
      /^fleet-audit: access denied by AWS Organizations .*--organization lists accounts from the management account or a delegated administrator \(or pass --reader-role\)$/m,
    );
  }, 60_000);
});
