import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awkPathDir, createNetns, deleteNetns, makeTempDir, removeDir, runCollector, section } from './harness.js';

// Pod-log folders and ipamd logs planted under a temporary FLEET_AUDIT_ROOT, with timestamps made relative to
// now: inside the window, outside it, in the future, with offsets, and malformed.

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** RFC 3339 with nanoseconds, as containerd writes CRI log lines. */
function criTime(at: number): string {
  return new Date(at).toISOString().replace(/\.(\d{3})Z$/, '.$1456789Z');
}

/** The same instant written in a +02:00 zone: the wall clock reads two hours later than UTC. */
function criTimePlusTwo(at: number): string {
  return new Date(at + 2 * HOUR).toISOString().replace(/\.(\d{3})Z$/, '.$1000000+02:00');
}

function cri(at: number | string, klog: string): string {
  return `${typeof at === 'number' ? criTime(at) : at} stderr F ${klog}`;
}

function ipamd(at: number | string, level: string, msg: string): string {
  const ts = typeof at === 'number' ? JSON.stringify(new Date(at).toISOString()) : at;
  return `{"level":"${level}","ts":${ts},"caller":"aws-k8s-agent/main.go:64","msg":${JSON.stringify(msg)}}`;
}

const LOCK_TEXT = '\texit status 4: Another app is currently holding the xtables lock. Stopped waiting after 5s.';
const RESTORE_FAILED = 'E0610 07:32:16.910840       1 proxier.go:1564] "Failed to execute iptables-restore" err=<';
const SLOW_RESTORE =
  'I0606 16:49:46.155398       1 trace.go:236] Trace[1591999613]: "iptables restore" (06-Jun-2024 16:49:41.141) (total time: 5013ms):';
const UNREACHABLE =
  'Unable to reach API Server: Get "https://10.100.0.1:443/version?timeout=5s": net/http: request canceled';

/** Writes a file (making its folders) and sets its modification time. */
function plant(root: string, path: string, lines: readonly string[], modified: number): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, `${lines.join('\n')}\n`);
  utimesSync(full, modified / 1000, modified / 1000);
}

function setModified(root: string, path: string, modified: number): void {
  utimesSync(join(root, path), modified / 1000, modified / 1000);
}

const KP = 'var/log/pods/kube-system_kube-proxy-abcde_0f1e2d3c-1111-2222-3333-444455556666/kube-proxy';
const KP_STALE = 'var/log/pods/kube-system_kube-proxy-old12_99999999-1111-2222-3333-444455556666';
const AWS_NODE = 'var/log/pods/kube-system_aws-node-x7k2p_5a6b7c8d-1111-2222-3333-444455556666';
const AWS_NODE_STALE = 'var/log/pods/kube-system_aws-node-old34_77777777-1111-2222-3333-444455556666';
const ENI = 'var/log/aws-routed-eni';

