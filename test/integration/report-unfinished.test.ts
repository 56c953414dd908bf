import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalStore } from '#sim/local-fleet.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin/fleet-audit.js');
const ENV = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', COLUMNS: '120', NO_COLOR: '1' };

function fleetAudit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: ENV, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? Number(error.code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `run --local` SIGKILLed once a cluster is assessed, before its report step: the run is stored as started and
 * never finishes. Resolves with the run id its plan step announced.
 */
function killedRun(stateDir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--verbose', 'run', '--local', '--state-dir', stateDir], {
      cwd: ROOT,
      env: ENV,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let runId: string | null = null;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      runId ??= /^plan: run (\S+),/m.exec(stderr)?.[1] ?? null;
      if (runId && /^assess /m.test(stderr)) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' && runId) resolve(runId);
      else reject(new Error(`run was not killed before it finished (exit ${code}): ${stderr.slice(-500)}`));
    });
  });
}

describe('fleet-audit report --local after a killed run', () => {
  let stateDir: string;
  let finished: { runId: string };
  let killed: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fleet-audit-unfinished-'));
    const first = await fleetAudit(['run', '--local', '--json', '--state-dir', stateDir]);
    finished = JSON.parse(first.stdout) as { runId: string };
    killed = await killedRun(stateDir);
  }, 120_000);
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it('shows the newest run that finished and says in one line that the newer one did not finish', async () => {
    // Act
    const text = await fleetAudit(['report', '--local', '--state-dir', stateDir]);
    const json = await fleetAudit(['report', '--local', '--state-dir', stateDir, '--format', 'json']);

    // Assert
    expect(killed).not.toBe(finished.runId);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(new RegExp(`^Fleet audit ${finished.runId} — `));
    expect(text.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^fleet-audit: run ${killed} \\(started \\S+\\) did not finish \\(RUNNING: stopped before its report step, or still ` +
            `running\\); showing run ${finished.runId}, the newest that finished$`,
        ),
      ),
    ]);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { runId: string }).runId).toBe(finished.runId);
  });

  it('refuses --run naming the killed run in one line that points at the newest finished run', async () => {
    const outcome = await fleetAudit(['report', '--local', '--state-dir', stateDir, '--run', killed]);
    expect(outcome.code).toBe(2);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr.trim()).toBe(
      `fleet-audit: run ${killed} did not finish (RUNNING: stopped before its report step, or still running); ` +
        '`fleet-audit report` without --run shows the newest run that finished',
    );
  });

  it('names why the newer run failed when RecordRunFailure stored the reason', async () => {
    // Arrange: the state machine's failure path stores the killed run as FAILED
    const local = await openLocalStore(stateDir);
    try {
      const run = await local.store.getRun(killed);
      await local.store.failRun(killed, run?.startedAt ?? '', new Date().toISOString(), 'report step failed: boom');
    } finally {
      await local.close();
    }

    // Act
    const outcome = await fleetAudit(['report', '--local', '--state-dir', stateDir]);

    // Assert
    expect(outcome.code).toBe(0);
    expect(outcome.stdout.split('\n')[0]).toMatch(new RegExp(`^Fleet audit ${finished.runId} — `));
    expect(outcome.stderr.trim()).toMatch(
      new RegExp(
        `^fleet-audit: run ${killed} \\(started \\S+\\) did not finish \\(FAILED: report step failed: boom\\); ` +
          `showing run ${finished.runId}, the newest that finished$`,
      ),
    );
  });
});
