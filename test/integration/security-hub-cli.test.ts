import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '#audit/model.js';
import { loadScenario } from '#sim/scenario.js';
import { type Simulator, startSimulator } from '#sim/server.js';
import { runCli } from './cli-process.js';

const cli = runCli;

/**
 * `report --format asff --to-security-hub` against the simulator's Security Hub and STS (through the SDK's
 * AWS_ENDPOINT_URL_<SERVICE> settings), with the run the real `run --local` stored.
 */
describe('fleet-audit report --to-security-hub', () => {
  let stateDir: string;
  let sim: Simulator;
  let result: RunResult;
  const aws = () => ({
    AWS_ENDPOINT_URL_SECURITYHUB: sim.endpoint,
    AWS_ENDPOINT_URL_STS: sim.endpoint,
    // the simulator's accounts are their access key ids
    AWS_ACCESS_KEY_ID: '111111111111',
    AWS_SECRET_ACCESS_KEY: 'simulated',
    AWS_REGION: 'eu-west-1',
  });

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fa-securityhub-'));
    const run = await cli(['run', '--local', '--state-dir', stateDir, '--json']);
    result = JSON.parse(run.stdout) as RunResult;
    sim = await startSimulator(loadScenario('default'));
  }, 120_000);
  afterAll(async () => {
    await sim.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('imports the caller’s account’s findings into each finding’s region and skips the other accounts’', async () => {
    // Act
    const outcome = await cli(
      ['report', '--local', '--state-dir', stateDir, '--format', 'asff', '--to-security-hub'],
      aws(),
    );

    // Assert
    const mine = result.clusters.filter((c) => c.account === '111111111111');
    const others = result.clusters.filter((c) => c.account !== '111111111111');
    const count = (clusters: typeof mine) => clusters.reduce((n, c) => n + c.findings.length, 0);
    expect(count(mine)).toBeGreaterThan(0);
    expect(count(others)).toBeGreaterThan(0);
    expect(outcome).toMatchObject({ code: 0, stderr: '' });
    expect(outcome.stdout.split('\n')[0]).toMatch(
      new RegExp(
        `^Security Hub: ${count(mine)} of ${count(mine) + count(others)} findings imported for account 111111111111 \\(\\d+ BatchImportFindings calls?\\)$`,
      ),
    );
    expect(outcome.stdout).toContain(`${count(others)} skipped: they belong to 222222222222`);
    for (const region of new Set(mine.map((c) => c.region ?? ''))) {
      const stored = sim.fleet.region('111111111111', region).securityHubFindings;
      const expected = mine.filter((c) => c.region === region).reduce((n, c) => n + c.findings.length, 0);
      expect(stored.size).toBe(expected);
    }
  });

  it('asks for --format asff in one line, exit 2', async () => {
    // Act
    const outcome = await cli(['report', '--local', '--state-dir', stateDir, '--to-security-hub'], aws());

    // Assert
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/^fleet-audit: --to-security-hub sends ASFF findings: pass --format asff with it/);
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says in one line which service it could not reach', async () => {
    // Act
    const outcome = await cli(['report', '--local', '--state-dir', stateDir, '--format', 'asff', '--to-security-hub'], {
      ...aws(),
      AWS_ENDPOINT_URL_SECURITYHUB: 'http://127.0.0.1:9',
    });

    // Assert
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/^fleet-audit: cannot reach AWS Security Hub in [a-z0-9-]+ /);
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
  });
});
