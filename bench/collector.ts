/**
 * `npm run bench:collector`: the collector's CPU cost against one iptables-legacy-save of the same ruleset.
 *
 * Loads the generated 1,000-Service kube-proxy ruleset (test/collector/kube-ruleset.ts) into iptables-legacy
 * in a network namespace of its own, then runs, alternately, the whole collector (its default 20 lock samples
 * over 2 s; nothing listening on the metrics or IMDS addresses, which are on the loopback) and one
 * iptables-legacy-save, each inside `bash -c '...; times'`, so user+sys CPU includes every child process.
 * Prints the medians and their ratio (goal: at most 2). A denser 1,000-Service ruleset (up to 18 endpoints a
 * Service) is measured the same way, for scale. Needs root, iproute2 and iptables; removes what it made.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { generateKubeRuleset, type KubeRulesetOptions } from '../test/collector/kube-ruleset.js';

const run = promisify(execFile);
const RUNS = 9;
const repoRoot = resolve(import.meta.dirname, '..');
const collectorPath = join(repoRoot, 'collector/collect.sh');
const CLOSED_URL = 'http://127.0.0.1:1';

interface Sample {
  cpuMs: number;
  wallMs: number;
}

/** Runs `command` under bash in the namespace; CPU is the children's user+sys that `times` reports. */
async function measure(netns: string, command: string): Promise<Sample> {
  const started = performance.now();
  const { stdout } = await run('ip', ['netns', 'exec', netns, 'bash', '-c', `${command} >/dev/null 2>&1; times`]);
  const wallMs = performance.now() - started;
  const children = stdout.trim().split('\n').at(-1) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (seconds.length !== 2) throw new Error(`unexpected times output: ${stdout}`);
  return { cpuMs: ((seconds[0] ?? 0) + (seconds[1] ?? 0)) * 1000, wallMs };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

interface Result {
  label: string;
  rules: number;
  collectorCpuMs: number;
  collectorWallMs: number;
  saveCpuMs: number;
  ratio: number;
}

async function benchRuleset(label: string, options: KubeRulesetOptions, dir: string): Promise<Result> {
  const netns = `fa-bench-${Math.random().toString(16).slice(2, 10)}`;
  const lockFile = join(dir, `${netns}.lock`);
  const emptyRoot = join(dir, 'empty-root');
  const ruleset = generateKubeRuleset(options);
  await run('ip', ['netns', 'add', netns]);
  try {
    const restore = run('ip', [
      'netns',
      'exec',
      netns,
      'env',
      `XTABLES_LOCKFILE=${lockFile}`,
      'iptables-legacy-restore',
      '-w',
      '5',
    ]);
    restore.child.stdin?.end(ruleset.text);
    await restore;
    const env = [
      `PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
      `XTABLES_LOCKFILE=${lockFile}`,
      `FLEET_AUDIT_ROOT=${emptyRoot}`,
      `FLEET_AUDIT_KUBE_PROXY_URL=${CLOSED_URL}`,
      `FLEET_AUDIT_IPAMD_URL=${CLOSED_URL}`,
      `FLEET_AUDIT_IMDS_URL=${CLOSED_URL}`,
    ].map((pair) => `'${pair}'`);
    const collector = `env -i ${env.join(' ')} bash '${collectorPath}'`;
    const collectorSamples: Sample[] = [];
    const saveSamples: Sample[] = [];
    // one warm-up of each, then alternate so drift on a shared machine hits both alike
    await measure(netns, collector);
    await measure(netns, 'iptables-legacy-save');
    for (let i = 0; i < RUNS; i += 1) {
      collectorSamples.push(await measure(netns, collector));
      saveSamples.push(await measure(netns, 'iptables-legacy-save'));
    }
    const collectorCpuMs = median(collectorSamples.map((s) => s.cpuMs));
    const saveCpuMs = median(saveSamples.map((s) => s.cpuMs));
    return {
      label,
      rules: ruleset.expected.rules.total,
      collectorCpuMs,
      collectorWallMs: median(collectorSamples.map((s) => s.wallMs)),
      saveCpuMs,
      ratio: collectorCpuMs / saveCpuMs,
    };
  } finally {
    await run('ip', ['netns', 'del', netns]).catch(() => undefined);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'fa-bench-collector-'));
try {
  const results = [
    await benchRuleset('1,000 Services (test ruleset: 1-3 endpoints)', { services: 1000 }, dir),
    await benchRuleset('1,000 Services, dense (1-18 endpoints)', { services: 1000, maxEndpoints: 18 }, dir),
  ];
  const { stdout: awkVersion } = await run('bash', [
    '-c',
    'awk --version 2>&1 | head -1 || awk -W version 2>&1 | head -1',
  ]);
  console.log(`collector CPU vs one iptables-legacy-save (median of ${RUNS}; awk: ${awkVersion.trim()})`);
  console.log(
    'ruleset                                          | -A rules | collector CPU | collector wall | save CPU | ratio',
  );
  for (const r of results) {
    console.log(
      `${r.label.padEnd(48)} | ${String(r.rules).padStart(8)} | ${r.collectorCpuMs.toFixed(0).padStart(10)} ms | ${r.collectorWallMs.toFixed(0).padStart(11)} ms | ${r.saveCpuMs.toFixed(0).padStart(5)} ms | ${r.ratio.toFixed(2)}`,
    );
  }
  const primary = results[0];
  if (primary) {
    console.log(`ratio on the 1,000-Service ruleset: ${primary.ratio.toFixed(2)} (goal <= 2)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