/** A node's worth of logs; the comments give what each line adds to the 24-hour counts. */
function plantNode(root: string, now: number): void {
  plant(
    root,
    `${KP}/0.log`,
    [
      cri(now - 30 * HOUR, `E0101 ${LOCK_TEXT}`), // outside the window
      cri(
        now - 19 * HOUR,
        'E0101 proxier.go:1402] Failed to execute iptables-restore: exit status 4: Another app is currently holding the xtables lock. Stopped waiting after 5s.',
      ), // lock +1 and restore +1: one line, two signals
    ],
    now - 19 * HOUR,
  );
  plant(
    root,
    `${KP}/1.log`,
    [
      cri(now - 12 * HOUR, RESTORE_FAILED), // restore +1
      cri(now - 12 * HOUR, LOCK_TEXT), // lock +1
      cri(now - 12 * HOUR, ' > ipFamily="IPv4"'),
      cri(now - 11 * HOUR, SLOW_RESTORE), // slow +1
      cri(now - 11 * HOUR, 'Trace[1591999613]: [5.013283689s] [5.013283689s] END'),
      cri(
        now - 11 * HOUR,
        'I0606 16:49:46.155398       1 trace.go:236] Trace[7]: "iptables save" (06-Jun-2024 16:49:41.141) (total time: 2500ms):',
      ),
    ],
    now - 10 * HOUR,
  );
  plant(
    root,
    `${KP}/3.log`,
    [
      cri(now - HOUR, LOCK_TEXT), // lock +1
      cri(criTimePlusTwo(now - HOUR), LOCK_TEXT), // lock +1: +02:00 offset, an hour ago in UTC
      cri(now + 2 * HOUR, LOCK_TEXT), // future: not counted
      `not-a-timestamp stderr F ${LOCK_TEXT}`, // malformed: not counted
      cri('2026-13-45T99:99:99.000000000Z', LOCK_TEXT), // impossible date: not counted
      `${LOCK_TEXT}`, // no timestamp at all: not counted
      cri(now - 5 * MINUTE, 'I0101 "Syncing iptables rules" ipFamily="IPv4"'),
      cri(now - 5 * MINUTE, SLOW_RESTORE), // slow +1
    ],
    now,
  );
  plant(
    root,
    `${KP}/3.log.20261130-010101`,
    [cri(now - 3 * HOUR, RESTORE_FAILED), cri(now - 3 * HOUR, LOCK_TEXT)], // restore +1, lock +1
    now - 2 * HOUR,
  );
  // compressed rotations are never read (this one is plain text under a .gz name, so reading it would show)
  plant(
    root,
    `${KP}/2.log.20261129-000000.gz`,
    Array.from({ length: 5 }, () => [cri(now - HOUR, RESTORE_FAILED), cri(now - HOUR, LOCK_TEXT)]).flat(),
    now - HOUR,
  );
  // an earlier pod's folder: more restarts, modified three days ago
  plant(root, `${KP_STALE}/kube-proxy/7.log`, [cri(now - 72 * HOUR, LOCK_TEXT)], now - 72 * HOUR);
  setModified(root, KP_STALE, now - 72 * HOUR);

  for (const n of [0, 1, 2, 4]) plant(root, `${AWS_NODE}/aws-node/${n}.log`, [cri(now, 'x')], now - HOUR);
  plant(root, `${AWS_NODE}/aws-vpc-cni-init/0.log`, [cri(now, 'x')], now - HOUR);
  plant(root, `${AWS_NODE_STALE}/aws-node/9.log`, [cri(now - 48 * HOUR, 'x')], now - 48 * HOUR);
  setModified(root, AWS_NODE_STALE, now - 48 * HOUR);

  plant(
    root,
    `${ENI}/ipamd.log`,
    [
      ipamd(now - 2 * HOUR, 'info', 'Starting L-IPAMD v1.19.4-eksbuild.1  ...'), // starts +1, the version
      ipamd(now - 110 * MINUTE, 'error', UNREACHABLE), // unreachable +1
      ipamd(
        JSON.stringify(new Date(now - 100 * MINUTE).toISOString().replace('Z', '+0000')),
        'error',
        'Unable to reach API Server, timeout',
      ), // unreachable +1 (zap's +0000 offset)
      ipamd(((now - 30 * MINUTE) / 1000).toFixed(3), 'error', UNREACHABLE), // unreachable +1 (epoch-seconds ts)
      ipamd(now + 3 * HOUR, 'error', UNREACHABLE), // future: not counted
      `Unable to reach API Server but this line is not JSON`, // malformed: not counted
      ipamd('"yesterday"', 'error', UNREACHABLE), // unparseable ts: not counted
      ipamd(now - 20 * MINUTE, 'debug', 'execute iptable rule : [-A AWS-SNAT-CHAIN-0 ...]'),
    ],
    now,
  );
  plant(
    root,
    `${ENI}/ipamd-2026-11-29T10-00-00.000.log`,
    [
      ipamd(now - 30 * HOUR, 'info', 'Starting L-IPAMD v1.18.1-eksbuild.1  ...'), // outside the window
      ipamd(now - 7 * HOUR, 'info', 'Starting L-IPAMD v1.18.1-eksbuild.1  ...'), // starts +1, an older version
      ipamd(now - 390 * MINUTE, 'error', UNREACHABLE), // unreachable +1
    ],
    now - 6 * HOUR,
  );
  plant(
    root,
    `${ENI}/ipamd-2026-11-28T10-00-00.000.log.gz`,
    [
      ...Array.from({ length: 4 }, () => ipamd(now - HOUR, 'error', UNREACHABLE)),
      ipamd(now - 10 * MINUTE, 'info', 'Starting L-IPAMD v9.9.9  ...'),
    ],
    now - HOUR,
  );
}

