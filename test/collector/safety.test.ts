import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collectorPath,
  loadedNamespace,
  removeNetnsAndDir,
  repoRoot,
  runCollector,
  savedRuleset,
  section,
} from './harness.js';
import { generateKubeRuleset } from './kube-ruleset.js';

// The collector's safety rules (collector/collect.sh's header): read-only, never takes the xtables lock, nothing from
// outside run as shell code. Checked on the text, then on a real run traced with strace.

const script = readFileSync(collectorPath, 'utf8');
const CANARY_NAME = 'fa-pwned-canary';
const codeLines = script.split('\n').filter((line) => !/^\s*#/.test(line));

/** Programs the collector may start; anything else would mean input was run as a command. */
const ALLOWED_PROGRAMS = new Set([
  'env',
  'bash',
  'timeout',
  'date',
  'stat',
  'curl',
  'awk',
  'cat',
  'tail',
  'head',
  'readlink',
  'sleep',
  'iptables',
  'iptables-save',
  'iptables-legacy-save',
  'iptables-nft-save',
]);

describe('the collector script text', () => {
  it('has no flock, no iptables rule command and no iptables lock wait (the project hook’s own check)', () => {
    // Arrange
    const risky =
      /(^|[^-])\bflock\b|iptables(-legacy|-nft)?(-restore)? .*-w *($|[^0-9 ])|iptables(-legacy|-nft)? +-[ADINRFXZP] /;

    // Act
    const hits = codeLines.filter((line) => risky.test(line));

    // Assert
    expect(hits).toEqual([]);
  });

  it('has no "{{" that SSM could read as a parameter, and starts with a bash shebang', () => {
    // Arrange, Act
    const firstLine = script.split('\n')[0];

    // Assert
    expect(script).not.toContain('{{');
    expect(firstLine).toBe('#!/usr/bin/env bash');
  });

  it('never evaluates text: no eval, no source, no bash -c built from variables', () => {
    // Arrange, Act
    const hits = codeLines.filter((line) => /\beval\b|\bsource\b|(^|\s)\.\s+["$]|bash -c "/.test(line));

    // Assert
    expect(hits).toEqual([]);
  });
});

describe('a traced collector run with hostile inputs', () => {
  let netns: string;
  let dir: string;
  let trace: string;
  let canary: string;
  let lockFile: string;
  let before: string;
  let calls: string[];
  let run: Awaited<ReturnType<typeof runCollector>>;

  beforeAll(async () => {
    const ruleset = generateKubeRuleset({ services: 100 });
    ({ netns, dir, before } = await loadedNamespace('legacy', ruleset.text, { lockName: 'private.lock' }));
    trace = join(dir, 'strace.txt');
    canary = join(dir, 'pwned');
    // a lock file whose very name is a command substitution (relative: a file name holds no slash)
    lockFile = join(dir, `x$(touch ${CANARY_NAME}).lock`);
    writeFileSync(lockFile, '');
    // pod folders and log lines that carry shell syntax
    const root = join(dir, 'root');
    const podDir = join(root, `var/log/pods/kube-system_kube-proxy-$(touch ${CANARY_NAME})_1/kube-proxy`);
    mkdirSync(podDir, { recursive: true });
    writeFileSync(
      join(podDir, '0.log'),
      `${new Date().toISOString()} stderr F holding the xtables lock. Stopped waiting after 5s. $(touch ${canary}) \`touch ${canary}\`\n`,
    );
    const eniDir = join(root, 'var/log/aws-routed-eni');
    mkdirSync(eniDir, { recursive: true });
    writeFileSync(
      join(eniDir, 'ipamd.log'),
      `{"level":"info","ts":"${new Date().toISOString()}","msg":"Starting L-IPAMD v1.2.3;touch${canary}  ..."}\n`,
    );
    try {
      execFileSync('which', ['strace']);
    } catch {
      throw new Error('the collector safety tests need strace: apt-get install -y strace (and list it in .ci/run)');
    }
    run = await runCollector({
      netns,
      prefix: [
        'strace',
        '-f',
        '-qq',
        '-o',
        trace,
        '-e',
        'trace=execve,clone,clone3,fork,vfork,open,openat,creat,mkdir,mkdirat,unlink,unlinkat,rename,renameat,renameat2,truncate,flock,fcntl',
      ],
      env: {
        XTABLES_LOCKFILE: lockFile,
        FLEET_AUDIT_ROOT: root,
        FLEET_AUDIT_KUBE_PROXY_URL: `http://127.0.0.1:1/$(touch ${canary})`,
        FLEET_AUDIT_LOG_WINDOW_HOURS: `$(touch ${canary})`,
        FLEET_AUDIT_LOCK_SAMPLES: `3;touch ${canary}`,
      },
    });
    calls = readFileSync(trace, 'utf8').split('\n');
  }, 60_000);
  afterAll(() => removeNetnsAndDir(netns, dir));

  it('runs nothing it was handed: no canary file, only the expected programs', () => {
    // Arrange
    const programs = calls
      .filter((line) => line.includes('execve(') && !line.includes('ENOENT'))
      .map((line) => basename(/execve\("([^"]+)"/.exec(line)?.[1] ?? '?'))
      .filter((program) => program !== 'strace');

    // Act
    const unexpected = programs.filter((program) => !ALLOWED_PROGRAMS.has(program));

    // Assert
    expect(existsSync(canary)).toBe(false);
    expect(existsSync(join(repoRoot, CANARY_NAME))).toBe(false);
    expect(existsSync(join(dir, CANARY_NAME))).toBe(false);
    expect(unexpected).toEqual([]);
    expect(programs).toContain('iptables-legacy-save');
  });

  it('starts every program under timeout (bash, env and timeout itself aside)', () => {
    // Arrange: who started whom, and what each process runs
    const parentOf = new Map<string, string>();
    const programOf = new Map<string, string>();
    const execs: Array<{ pid: string; program: string }> = [];
    const pending = new Map<string, string>();
    const executed = (pid: string, path: string) => {
      programOf.set(pid, basename(path));
      execs.push({ pid, program: basename(path) });
    };
    for (const line of calls) {
      // strace splits calls that other processes interrupt: "<unfinished ...>", then "<... NAME resumed>"
      const fork = /^(\d+)\s+(?:(?:clone3?|v?fork)\(.*|<\.\.\. (?:clone3?|v?fork) resumed>.*)= (\d+)$/.exec(line);
      if (fork?.[1] && fork[2]) parentOf.set(fork[2], fork[1]);
      const exec = /^(\d+)\s+execve\("([^"]+)".*?(= 0|<unfinished \.\.\.>)$/.exec(line);
      if (exec?.[1] && exec[2]) {
        if (exec[3] === '= 0') executed(exec[1], exec[2]);
        else pending.set(exec[1], exec[2]);
      }
      const resumed = /^(\d+)\s+<\.\.\. execve resumed>.*= 0$/.exec(line);
      const path = resumed?.[1] ? pending.get(resumed[1]) : undefined;
      if (resumed?.[1] && path) executed(resumed[1], path);
    }
    const underTimeout = (pid: string): boolean => {
      for (let p = parentOf.get(pid); p; p = parentOf.get(p)) if (programOf.get(p) === 'timeout') return true;
      return false;
    };

    // Act
    const unbounded = execs
      .filter(({ program }) => !['strace', 'env', 'bash', 'timeout'].includes(program))
      .filter(({ pid }) => !underTimeout(pid))
      .map(({ program }) => program);

    // Assert
    expect(execs.map(({ program }) => program)).toEqual(expect.arrayContaining(['date', 'awk', 'curl', 'stat']));
    expect(unbounded).toEqual([]);
  });

  it('opens nothing for writing but /dev/null and its own pipes, and creates, renames or deletes nothing', () => {
    // Arrange
    const writeFlags = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/;

    // Act
    const writes = calls.filter(
      (line) =>
        /\bopen(at)?\(/.test(line) &&
        writeFlags.test(line) &&
        !/"\/dev\/null"|"\/dev\/fd\/\d+"|"\/dev\/tty".*ENXIO/.test(line),
    );
    const changes = calls.filter((line) => /\b(creat|mkdir(at)?|unlink(at)?|rename(at2?)?|truncate)\(/.test(line));

    // Assert
    expect(writes).toEqual([]);
    expect(changes).toEqual([]);
  });

  it('never locks a file: no flock() and no fcntl lock calls', () => {
    // Arrange, Act
    const locks = calls.filter((line) => /\bflock\(|F_SETLKW?|F_OFD_SETLKW?/.test(line));

    // Assert
    expect(locks).toEqual([]);
  });

  it('prints the hostile texts as escaped JSON data, falls back on bad settings, and leaves the rules as they were', async () => {
    // Arrange, Act: the run above

    // Assert
    expect(section(run, 'lock')).toMatchObject({ path: lockFile, samples: 20, busy: 0 });
    expect(section(run, 'logs')).toMatchObject({ windowHours: 24, kubeProxyLockErrors: 1 });
    expect(section(run, 'awsNode').version).toBe('v1.2.3');
    expect(run.json.errors).toEqual(
      expect.arrayContaining([
        'lock: FLEET_AUDIT_LOCK_SAMPLES ignored (want 1..200)',
        'logs: FLEET_AUDIT_LOG_WINDOW_HOURS ignored (want hours, more than 0 and up to 720)',
      ]),
    );
    expect(await savedRuleset(netns, 'legacy')).toBe(before);
  });
});
