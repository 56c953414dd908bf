/**
 * Chaos run: two nights of the fleet benchmark's fleet in one store, each through the deployed AuditRun (the hub
 * stack synthesized, its ASL executed by sim/states/ with the real handlers in-process on the local Lambda service,
 * against the loopback simulator and dynalite), the first clean, the second with faults on every part (the
 * simulator's fault kinds, docs/simulator-faults.md) and one Lambda invocation killed mid-step; then what the
 * second night lost (bench/chaos-nights.ts):
 *
 *   npm run chaos [-- --clusters 100 --nodes 200 --time-scale 0.1 --concurrency 8 --json]
 *
 * Faults of the second night: 30 % throttling on every API, 5xx bursts (the first 3 calls of EKS, SSM and Logs,
 * then 2 % of every API's), 10 % of each cluster's nodes offline in SSM, command time-outs and truncated outputs (a
 * node of each), one failed Logs Insights query per region, one cluster whose DescribeCluster always fails, and the
 * Report invocation killed as a Lambda process that exits is (errorType Runtime.ExitError, bench/killed-invocation.ts)
 * after half of the table calls the clean night's Report made before its Publish; what follows is the deployed
 * definition's own Retry/Catch. Nothing in the fleet changes between the nights, so every finding of night 1 should
 * be open or UNKNOWN on night 2:
 *
 * - clustersExpected / clustersReported: clusters of the fleet / those in night 2's stored result (audited or FAILED);
 * - nodeReportsExpected / nodeReportsStored: nodes night 1's stored result read, less those the chaos scenario takes
 *   away and the undescribable cluster's / nodes night 2's stored result counts as read;
 * - findingsLost: night-1 open findings absent from night 2; falseResolved: night-1 findings RESOLVED on night 2;
 * - duplicateDigests: night-2 digest messages the simulator's SNS received more than once (same digest id, subject);
 * - unhandledErrors: uncaught exceptions and unhandled rejections, plus a night whose execution did not succeed or
 *   whose run is stored FAILED or not at all;
 * - killedInvocation: the Report invocation killed, the calls it had completed, and the history events of Report,
 *   RecordRunFailure and RunFailed that followed (a retry, or the run failed).
 */
import { parseArgs } from 'node:util';
import { runChaos } from './chaos-nights.js';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '100' },
    nodes: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
    // real time = simulated time × this; the SDK's retry back-off is real time, so a much smaller scale would
    // shrink the cluster deadline (600 simulated s) below what the retries of a throttled API take
    'time-scale': { type: 'string', default: '0.1' },
  },
});
const shape = {
  clusters: Number(values.clusters),
  nodes: Number(values.nodes),
  clusterConcurrency: Number(values.concurrency),
  timeScale: Number(values['time-scale']),
};
for (const [flag, value] of Object.entries(shape)) {
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`chaos: ${flag} must be a positive number, got ${value}`);
    process.exit(2);
  }
}

let unhandled = 0;
const countUnhandled = (error: unknown) => {
  unhandled += 1;
  process.stderr.write(
    `chaos: unhandled: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
};
process.on('uncaughtException', countUnhandled);
process.on('unhandledRejection', countUnhandled);

const { failedNights, killedInvocation, ...counted } = await runChaos(shape);
const figures = {
  ...counted,
  unhandledErrors: unhandled + failedNights,
  killedInvocation,
};
if (values.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
else {
  for (const [name, value] of Object.entries(figures)) {
    if (name !== 'killedInvocation') console.log(`${name.padEnd(20)} ${JSON.stringify(value)}`);
  }
  if (killedInvocation) {
    const calls = Object.entries(killedInvocation.callsDone).map(([call, n]) => `${call} ×${n}`);
    console.log(`killed: ${killedInvocation.state} invocation ${killedInvocation.requestId} after ${calls.join(', ')}`);
    console.log(`then: ${killedInvocation.stateMachine.join(' → ')}`);
  } else console.log('killed: no invocation');
}
// a chaos run whose kill never came did not test what it says it tested
if (!killedInvocation) {
  process.stderr.write(
    'chaos: no Lambda invocation was killed (the chaos night’s Report ended before half the clusters’ finding ' +
      'states were written): the run does not show a kill mid-step\n',
  );
  process.exitCode = 1;
}
