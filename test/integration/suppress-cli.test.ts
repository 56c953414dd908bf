import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '#audit/model.js';
import { AuditStore } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import { openLocalStore } from '#sim/local-fleet.js';
import { runCli } from './cli-process.js';

const cli = runCli;

const inAYear = () => new Date(Date.now() + 200 * 86_400_000).toISOString().slice(0, 10);

describe('fleet-audit suppress on the local state folder', () => {
  let stateDir: string;
  const local = () => ['--local', '--state-dir', stateDir];
  const scope = ['--account', '111111111111', '--region', 'eu-west-1', '--cluster', 'checkout-prod'];
  const add = (...extra: string[]) =>
    cli([
      'suppress',
      'add',
      '--rule',
      'cni-restarts',
      ...scope,
      '--reason',
      'aws-node restarts since the v1.19 upgrade; AWS case open',
      '--owner',
      'platform@example.com',
      '--expires',
      inAYear(),
      ...extra,
      ...local(),
    ]);

  beforeAll(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'fa-suppress-'));
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it('adds a suppression, replaces it on a second add, and lists it', async () => {
    // Act
    const first = await add();
    const second = await add();
    const listed = await cli(['suppress', 'list', '--json', ...local()]);

    // Assert
    const id = '111111111111/eu-west-1/checkout-prod/CNI-RESTARTS';
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(new RegExp(`^Added suppression ${id} until \\d{4}-\\d\\d-\\d\\dT00:00:00Z`));
    expect(second.stdout).toMatch(/^Replaced suppression /);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id, ruleId: 'CNI-RESTARTS', owner: 'platform@example.com', cluster: 'checkout-prod' }),
    ]);
  });

  it('makes the next run show that finding SUPPRESSED on that cluster only', async () => {
    // Act
    const outcome = await cli(['run', ...local(), '--json']);

    // Assert
    const result = JSON.parse(outcome.stdout) as RunResult;
    const restarts = result.clusters.flatMap((c) =>
      c.findings.filter((f) => f.ruleId === 'CNI-RESTARTS').map((f) => [c.name, f.state]),
    );
    expect(restarts).toContainEqual(['checkout-prod', 'SUPPRESSED']);
    expect(restarts.filter(([name]) => name !== 'checkout-prod').length).toBeGreaterThan(0);
    expect(restarts.filter(([name, state]) => name !== 'checkout-prod' && state === 'SUPPRESSED')).toEqual([]);
  });

  it('lists an expired suppression only with --expired', async () => {
    // Arrange: stored as it would be a year after it was added
    const opened = await openLocalStore(stateDir);
    await opened.store.putSuppression({
      account: '*',
      region: '*',
      cluster: '*',
      ruleId: 'SCALE-GROWTH',
      reason: 'migration to nftables mode under way',
      owner: 'netops',
      expiresAt: '2026-01-01T00:00:00Z',
    });
    await opened.close();

    // Act
    const active = await cli(['suppress', 'list', ...local()]);
    const expired = await cli(['suppress', 'list', '--expired', ...local()]);

    // Assert
    expect(active.stdout).toContain('111111111111/eu-west-1/checkout-prod/CNI-RESTARTS');
    expect(active.stdout).not.toContain('SCALE-GROWTH');
    expect(expired.stdout.split('\n')[0]).toMatch(/^ID +EXPIRES \(UTC\) +OWNER +REASON$/);
    expect(expired.stdout).toContain('*/*/*/SCALE-GROWTH');
    expect(expired.stdout).not.toContain('CNI-RESTARTS');
  });

  it('removes a suppression by id, and says in one line when there is none', async () => {
    // Act
    const removed = await cli(['suppress', 'remove', '111111111111/eu-west-1/checkout-prod/CNI-RESTARTS', ...local()]);
    const again = await cli(['suppress', 'remove', '111111111111/eu-west-1/checkout-prod/CNI-RESTARTS', ...local()]);
    const listed = await cli(['suppress', 'list', ...local()]);

    // Assert
    expect(removed).toMatchObject({ code: 0 });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /^fleet-audit: no suppression 111111111111\/eu-west-1\/checkout-prod\/CNI-RESTARTS in /,
    );
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(listed.stdout).toMatch(/^No active suppression in /);
  });

  it.each([
    [['--expires', '2020-01-01'], /^fleet-audit: --expires 2020-01-01 is not in the future/],
    [['--expires', 'next week'], /^fleet-audit: --expires "next week": expected a date like 2027-03-31/],
    [['--rule', 'NOPE'], /^fleet-audit: --rule NOPE: no such rule; one of /],
  ])('refuses %o in one line with exit 2 and stores nothing', async (args, message) => {
    // Act: the later flags win over add()'s own
    const outcome = await add(...args);
    const listed = await cli(['suppress', 'list', '--json', ...local()]);

    // Assert
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(message);
    expect(outcome.stderr).toMatch(/\(see fleet-audit suppress add --help\)\n$/);
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });
});

describe('fleet-audit suppress on a deployed findings table', () => {
  let dynamo: LocalDynamo;
  const table = 'FleetAuditorHub-Findings';
  const env = () => ({
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  const where = ['--table', table, '--table-region', 'eu-west-1'];

  beforeAll(async () => {
    dynamo = await startDynalite();
    await new AuditStore({ tableName: table }, dynamo.client).ensureTable();
  });
  afterAll(async () => dynamo.close());

  it('adds a region-wide suppression there, which the store the report step reads returns', async () => {
    // Act
    const added = await cli(
      [
        'suppress',
        'add',
        '--rule',
        'KP-IPTABLES-SCALE',
        '--region',
        'us-east-1',
        '--reason',
        'IPVS migration scheduled',
        '--owner',
        'sre',
        '--expires',
        inAYear(),
        ...where,
      ],
      env(),
    );

    // Assert
    expect(added).toMatchObject({ code: 0, stderr: '' });
    const stored = await new AuditStore({ tableName: table }, dynamo.client).suppressions();
    expect(stored).toEqual([
      expect.objectContaining({ account: '*', region: 'us-east-1', cluster: '*', ruleId: 'KP-IPTABLES-SCALE' }),
    ]);
  });

  it('names --table-region, not --region, as the table’s region when they are mixed up', async () => {
    // Act
    const outcome = await cli(['suppress', 'list', '--local', '--table-region', 'eu-west-1'], env());

    // Assert
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/^fleet-audit: --table-region and --profile go with --table/);
  });
});
