import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createNetns,
  deleteNetns,
  loadRuleset,
  locksOn,
  makeTempDir,
  removeDir,
  runCollector,
  runWithInput,
  savedRuleset,
  section,
  waitFor,
} from './harness.js';

// Lock sampling reads /proc/locks for the lock file's inode; the test (never the collector) holds a private
// lock file with a renamed copy of util-linux flock, started by a renamed copy of bash, so /proc/PID/comm
// names the holder and its parent. Waiters are real: a second flock, and a real iptables-legacy -w, which
// since iptables 1.8.8 waits in a blocking flock(LOCK_EX) (iptables xshared.c xtables_lock) and so shows as a
// "->" line in /proc/locks (fs/locks.c locks_show).

const FLOCK = '/usr/bin/flock';
const BASH = '/bin/bash';
/** The legacy multi-call binary: run under the name `iptables` it is iptables-legacy (xtables-legacy-multi.c). */
const LEGACY_MULTI = '/usr/sbin/xtables-legacy-multi';

describe('xtables lock sampling', () => {
  let netns: string;
  let dir: string;
  let lockFile: string;
  let inode: number;
  let children: ChildProcess[] = [];

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
    inode = statSync(lockFile).ino;
    copyFileSync(FLOCK, join(dir, 'fa-lock-holder'));
    copyFileSync(FLOCK, join(dir, 'fa-lock-waiter'));
  });
  afterEach(async () => {
    // each stand-in is a process group: flock's sleep and a queued iptables end with it, and the lock is free
    for (const child of children) {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group has ended on its own
      }
    }
    children = [];
    await waitFor(() => locksOn(inode).granted.length + locksOn(inode).waiting.length === 0, 'the lock to be free');
    removeDir(dir);
  });

  /**
   * Starts `command` (a shell line) in its own process group under a copy of bash named `parent`, so the
   * process it runs has that parent.
   */
  async function under(parent: string, command: string): Promise<void> {
    const copy = join(dir, parent);
    copyFileSync(BASH, copy);
    // the trailing ":" keeps bash from exec'ing the command in its own place
    const child = spawn(copy, ['-c', `${command}; :`], { detached: true, stdio: 'ignore' });
    await new Promise<void>((resolvePromise, reject) => {
      child.once('spawn', () => resolvePromise());
      child.once('error', reject);
    });
    children.push(child);
  }

  it('counts a sample held with a real iptables-legacy -w queued behind it as waited, and names both with their parents', async () => {
    // Arrange
    copyFileSync(LEGACY_MULTI, join(dir, 'iptables'));
    await under('kube-proxy', `"${dir}/fa-lock-holder" "${lockFile}" sleep 60`);
    await waitFor(() => locksOn(inode).granted.length === 1, 'the holder to take the lock');
    await under(
      'aws-k8s-agent',
      `ip netns exec ${netns} env XTABLES_LOCKFILE="${lockFile}" "${dir}/iptables" -w -t filter -A INPUT -j ACCEPT`,
    );
    await waitFor(() => locksOn(inode).waiting.length === 1, 'iptables-legacy to queue for the lock');

    // Act
    const run = await runCollector({ netns, env: { XTABLES_LOCKFILE: lockFile }, lockSampling: 'collector-default' });

    // Assert
    const lock = section(run, 'lock');
    expect(lock).toMatchObject({
      path: lockFile,
      samples: 20,
      busy: 20,
      waited: 20,
      waitersMax: 1,
      holders: ['kube-proxy/fa-lock-holder'],
      waiters: ['aws-k8s-agent/iptables'],
    });
    expect(lock.windowMs).toBeGreaterThanOrEqual(1900);
    expect(lock.windowMs).toBeLessThan(4000);
    expect(run.wallMs).toBeLessThan(15_000);
  });

  it('counts two queued writers in waitersMax', async () => {
    // Arrange
    await under('kube-proxy', `"${dir}/fa-lock-holder" "${lockFile}" sleep 60`);
    await waitFor(() => locksOn(inode).granted.length === 1, 'the holder to take the lock');
    await under('aws-k8s-agent', `"${dir}/fa-lock-waiter" "${lockFile}" true`);
    await under('fa-second-agent', `"${dir}/fa-lock-waiter" "${lockFile}" true`);
    await waitFor(() => locksOn(inode).waiting.length === 2, 'both waiters to queue');

    // Act
    const run = await runCollector({ netns, env: { XTABLES_LOCKFILE: lockFile } });

    // Assert
    const lock = section(run, 'lock');
    expect(lock).toMatchObject({ samples: 2, busy: 2, waited: 2, waitersMax: 2 });
    expect([...(lock.waiters as string[])].sort()).toEqual([
      'aws-k8s-agent/fa-lock-waiter',
      'fa-second-agent/fa-lock-waiter',
    ]);
  });

  it('finds the lock held but not waited for when nobody queues behind the holder', async () => {
    // Arrange: one ordinary sync's worth of holding, nobody waiting
    await under('kube-proxy', `"${dir}/fa-lock-holder" "${lockFile}" sleep 60`);
    await waitFor(() => locksOn(inode).granted.length === 1, 'the holder to take the lock');

    // Act
    const run = await runCollector({ netns, env: { XTABLES_LOCKFILE: lockFile } });

    // Assert
    expect(section(run, 'lock')).toMatchObject({
      samples: 2,
      busy: 2,
      waited: 0,
      waitersMax: 0,
      holders: ['kube-proxy/fa-lock-holder'],
      waiters: [],
    });
  });

  it('finds no busy sample and no holder when nobody holds the lock', async () => {
    // Arrange: the lock file exists, unheld

    // Act
    const run = await runCollector({ netns, env: { XTABLES_LOCKFILE: lockFile }, lockSampling: 'collector-default' });

    // Assert
    const lock = section(run, 'lock');
    expect(lock).toMatchObject({
      path: lockFile,
      samples: 20,
      busy: 0,
      waited: 0,
      waitersMax: 0,
      holders: [],
      waiters: [],
    });
    expect(lock.windowMs).toBeGreaterThanOrEqual(1900);
    expect(run.wallMs).toBeLessThan(15_000);
  });

  it('counts only the samples taken while the lock was held', async () => {
    // Arrange: a holder that lets go after about a second of a two-second window
    await under('kube-proxy', `"${dir}/fa-lock-holder" "${lockFile}" sleep 1`);
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
    expect(lock.holders).toEqual(['kube-proxy/fa-lock-holder']);
  });

  it('escapes a holder name with a quote and a backslash in the JSON', async () => {
    // Arrange
    copyFileSync(FLOCK, join(dir, 'fa"lock\\holder'));
    await under('kube-proxy', `"${dir}/fa\\"lock\\\\holder" "${lockFile}" sleep 60`);
    await waitFor(() => locksOn(inode).granted.length === 1, 'the holder to take the lock');

    // Act
    const run = await runCollector({ netns, env: { XTABLES_LOCKFILE: lockFile } });

    // Assert
    expect(run.stdout).toContain('"holders":["kube-proxy/fa\\"lock\\\\holder"]');
    expect(section(run, 'lock')).toMatchObject({ samples: 2, busy: 2, holders: ['kube-proxy/fa"lock\\holder'] });
  });

  // iptables-nft (xtables-restore.c) accepts -w and ignores it: only the legacy tools call xtables_lock_or_exit
  // (iptables.c, ip6tables.c, iptables-restore.c), so on an nft node nothing queues on the lock file aws-node made.
  it('lets iptables-nft-restore -w write past a held lock without queueing, where iptables-legacy-restore -w gives up', async () => {
    // Arrange
    await under('kube-proxy', `"${dir}/fa-lock-holder" "${lockFile}" sleep 60`);
    await waitFor(() => locksOn(inode).granted.length === 1, 'the holder to take the lock');
    const rules = '*filter\n:FA-NFT-PROBE - [0:0]\n-A FA-NFT-PROBE -j RETURN\nCOMMIT\n';

    // Act
    await loadRuleset(netns, 'nft', rules, lockFile);
    const legacy = runWithInput(
      'ip',
      ['netns', 'exec', netns, 'env', `XTABLES_LOCKFILE=${lockFile}`, 'iptables-legacy-restore', '-w', '1'],
      rules,
    );
    const legacyOutcome = await legacy.then(
      () => 'written',
      (error: Error) => error.message,
    );
    const run = await runCollector({ netns, env: { XTABLES_LOCKFILE: lockFile } });

    // Assert: the nft write landed while the lock was held; the legacy one waited its second and stopped
    expect(await savedRuleset(netns, 'nft')).toContain('-A FA-NFT-PROBE -j RETURN');
    expect(legacyOutcome).toContain('Another app is currently holding the xtables lock. Stopped waiting after 1s.');
    expect(locksOn(inode)).toEqual({ granted: [expect.any(Number)], waiting: [] });
    expect(section(run, 'lock')).toMatchObject({ waited: 0, waitersMax: 0, holders: ['kube-proxy/fa-lock-holder'] });
  });

  it('reports samples 0, nulls and a reason when there is no lock file', async () => {
    // Arrange
    const missing = join(dir, 'absent.lock');

    // Act
    const run = await runCollector({ netns, env: { XTABLES_LOCKFILE: missing }, lockSampling: 'collector-default' });

    // Assert
    expect(section(run, 'lock')).toEqual({
      path: missing,
      applicable: null,
      samples: 0,
      busy: null,
      waited: null,
      waitersMax: null,
      windowMs: null,
      holders: null,
      waiters: null,
    });
    expect(run.json.errors).toContain(`lock: no lock file at ${missing}`);
    expect(run.wallMs).toBeLessThan(2000);
  });
});
