import { describe, expect, it } from 'vitest';
import { type ChaosFigures, runChaos } from '#bench/chaos-nights.js';

/**
 * The chaos run (bench/chaos.ts) at a small shape: three clusters of 30 nodes, both nights through the deployed
 * AuditRun, the second with every fault and its Report invocation killed mid-step (Runtime.ExitError after it had
 * written part of its finding states). The definition's Retry runs the Report again, and the night loses nothing:
 * a kill that failed the night (the Report's Catch, RecordRunFailure, RunFailed) would leave no cluster reported.
 */
describe('the chaos nights through the executed AuditRun, one Report invocation killed mid-step', () => {
  it('reports every cluster, loses no node report or finding, resolves nothing falsely and sends no digest twice', async () => {
    // Act
    const figures: ChaosFigures = await runChaos({ clusters: 3, nodes: 30, timeScale: 0.1 });

    // Assert
    const { killedInvocation: killed, wallSeconds: _, nights, ...counts } = figures;
    expect(nights).toEqual([
      { execution: 'SUCCEEDED', run: 'PARTIAL', clusters: 3 },
      { execution: 'SUCCEEDED', run: 'PARTIAL', clusters: 3 },
    ]);
    expect(counts).toEqual({
      clustersExpected: 3,
      clustersReported: 3,
      nodeReportsExpected: counts.nodeReportsStored,
      nodeReportsStored: counts.nodeReportsStored,
      nodeReportsShort: [],
      findingsLost: 0,
      falseResolved: 0,
      duplicateDigests: 0,
      failedNights: 0,
    });
    // the two clusters that can be described, each without what the chaos took from its first node group
    expect(counts.nodeReportsStored).toBeGreaterThan(0);
    // the killed invocation had done part of its work: it had written finding states, and published nothing
    expect(killed?.callsDone['store.putFindingState']).toBeGreaterThan(0);
    expect(killed?.callsDone['publisher.publish']).toBeUndefined();
    // the state machine retried the Report (its Retry on Runtime.ExitError), and the retry succeeded
    expect(killed?.stateMachine).toEqual([
      'TaskStateEntered Report',
      'LambdaFunctionScheduled Report',
      'LambdaFunctionStarted Report',
      'LambdaFunctionFailed Report Runtime.ExitError',
      'LambdaFunctionScheduled Report',
      'LambdaFunctionStarted Report',
      'LambdaFunctionSucceeded Report',
      'TaskStateExited Report',
    ]);
  }, 300_000);
});
