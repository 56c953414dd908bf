/**
 * `npm run bench:collector`: the collector's CPU cost against one iptables-save of the same ruleset, its wall
 * time, and its output size.
 *
 *   npm run bench:collector [-- --runs 15 --baseline path/to/older/collect.sh]
 *
 * Generated 1,000-Service kube-proxy rulesets (test/collector/kube-ruleset.ts), each loaded in a network
 * namespace of its own:
 *   - sparse, in iptables-legacy: the collector tests' ruleset (1-3 endpoints a Service, one Service in ten
 *     without any), 8,259 rules;
 *   - realistic, in iptables-legacy: every Service with 1-18 endpoints (9.5 on average), 31,405 rules in 10,460
 *     KUBE-SVC/KUBE-SEP chains: kube-proxy's iptables mode writes one KUBE-SVC chain per Service port with
 *     endpoints and one KUBE-SEP chain per endpoint (pkg/proxy/iptables/proxier.go, syncProxyRules);
 *   - realistic, in iptables-nft, as on an Amazon Linux 2023 node; its save is iptables-nft-save.
 * In each namespace it runs, alternately, the whole collector (its default 20 lock samples over 2 s on an
 * existing, unheld lock file; nothing listening on the metrics or IMDS addresses, which are on the loopback; no
 * pod logs) and one save of that backend, and prints the medians and their ratio (goal: at most 2), the median
 * of each collector run over the save right after it ("paired"), the collector's wall time (goal: under 15 s)
 * and the largest output it printed (limit 2,400 bytes). It then runs the collector once more on the worst
 * output case of test/collector/output.test.ts (every section failing, every hook invalid, a 64-character
 * hostname of quotes, a lock path of quotes) and prints that output's size. With --baseline, that script is
 * run too, in the same alternation, so a before/after comparison sees the same machine load. The collector
 * starts with only PATH and its hook variables in its environment, as SSM starts it.
 *
 * CPU is user+sys of the command and everything it starts (bench/measure.ts). Needs root, iproute2,
 * util-linux (nsenter, unshare) and iptables (legacy and nft); removes what it made.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { createNetns, deleteNetns, loadRuleset } from '../test/collector/harness.js';
import { generateKubeRuleset, type KubeRulesetOptions } from '../test/collector/kube-ruleset.js';
import {
  type Accounting,
  accountingLabel,
  firstLine,
  formatLoad,
  makeAccounting,
  measure,
  medianWithQuartiles,
  quantile,
  removeAccounting,
} from './measure.js';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '..');
const CLOSED_URL = 'http://127.0.0.1:1';
const MAX_BYTES = 2400;

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, baseline: { type: 'string' } },
});
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 9) throw new Error('--runs: at least 9');
const collectors = [{ name: 'collector', path: join(repoRoot, 'collector/collect.sh') }];
if (values.baseline) collectors.push({ name: 'baseline', path: resolve(values.baseline) });

const REALISTIC: KubeRulesetOptions = { services: 1000, maxEndpoints: 18, noEndpointsEvery: Number.MAX_SAFE_INTEGER };
const RULESETS: ReadonlyArray<{ label: string; backend: 'legacy' | 'nft'; options: KubeRulesetOptions }> = [
  { label: 'sparse, legacy: 1-3 endpoints', backend: 'legacy', options: { services: 1000 } },
  { label: 'realistic, legacy: 1-18 endpoints', backend: 'legacy', options: REALISTIC },
  { label: 'realistic, nft: 1-18 endpoints', backend: 'nft', options: REALISTIC },
];

interface Row {
  ruleset: string;
  rules: number;
  collector: string;
  cpu: number[];
  wall: number[];
  save: number[];
  bytes: number[];
}

/** The hook variables every run gets: a private lock file, an empty log root, closed loopback addresses. */
function collectorEnv(lockFile: string, emptyRoot: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    XTABLES_LOCKFILE: lockFile,
    FLEET_AUDIT_ROOT: emptyRoot,
    FLEET_AUDIT_KUBE_PROXY_URL: CLOSED_URL,
    FLEET_AUDIT_IPAMD_URL: CLOSED_URL,
    FLEET_AUDIT_IMDS_URL: CLOSED_URL,
  };
}

async function benchRuleset(ruleset: (typeof RULESETS)[number], dir: string, accounting: Accounting): Promise<Row[]> {
  const netns = await createNetns();
  const lockFile = join(dir, `${netns}.lock`);
  const output = join(dir, `${netns}.out`);
  const generated = generateKubeRuleset(ruleset.options);
  try {
    // aws-node creates the lock file on every node (a FileOrCreate hostPath), iptables-nft nodes too
    writeFileSync(lockFile, '', { mode: 0o600 });
    await loadRuleset(netns, ruleset.backend, generated.text, lockFile);
    const env = collectorEnv(lockFile, join(dir, 'empty-root'));
    const commands = collectors.map(({ path }) => `bash '${path}'`);
    const save = `iptables-${ruleset.backend}-save`;
    const rows: Row[] = collectors.map(({ name }) => ({
      ruleset: ruleset.label,
      rules: generated.expected.rules.total,
      collector: name,
      cpu: [],
      wall: [],
      save: [],
      bytes: [],
    }));
    // one warm-up of each, then alternate so drift on a shared machine hits all alike
    for (const command of [...commands, save]) await measure(netns, accounting, command, env);
    for (let i = 0; i < RUNS; i += 1) {
      for (const [index, command] of commands.entries()) {
        const row = rows[index];
        if (!row) continue;
        const sample = await measure(netns, accounting, command, env, output);
        row.cpu.push(sample.cpuMs);
        row.wall.push(sample.wallMs);
        row.bytes.push(statSync(output).size);
        row.save.push((await measure(netns, accounting, save, env)).cpuMs);
      }
    }
    return rows;
  } finally {
    await deleteNetns(netns);
  }
}

