/**
 * Fleet benchmark: audits a large simulated fleet in-process — the real steps, adapters and SDK against the
 * loopback simulator, state in dynalite — and prints wall time, peak memory and the API calls made.
 *
 *   npm run bench:fleet [-- --clusters 60 --nodes 20]
 *
 * The fleet is the default scenario's clusters copied until there are `--clusters` of them, each with its node
 * groups scaled to about `--nodes` nodes, on the default scenario's time scale.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openLocalFleet } from '#sim/local-fleet.js';
import { loadScenario } from '#sim/scenario.js';
import { runAudit } from '#workflow/audit-run.js';
import { largeFleet } from './fleet-scenario.js';

const { values } = parseArgs({
  options: { clusters: { type: 'string', default: '60' }, nodes: { type: 'string', default: '20' } },
});
const clusterCount = Number(values.clusters);
const nodesPerCluster = Number(values.nodes);

const scenario = largeFleet(loadScenario('default'), clusterCount, nodesPerCluster);
const stateDir = await mkdtemp(join(tmpdir(), 'fleet-bench-'));
const fleet = await openLocalFleet({ scenario, stateDir, fresh: true, clusters: [] });
try {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const output = await runAudit(fleet.deps, { pollIntervalMs: fleet.pollIntervalMs });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const clusters = output.result.clusters;
  const nodes = clusters.reduce((sum, c) => sum + c.nodes.expected, 0);
  const calls = new Map<string, number>();
  for (const call of fleet.simulator.calls) {
    calls.set(`${call.service}:${call.action}`, (calls.get(`${call.service}:${call.action}`) ?? 0) + 1);
  }
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(`fleet: ${clusters.length} clusters, ${nodes} nodes, time scale ${scenario.timeScale}`);
  console.log(
    `run: ${output.result.status} in ${seconds.toFixed(2)} s (${((seconds * 1000) / nodes).toFixed(2)} ms a node)`,
  );
  console.log(`CPU (auditor, simulator and dynalite share this process): ${cpuSeconds.toFixed(2)} s`);
  console.log(`peak RSS: ${rssMiB.toFixed(0)} MiB`);
  console.log(`API calls: ${fleet.simulator.calls.length}`);
  for (const [api, n] of [...calls].sort((a, b) => b[1] - a[1])) console.log(`  ${api.padEnd(34)} ${n}`);
} finally {
  await fleet.close();
  await rm(stateDir, { recursive: true, force: true });
}