describe('planted pod logs and ipamd logs', () => {
  let netns: string;
  let root: string;
  const awkDirs = { gawk: '', mawk: '', busybox: '' };

  beforeAll(async () => {
    netns = await createNetns();
    root = makeTempDir('fa-root-');
    plantNode(root, Date.now());
    for (const awk of ['gawk', 'mawk', 'busybox'] as const) awkDirs[awk] = awkPathDir(awk);
  });
  afterAll(async () => {
    await deleteNetns(netns);
    removeDir(root);
    for (const dir of Object.values(awkDirs)) removeDir(dir);
  });

  it.each(['gawk', 'mawk', 'busybox'] as const)(
    'counts exactly the lines inside the 24-hour window, with %s as awk',
    async (awk) => {
      // Arrange: planted above

      // Act
      const run = await runCollector({ netns, env: { FLEET_AUDIT_ROOT: root }, pathPrefix: awkDirs[awk] });

      // Assert
      expect(section(run, 'logs')).toEqual({
        windowHours: 24,
        kubeProxyLockErrors: 5,
        kubeProxyRestoreFailures: 3,
        kubeProxySlowRestores: 2,
        ipamdApiUnreachable: 4,
        ipamdStarts: 2,
      });
      expect(section(run, 'awsNode').version).toBe('v1.19.4-eksbuild.1');
      expect(run.json.errors).not.toContainEqual(expect.stringMatching(/^logs:/));
    },
  );

  it("takes restarts from the current pod folder's highest N.log, not from stale folders", async () => {
    // Arrange: planted above

    // Act
    const run = await runCollector({ netns, env: { FLEET_AUDIT_ROOT: root } });

    // Assert
    expect(section(run, 'restarts')).toEqual({ awsNode: 4, kubeProxy: 3, awsNodeInWindow: 4, kubeProxyInWindow: 3 });
  });

  it('narrows the counts to a 1.5-hour window', async () => {
    // Arrange
    const env = { FLEET_AUDIT_ROOT: root, FLEET_AUDIT_LOG_WINDOW_HOURS: '1.5' };

    // Act
    const run = await runCollector({ netns, env });

    // Assert
    expect(section(run, 'logs')).toEqual({
      windowHours: 1.5,
      kubeProxyLockErrors: 2,
      kubeProxyRestoreFailures: 0,
      kubeProxySlowRestores: 1,
      ipamdApiUnreachable: 1,
      ipamdStarts: 0,
    });
    expect(section(run, 'awsNode').version).toBe('v1.19.4-eksbuild.1');
    // kube-proxy's newest container started 3 hours ago: its 3 restarts are the pod's, none is the window's
    expect(section(run, 'restarts')).toEqual({ awsNode: 4, kubeProxy: 3, awsNodeInWindow: 4, kubeProxyInWindow: 0 });
    expect(run.json.errors).not.toContainEqual(expect.stringMatching(/^restarts:/));
  });

  it('counts restarts inside a 6-hour window as a lower bound when a container between them left only a .gz', async () => {
    // Arrange: kube-proxy's container 1 started 12 hours ago, 3 started 3 hours ago, 2 only has a compressed log
    const env = { FLEET_AUDIT_ROOT: root, FLEET_AUDIT_LOG_WINDOW_HOURS: '6' };

    // Act
    const run = await runCollector({ netns, env });

    // Assert: restart 3 is inside; restart 2 may be, but nothing says when it started
    expect(section(run, 'restarts')).toMatchObject({ kubeProxy: 3, kubeProxyInWindow: 1 });
    expect(run.json.errors).toContain(
      'restarts: kube-proxy restarts in the window are a lower bound (older logs removed)',
    );
  });

  it('ignores a window setting that is not a number of hours, and says so', async () => {
    // Arrange
    const env = { FLEET_AUDIT_ROOT: root, FLEET_AUDIT_LOG_WINDOW_HOURS: '24; rm -rf /' };

    // Act
    const run = await runCollector({ netns, env });

    // Assert
    expect(section(run, 'logs')).toMatchObject({ windowHours: 24, kubeProxyLockErrors: 5 });
    expect(run.json.errors).toContain(
      'logs: FLEET_AUDIT_LOG_WINDOW_HOURS ignored (want hours, more than 0 and up to 720)',
    );
  });

  it('reports null counts and restarts, with reasons, when there are no logs at all', async () => {
    // Arrange
    const empty = makeTempDir('fa-empty-root-');

    try {
      // Act
      const run = await runCollector({ netns, env: { FLEET_AUDIT_ROOT: empty } });

      // Assert
      expect(section(run, 'logs')).toEqual({
        windowHours: 24,
        kubeProxyLockErrors: null,
        kubeProxyRestoreFailures: null,
        kubeProxySlowRestores: null,
        ipamdApiUnreachable: null,
        ipamdStarts: null,
      });
      expect(section(run, 'restarts')).toEqual({
        awsNode: null,
        kubeProxy: null,
        awsNodeInWindow: null,
        kubeProxyInWindow: null,
      });
      expect(run.json.errors).toEqual(
        expect.arrayContaining([
          'restarts: no aws-node pod logs under /var/log/pods',
          'logs: no kube-proxy pod logs under /var/log/pods',
          'logs: no ipamd.log under /var/log/aws-routed-eni',
        ]),
      );
    } finally {
      removeDir(empty);
    }
  });
});