/** The output size of one run on test/collector/output.test.ts's worst case, in a namespace with no rules. */
async function worstCaseBytes(path: string, dir: string): Promise<number> {
  const netns = await createNetns();
  try {
    // a lock path of quotes that does not exist, as in the test
    const env = {
      ...collectorEnv(join(dir, '"'.repeat(120), 'xtables.lock'), join(dir, 'empty-root')),
      FLEET_AUDIT_LOCK_SAMPLES: 'many',
      FLEET_AUDIT_LOCK_WINDOW_MS: 'long',
      FLEET_AUDIT_LOG_WINDOW_HOURS: 'a day',
    };
    const hostname = `ip-10-0-1-10"\\${'"'.repeat(50)}`;
    const { stdout } = await run(
      'ip',
      [
        ...['netns', 'exec', netns, 'unshare', '--uts', 'sh', '-c'],
        'printf %s "$0" > /proc/sys/kernel/hostname; exec "$@"',
        ...[hostname, 'bash', path],
      ],
      { env },
    );
    return Buffer.byteLength(stdout);
  } finally {
    await deleteNetns(netns);
  }
}

/** Which collector a path holds: its output schema and, for the repository's own, the commit. */
async function collectorVersion(path: string): Promise<string> {
  const schema = /"schema":"(fleet-audit\.collector\/v\d+)"/.exec(readFileSync(path, 'utf8'))?.[1] ?? 'schema ?';
  if (resolve(path) !== join(repoRoot, 'collector/collect.sh')) return schema;
  const git = (args: string[]) =>
    run('git', ['-C', repoRoot, ...args]).then(
      ({ stdout }) => stdout.trim(),
      () => '',
    );
  const commit = await git(['log', '-1', '--format=%h %cs', '--', 'collector/collect.sh']);
  const dirty = (await git(['status', '--porcelain', '--', 'collector/collect.sh'])) ? ', changed since' : '';
  return `${schema} (collector/collect.sh of ${commit || '?'}${dirty})`;
}

const dir = mkdtempSync(join(tmpdir(), 'fa-bench-collector-'));
const accounting = makeAccounting();
try {
  mkdirSync(join(dir, 'empty-root'));
  const loadBefore = loadavg();
  const rows: Row[] = [];
  for (const ruleset of RULESETS) rows.push(...(await benchRuleset(ruleset, dir, accounting)));
  const worst = [];
  for (const { name, path } of collectors) worst.push({ name, bytes: await worstCaseBytes(path, dir) });
  const loadAfter = loadavg();
  const tools = await Promise.all([
    firstLine('bash --version'),
    firstLine('{ awk --version || awk -W version; }'),
    firstLine('iptables-legacy-save --version'),
    firstLine('iptables-nft-save --version'),
    firstLine("curl --version | cut -d' ' -f1,2"),
  ]);
  const model = cpus()[0]?.model ?? '?';
  console.log(`date: ${new Date().toISOString()}`);
  for (const { name, path } of collectors) console.log(`${name}: ${await collectorVersion(path)}`);
  console.log(
    `machine: ${cpus().length} CPUs (${model}); load average before ${formatLoad(loadBefore)}, after ${formatLoad(loadAfter)}`,
  );
  console.log(`tools: ${tools.join('; ')}`);
  console.log(`CPU (user+sys, all descendants) by ${accountingLabel(accounting)}; median of ${RUNS} runs [quartiles]`);
  console.log(
    'ruleset                            | -A rules | script     | collector CPU          | save CPU            | ratio | paired | wall   | largest output',
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
    const wall = quantile(r.wall, 0.5) / 1000;
    const bytes = Math.max(...r.bytes);
    console.log(
      `${r.ruleset.padEnd(34)} | ${String(r.rules).padStart(8)} | ${r.collector.padEnd(10)} | ${medianWithQuartiles(r.cpu).padStart(22)} | ${medianWithQuartiles(saves).padStart(19)} | ${ratio.toFixed(2).padStart(5)} | ${paired.toFixed(2).padStart(6)} | ${wall.toFixed(2)} s | ${bytes} bytes`,
    );
    if (r.collector === 'collector') {
      summary.push(
        `${r.ruleset}: ratio ${ratio.toFixed(2)} (goal <= 2${ratio > 2 ? ', MISSED' : ''}); wall ${wall.toFixed(2)} s (goal < 15 s${wall >= 15 ? ', MISSED' : ''}); largest output ${bytes} bytes (limit ${MAX_BYTES}${bytes > MAX_BYTES ? ', EXCEEDED' : ''})`,
      );
    }
  }
  for (const { name, bytes } of worst) {
    summary.push(
      `${name}, worst output case (output.test.ts): ${bytes} bytes (limit ${MAX_BYTES}${bytes > MAX_BYTES ? ', EXCEEDED' : ''})`,
    );
  }
  for (const line of summary) console.log(line);
} finally {
  removeAccounting(accounting);
  rmSync(dir, { recursive: true, force: true });
}
