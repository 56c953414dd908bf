import type { ChildProcess } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createNetns,
  deleteNetns,
  locksOn,
  makeTempDir,
  removeDir,
  runCollector,
  section,
  spawnNamed,
  stopProcess,
  waitFor,
} from './harness.js';

// Lock sampling reads /proc/locks for the lock file's inode; the test (never the collector) holds a private
// lock file with a renamed copy of util-linux flock, so /proc/PID/comm names the holder.

const FLOCK = '/usr/bin/flock';

describe('xtables lock sampling', () => {
  let netns: string;
  let dir: string;
  let lockFile: string;
  let holder: ChildProcess | undefined;
  let waiter: ChildProcess | undefined;

  beforeAll(async () => {
    netns = await createNetns();
  });
  afterAll(async () => {
    await deleteNetns(netns);
  });
  beforeEach(() => {
    dir = makeTempDir();
    lockFile = join(dir, 'xtables.lock');
    writeFileSync(lockFile, '', { mode: 0o600 });
  });
  afterEach(async () => {
    await stopProcess(waiter);
    await stopProcess(holder);
    holder = undefined;
    waiter = undefined;
    removeDir(dir);
  });

  it('finds every sample busy and names the holder, not the process waiting behind it', async () => {
    // Arrange
    const inode = statSync(lockFile).ino;
    holder = await spawnNamed(FLOCK, 'fa-lock-holder', dir, [lockFile, 'sleep', '60']);
    await waitFor(() => locksOn(inode).granted.length === 1, 'the holder to take the lock');
    waiter = await spawnNamed(FLOCK, 'fa-lock-waiter', dir, [lockFile, 'true']);
    await waitFor(() => locksOn(inode).waiting.length === 1, 'the waiter to queue');

    // Act
    const run = await runCollector({
      netns,
      env: { XTABLES_LOCKFILE: lockFile },
      lockSampling: 'collector-default',
    });

    // Assert
    const lock = section(run, 'lock');
    expect(lock).toMatchObject({ path: lockFile, samples: 20, busy: 20, holders: ['fa-lock-holder'] });
    expect(lock.windowMs).toBeGreaterThanOrEqual(1900);
    expect(lock.windowMs).toBeLessThan(4000);
    expect(run.wallMs).toBeLessThan(15_000);
  });

  it('finds no busy sample and no holder when nobody holds the lock', async () => {
    // Arrange: the lock file exists, unheld

    // Act
    const run = await runCollector({
      netns,
      env: { XTABLES_LOCKFILE: lockFile },
      lockSampling: 'collector-default',
    });

    // Assert
    const lock = section(run, 'lock');
    expect(lock).toMatchObject({ path: lockFile, samples: 20, busy: 0, holders: [] });
    expect(lock.windowMs).toBeGreaterThanOrEqual(1900);
    expect(run.wallMs).toBeLessThan(15_000);
  });

  it('counts only the samples taken while the lock was held', async () => {
    // Arrange: a holder that lets go after about a second of a two-second window
    const inode = statSync(lockFile).ino;
    holder = await spawnNamed(FLOCK, 'fa-lock-holder', dir, [lockFile, 'sleep', '1']);
    await waitFor(() => locksOn(inode).granted.length === 1, 'the holder to take the lock');

    // Act
    const run = await runCollector({
      netns,
      env: { XTABLES_LOCKFILE: lockFile, FLEET_AUDIT_LOCK_SAMPLES: '20', FLEET_AUDIT_LOCK_WINDOW_MS: '2000' },
    });

    // Assert
    const lock = section(run, 'lock');
    expect(lock.busy).toBeGreaterThan(0);
    expect(lock.busy).toBeLessThan(20);
    expect(lock.holders).toEqual(['fa-lock-holder']);
  });

  it('escapes a holder name with a quote and a backslash in the JSON', async () => {
    // Arrange
    const inode = statSync(lockFile).ino;
    holder = await spawnNamed(FLOCK, 'fa"lock\\holder', dir, [lockFile, 'sleep', '60']);
    await waitFor(() => locksOn(inode).granted.length === 1, 'the holder to take the lock');

    // Act
    const run = await runCollector({ netns, env: { XTABLES_LOCKFILE: lockFile } });

    // Assert
    expect(run.stdout).toContain('"holders":["fa\\"lock\\\\holder"]');
    expect(section(run, 'lock')).toMatchObject({ samples: 2, busy: 2, holders: ['fa"lock\\holder'] });
  });

  it('reports samples 0, nulls and a reason when there is no lock file', async () => {
    // Arrange
    const missing = join(dir, 'absent.lock');

    // Act
    const run = await runCollector({ netns, env: { XTABLES_LOCKFILE: missing }, lockSampling: 'collector-default' });

    // Assert
    expect(section(run, 'lock')).toEqual({ path: missing, samples: 0, busy: null, windowMs: null, holders: null });
    expect(run.json.errors).toContain(`lock: no lock file at ${missing}`);
    expect(run.wallMs).toBeLessThan(2000);
  });
});