describe('log reads capped in bytes', () => {
  let netns: string;
  let root: string;

  beforeAll(async () => {
    netns = await createNetns();
    root = makeTempDir('fa-root-capped-');
    const now = Date.now();
    const filler = (count: number) =>
      Array.from({ length: count }, (_, i) =>
        cri(now - HOUR, `I0101 proxier.go:820] "filler line ${i}" ${'x'.repeat(150)}`),
      );
    // 5.25 MiB current file, newest; 5.25 MiB rotated file: only its newest ~2.75 MiB fit in 8 MiB
    plant(root, `${KP}/0.log`, [...filler(26_000), cri(now - HOUR, LOCK_TEXT), cri(now - HOUR, LOCK_TEXT)], now);
    plant(
      root,
      `${KP}/0.log.20261130-000000`,
      [
        ...Array.from({ length: 4 }, () => cri(now - 2 * HOUR, LOCK_TEXT)),
        ...filler(26_000),
        cri(now - 2 * HOUR, LOCK_TEXT),
      ],
      now - HOUR,
    );
    const ipamdFiller = Array.from({ length: 45_000 }, (_, i) =>
      ipamd(now - HOUR, 'debug', `filler ${i} ${'y'.repeat(120)}`),
    );
    plant(
      root,
      `${ENI}/ipamd.log`,
      [
        ...Array.from({ length: 5 }, () => ipamd(now - 2 * HOUR, 'error', UNREACHABLE)),
        ...ipamdFiller,
        ...Array.from({ length: 3 }, () => ipamd(now - HOUR, 'error', UNREACHABLE)),
      ],
      now,
    );
  });
  afterAll(async () => {
    await deleteNetns(netns);
    removeDir(root);
  });

  it('reads only the newest 8 MiB of each source and says the counts are lower bounds', async () => {
    // Arrange: planted above (kube-proxy 10.5 MiB, ipamd 9 MiB)

    // Act
    const run = await runCollector({ netns, env: { FLEET_AUDIT_ROOT: root } });

    // Assert
    expect(section(run, 'logs')).toMatchObject({ kubeProxyLockErrors: 3, ipamdApiUnreachable: 3 });
    expect(run.json.errors).toEqual(
      expect.arrayContaining([
        'logs: kube-proxy read capped at 8 MiB; counts are lower bounds',
        'logs: ipamd read capped at 8 MiB; counts are lower bounds',
      ]),
    );
  });
});
