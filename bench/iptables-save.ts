/**
 * `npm run bench:iptables-save`: how much slower an iptables-nft save of a kube-proxy ruleset is than an
 * iptables-legacy save of the same ruleset. IPT-SLOW-SYNC's nft thresholds rest on that ratio.
 *
 *   npm run bench:iptables-save [-- --runs 11 --services 1000,5000]
 *
 * For each size it generates the realistic kube-proxy ruleset of bench/collector.ts (every Service with 1-18
 * endpoints, 9.5 on average; test/collector/kube-ruleset.ts), loads it into iptables-legacy in one network
 * namespace and into iptables-nft in another (both made here, with a private XTABLES_LOCKFILE; both removed at
 * the end), checks that both saves list the same number of rules, then times `iptables-legacy-save` and
 * `iptables-nft-save` alternately (one warm-up each), output to /dev/null, and prints the median wall time and
 * CPU (user+sys, bench/measure.ts) of each with quartiles, and the nft/legacy ratio of the medians, of wall and
 * of CPU. Needs root, iproute2, util-linux (nsenter) and iptables 1.8 with both backends.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { type Backend, createNetns, deleteNetns, loadRuleset } from '../test/collector/harness.js';
import { generateKubeRuleset } from '../test/collector/kube-ruleset.js';
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
  type Sample,
} from './measure.js';

const run = promisify(execFile);
const BACKENDS: readonly Backend[] = ['legacy', 'nft'];

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '11' }, services: { type: 'string', default: '1000,5000' } },
});
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 5) throw new Error('--runs: at least 5');
const SIZES = values.services.split(',').map(Number);
if (SIZES.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--services: a comma-separated list of counts');

/** `-A` lines in a backend's save: both backends must hold the whole ruleset before they are compared. */
async function savedRules(netns: string, backend: Backend): Promise<number> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, `iptables-${backend}-save`], {
    maxBuffer: 512 * 1024 * 1024,
  });
  return stdout.split('\n').filter((line) => line.startsWith('-A ')).length;
}

interface SizeResult {
  services: number;
  rules: number;
  chains: number;
  loadMs: Record<Backend, number>;
  samples: Record<Backend, Sample[]>;
}

async function benchSize(services: number, dir: string, accounting: Accounting): Promise<SizeResult> {
  const ruleset = generateKubeRuleset({ services, maxEndpoints: 18, noEndpointsEvery: Number.MAX_SAFE_INTEGER });
  const expected = ruleset.expected.rules.total;
  const namespaces: Partial<Record<Backend, string>> = {};
  try {
    const loadMs = { legacy: 0, nft: 0 };
    for (const backend of BACKENDS) {
      const netns = await createNetns();
      namespaces[backend] = netns;
      const started = performance.now();
      await loadRuleset(netns, backend, ruleset.text, join(dir, `${netns}.lock`));
      loadMs[backend] = performance.now() - started;
      const saved = await savedRules(netns, backend);
      if (saved !== expected) throw new Error(`iptables-${backend}-save lists ${saved} rules, ${expected} loaded`);
    }
    const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
    const samples: Record<Backend, Sample[]> = { legacy: [], nft: [] };
    const once = (backend: Backend) =>
      measure(namespaces[backend] ?? '', accounting, `iptables-${backend}-save`, {
        ...env,
        XTABLES_LOCKFILE: join(dir, `${namespaces[backend]}.lock`),
      });
    for (const backend of BACKENDS) await once(backend);
    for (let i = 0; i < RUNS; i += 1) {
      // alternate, and swap who goes first each round, so drift on a shared machine hits both alike
      for (const backend of i % 2 === 0 ? BACKENDS : [...BACKENDS].reverse())
        samples[backend].push(await once(backend));
    }
    const { nat, filter, mangle } = ruleset.expected.chains;
    return { services, rules: expected, chains: nat + filter + mangle, loadMs, samples };
  } finally {
    for (const netns of Object.values(namespaces)) await deleteNetns(netns);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'fa-bench-save-'));
const accounting = makeAccounting();
try {
  const loadBefore = loadavg();
  const results: SizeResult[] = [];
  for (const services of SIZES) results.push(await benchSize(services, dir, accounting));
  const loadAfter = loadavg();
  const tools = await Promise.all([
    firstLine('iptables-legacy-save --version'),
    firstLine('iptables-nft-save --version'),
  ]);
  console.log(`date: ${new Date().toISOString()}`);
  console.log(
    `machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), kernel ${release()}; load average before ${formatLoad(loadBefore)}, after ${formatLoad(loadAfter)}`,
  );
  console.log(`tools: ${tools.join('; ')}`);
  console.log(
    `one save to /dev/null; CPU (user+sys) by ${accountingLabel(accounting)}; median of ${RUNS} runs [quartiles]`,
  );
  console.log(
    'Services | -A rules | chains | backend | load (restore) | save wall              | save CPU               ',
  );
  const summary: string[] = [];
  for (const r of results) {
    for (const backend of BACKENDS) {
      const s = r.samples[backend];
      console.log(
        `${String(r.services).padStart(8)} | ${String(r.rules).padStart(8)} | ${String(r.chains).padStart(6)} | ${backend.padEnd(7)} | ${(r.loadMs[backend] / 1000).toFixed(2).padStart(12)} s | ${medianWithQuartiles(s.map((x) => x.wallMs)).padStart(22)} | ${medianWithQuartiles(s.map((x) => x.cpuMs)).padStart(22)}`,
      );
    }
    const median = (backend: Backend, key: keyof Sample) =>
      quantile(
        r.samples[backend].map((x) => x[key]),
        0.5,
      );
    const wallRatio = median('nft', 'wallMs') / median('legacy', 'wallMs');
    const cpuRatio = median('nft', 'cpuMs') / median('legacy', 'cpuMs');
    summary.push(
      `${r.services} Services (${r.rules} rules): nft/legacy save ratio, wall ${wallRatio.toFixed(2)}, CPU ${cpuRatio.toFixed(2)}`,
    );
  }
  for (const line of summary) console.log(line);
} finally {
  removeAccounting(accounting);
  rmSync(dir, { recursive: true, force: true });
}
