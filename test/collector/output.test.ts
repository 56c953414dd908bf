import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTOR_MAX_BYTES } from '#audit/node-report.js';
import { collectorPath, createNetns, deleteNetns, makeTempDir, removeDir, runCollector, section } from './harness.js';

// One JSON object, at most 2,400 bytes, whatever the node throws at it: the worst case real inputs reach,
// and the errors list cut (on a copy of the script whose limit is lowered, so the cut is reachable).

/** 64 characters (the kernel's limit) of what JSON must escape. */
const HOSTILE_HOSTNAME = `ip-10-0-1-10"\\${'"'.repeat(50)}`;

/** A run in its own UTS namespace, with the given hostname. */
function withHostname(name: string): string[] {
  return ['unshare', '--uts', 'sh', '-c', 'printf %s "$0" > /proc/sys/kernel/hostname; exec "$@"', name];
}

describe('collector output size', () => {
  let netns: string;
  let dir: string;
  let lockPath: string;

  beforeAll(async () => {
    netns = await createNetns();
    dir = makeTempDir();
    lockPath = join(dir, '"'.repeat(120), 'xtables.lock');
  });
  afterAll(async () => {
    await deleteNetns(netns);
    removeDir(dir);
  });

  it('stays within 2,400 bytes with every section failing, every hook invalid and text that escapes long', async () => {
    // Arrange
    expect(HOSTILE_HOSTNAME).toHaveLength(64);
    const env = {
      XTABLES_LOCKFILE: lockPath,
      FLEET_AUDIT_LOCK_SAMPLES: 'many',
      FLEET_AUDIT_LOCK_WINDOW_MS: 'long',
      FLEET_AUDIT_LOG_WINDOW_HOURS: 'a day',
    };

    // Act
    const run = await runCollector({ netns, env, prefix: withHostname(HOSTILE_HOSTNAME) });

    // Assert
    expect(run.exitCode).toBe(0);
    expect(Buffer.byteLength(run.stdout)).toBeLessThanOrEqual(COLLECTOR_MAX_BYTES);
    expect(run.stdout.endsWith('}\n')).toBe(true);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(section(run, 'node').hostname).toBe(HOSTILE_HOSTNAME);
    expect(section(run, 'lock').path).toBe(lockPath.slice(0, 100));
    // (the process-dependent errors vary while processes.test.ts runs its stand-ins; these do not)
    expect(run.json.errors).toEqual(
      expect.arrayContaining([
        'lock: FLEET_AUDIT_LOCK_SAMPLES ignored (want 1..200)',
        'lock: FLEET_AUDIT_LOCK_WINDOW_MS ignored (want 0..10000)',
        'logs: FLEET_AUDIT_LOG_WINDOW_HOURS ignored (want hours, more than 0 and up to 720)',
        `lock: no lock file at ${lockPath.slice(0, 100)}`,
        'iptables: no backend holds kube-proxy rules',
      ]),
    );
  });

  it('cuts the errors list to fit, and its last entry says how many were cut', async () => {
    // Arrange
    const limited = join(dir, 'collect-1500.sh');
    const script = readFileSync(collectorPath, 'utf8');
    expect(script).toContain('readonly MAX_BYTES=2400\n');
    writeFileSync(limited, script.replace('readonly MAX_BYTES=2400\n', 'readonly MAX_BYTES=1500\n'));

    // Act
    const run = await runCollector({ netns, scriptPath: limited, env: { XTABLES_LOCKFILE: lockPath } });

    // Assert
    const errors = run.json.errors as string[];
    expect(Buffer.byteLength(run.stdout)).toBeLessThanOrEqual(1500);
    expect(errors.at(-1)).toMatch(/^\+\d+ more errors cut$/);
    const cut = Number(/^\+(\d+)/.exec(errors.at(-1) ?? '')?.[1]);
    expect(cut).toBeGreaterThan(0);
    expect(errors.length - 1 + cut).toBeGreaterThanOrEqual(10);
    expect(section(run, 'iptables').backend).toBe('none');
  });
});
