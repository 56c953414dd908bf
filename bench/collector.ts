/**
 * `npm run bench:collector`: the collector's CPU cost against one iptables-legacy-save of the same ruleset.
 *
 *   npm run bench:collector [-- --runs 15 --baseline path/to/older/collect.sh]
 *
 * Two generated 1,000-Service kube-proxy rulesets (test/collector/kube-ruleset.ts), each loaded into
 * iptables-legacy in a network namespace of its own:
 *   - sparse: the collector tests' ruleset (1-3 endpoints a Service, one Service in ten without any), 8,259 rules;
 *   - realistic: every Service with 1-18 endpoints (9.5 on average), 31,405 rules in 10,460 KUBE-SVC/SEP chains,
 *     the chain count the toolchain research measured for 1,000 Services (30,395 rules there).
 * In each namespace it runs, alternately, the whole collector (its default 20 lock samples over 2 s; nothing
 * listening on the metrics or IMDS addresses, which are on the loopback; no pod logs) and one
 * iptables-legacy-save, and prints the medians and their ratio (goal: at most 2), and the median of each
 * collector run over the save right after it ("paired"). With --baseline, that script is run too, in the same
 * alternation, so a before/after comparison sees the same machine load. The collector starts with only PATH
 * and its hook variables in its environment, as SSM starts it (no `env -i` process in the measurement).
 *
 * CPU is user+sys of the command and everything it starts. Where the bench can make a cgroup (v1 cpuacct or
 * v2), that is the cgroup's usage, which also counts a descendant whose parent did not wait for it; otherwise
 * bash's `times` for its children. Needs root, iproute2, util-linux (nsenter) and iptables; removes what it made.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { generateKubeRuleset, type KubeRulesetOptions } from '../test/collector/kube-ruleset.js';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '..');
const CLOSED_URL = 'http://127.0.0.1:1';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, baseline: { type: 'string' } },
});
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 9) throw new Error('--runs: at least 9');
const collectors = [{ name: 'collector', path: join(repoRoot, 'collector/collect.sh') }];
if (values.baseline) collectors.push({ name: 'baseline', path: resolve(values.baseline) });

const RULESETS: ReadonlyArray<{ label: string; options: KubeRulesetOptions }> = [
  { label: 'sparse: test ruleset, 1-3 endpoints', options: { services: 1000 } },
  {
    label: 'realistic: 1-18 endpoints (9.5 avg)',
    options: { services: 1000, maxEndpoints: 18, noEndpointsEvery: Number.MAX_SAFE_INTEGER },
  },
];

/** How CPU is counted: a cgroup's usage file (v1 cpuacct.usage in ns, v2 cpu.stat usage_usec) or `times`. */
type Accounting = { kind: 'cgroup-v1' | 'cgroup-v2'; dir: string } | { kind: 'times' };

function makeAccounting(): Accounting {
  const name = `fa-bench-${Math.random().toString(16).slice(2, 10)}`;
  const candidates: Array<{ kind: 'cgroup-v1' | 'cgroup-v2'; root: string; probe: string }> = [
    { kind: 'cgroup-v1', root: '/sys/fs/cgroup/cpuacct', probe: 'cpuacct.usage' },
    { kind: 'cgroup-v2', root: '/sys/fs/cgroup', probe: 'cgroup.controllers' },
    { kind: 'cgroup-v2', root: '/sys/fs/cgroup/unified', probe: 'cgroup.controllers' },
  ];
  for (const { kind, root, probe } of candidates) {
    if (!existsSync(join(root, probe))) continue;
    const dir = join(root, name);
    try {
      mkdirSync(dir);
    } catch {
      continue;
    }
    const usage = join(dir, kind === 'cgroup-v1' ? 'cpuacct.usage' : 'cpu.stat');
    if (existsSync(usage)) return { kind, dir };
    rmdirSync(dir);
  }
  return { kind: 'times' };
}

/**
 * The bash text that runs `command` (output discarded) and prints the CPU it used in microseconds. In a
 * cgroup: joins it, reads its usage before and after, and waits (at most 5 s) for anything the command left
 * running to end first, so that is counted too.
 */
function measuringScript(accounting: Accounting, command: string): string {
  if (accounting.kind === 'times') {
    return `${command} >/dev/null 2>&1; times`;
  }
  const { dir } = accounting;
  const usage =
    accounting.kind === 'cgroup-v1'
      ? `read -r u < ${dir}/cpuacct.usage; u=$((u / 1000))`
      : `while read -r k v; do [ "$k" = usage_usec ] && u=$v; done < ${dir}/cpu.stat`;
  return [
    `echo $$ > ${dir}/cgroup.procs`,
    `${usage}; before=$u`,
    `${command} >/dev/null 2>&1`,
    `for ((i = 0; i < 500; i++)); do mapfile -t p < ${dir}/cgroup.procs; [ "\${#p[@]}" -le 1 ] && break; sleep 0.01; done`,
    `${usage}; echo "cpu_us $((u - before)) left \${#p[@]}"`,
  ].join('\n');
}

interface Sample {
  cpuMs: number;
  wallMs: number;
}

/**
 * Runs `command` under bash in the namespace (nsenter: the network namespace only, so /sys stays the host's),
 * with only the given environment: the collector then starts as SSM starts it, without an `env -i` process.
 */
async function measure(
  netns: string,
  accounting: Accounting,
  command: string,
  env: Readonly<Record<string, string>>,
): Promise<Sample> {
  const started = performance.now();
  const { stdout } = await run(
    'nsenter',
    [`--net=/run/netns/${netns}`, 'bash', '-c', measuringScript(accounting, command)],
    { env: { ...env } },
  );
  const wallMs = performance.now() - started;
  if (accounting.kind !== 'times') {
    const match = /cpu_us (\d+) left (\d+)/.exec(stdout);
    if (!match) throw new Error(`unexpected measurement output: ${stdout}`);
    if (Number(match[2]) > 1) console.warn(`warning: processes still running 5 s after: ${command}`);
    return { cpuMs: Number(match[1]) / 1000, wallMs };
  }
  const children = stdout.trim().split('\n').at(-1) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (seconds.length !== 2) throw new Error(`unexpected times output: ${stdout}`);
  return { cpuMs: ((seconds[0] ?? 0) + (seconds[1] ?? 0)) * 1000, wallMs };
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return (sorted[low] ?? 0) + ((sorted[high] ?? 0) - (sorted[low] ?? 0)) * (position - low);
}

interface Row {
  ruleset: string;
  rules: number;
  collector: string;
  cpu: number[];
  wall: number[];
  save: number[];
}

async function benchRuleset(
  label: string,
  options: KubeRulesetOptions,
  dir: string,
  accounting: Accounting,
): Promise<Row[]> {
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
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      XTABLES_LOCKFILE: lockFile,
      FLEET_AUDIT_ROOT: emptyRoot,
      FLEET_AUDIT_KUBE_PROXY_URL: CLOSED_URL,
      FLEET_AUDIT_IPAMD_URL: CLOSED_URL,
      FLEET_AUDIT_IMDS_URL: CLOSED_URL,
    };
    const commands = collectors.map(({ path }) => `bash '${path}'`);
    const save = 'iptables-legacy-save';
    const rows: Row[] = collectors.map(({ name }) => ({
      ruleset: label,
      rules: ruleset.expected.rules.total,
      collector: name,
      cpu: [],
      wall: [],
      save: [],
    }));
    // one warm-up of each, then alternate so drift on a shared machine hits all alike
    for (const command of [...commands, save]) await measure(netns, accounting, command, env);
    for (let i = 0; i < RUNS; i += 1) {
      for (const [index, command] of commands.entries()) {
        const row = rows[index];
        if (!row) continue;
        const sample = await measure(netns, accounting, command, env);
        row.cpu.push(sample.cpuMs);
        row.wall.push(sample.wallMs);
        row.save.push((await measure(netns, accounting, save, env)).cpuMs);
      }
    }
    return rows;
  } finally {
    await run('ip', ['netns', 'del', netns]).catch(() => undefined);
  }
}

async function firstLine(command: string): Promise<string> {
  const { stdout } = await run('bash', ['-c', `${command} 2>&1 | head -1`]).catch(() => ({ stdout: '?' }));
  return stdout.trim();
}

const dir = mkdtempSync(join(tmpdir(), 'fa-bench-collector-'));
const accounting = makeAccounting();
try {
  const loadBefore = loadavg();
  const rows: Row[] = [];
  for (const { label, options } of RULESETS) rows.push(...(await benchRuleset(label, options, dir, accounting)));
  const loadAfter = loadavg();
  const tools = await Promise.all([
    firstLine('bash --version'),
    firstLine('{ awk --version || awk -W version; }'),
    firstLine('iptables-legacy-save --version'),
    firstLine("curl --version | cut -d' ' -f1,2"),
  ]);
  const model = cpus()[0]?.model ?? '?';
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(
    `machine: ${cpus().length} CPUs (${model}); load average before ${load(loadBefore)}, after ${load(loadAfter)}`,
  );
  console.log(`tools: ${tools.join('; ')}`);
  console.log(
    `CPU (user+sys, all descendants) by ${accounting.kind === 'times' ? "bash's times" : `${accounting.kind} accounting`}; median of ${RUNS} runs [quartiles]`,
  );
  const ms = (values: readonly number[]) =>
    `${quantile(values, 0.5).toFixed(1)} [${quantile(values, 0.25).toFixed(0)}-${quantile(values, 0.75).toFixed(0)}] ms`;
  console.log(
    'ruleset                              | -A rules | script     | collector CPU          | save CPU            | ratio | paired | collector wall',
  );
  const summary: string[] = [];
  for (const r of rows) {
    // the save is one command: its samples from every script's alternation make one denominator
    const saves = rows.filter((other) => other.ruleset === r.ruleset).flatMap((other) => other.save);
    const ratio = quantile(r.cpu, 0.5) / quantile(saves, 0.5);
    // each collector run over the save right after it: less sensitive to load that drifts during the bench
    const paired = quantile(
      r.cpu.map((cpu, i) => cpu / (r.save[i] ?? Number.NaN)),
      0.5,
    );
    console.log(
      `${r.ruleset.padEnd(36)} | ${String(r.rules).padStart(8)} | ${r.collector.padEnd(10)} | ${ms(r.cpu).padStart(22)} | ${ms(saves).padStart(19)} | ${ratio.toFixed(2).padStart(5)} | ${paired.toFixed(2).padStart(6)} | ${(quantile(r.wall, 0.5) / 1000).toFixed(2)} s`,
    );
    if (r.collector === 'collector') summary.push(`ratio, ${r.ruleset}: ${ratio.toFixed(2)} (goal <= 2)`);
  }
  for (const line of summary) console.log(line);
} finally {
  if (accounting.kind !== 'times') {
    try {
      rmdirSync(accounting.dir);
    } catch {
      // a process the bench started is still in it: leave it for the kernel to report
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
