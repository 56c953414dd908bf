import { mapWithConcurrency } from './concurrency.js';
import type { ReportOutput } from './report.js';
import type { ClusterOutcome, ClusterTask, DiscoveryState, PollResult, RunPlan } from './steps.js';

/** The steps the runner drives; the real ones are in steps.ts and report.ts. */
export interface WorkflowSteps {
  plan(): Promise<RunPlan>;
  discover(task: ClusterTask): Promise<DiscoveryState>;
  poll(state: DiscoveryState): Promise<PollResult>;
  assess(state: DiscoveryState): Promise<ClusterOutcome>;
  recordFailure(task: ClusterTask, error: unknown): Promise<ClusterOutcome>;
  report(plan: RunPlan): Promise<ReportOutput>;
}

export interface RunnerOptions {
  /** the Map state's MaxConcurrency */
  clusterConcurrency: number;
  pollIntervalMs: number;
  /** the Wait state; injected so local runs and tests control time */
  sleep: (ms: number) => Promise<void>;
}

/**
 * Runs an audit the way the state machine does (ARCHITECTURE §2): plan, then a Map over clusters with a
 * concurrency cap — discover, Wait, poll, repeated until poll says done (it enforces the deadline), assess — with
 * a Catch that records the cluster as failed so the run goes on; then report.
 */
export async function runWorkflow(steps: WorkflowSteps, options: RunnerOptions): Promise<ReportOutput> {
  const plan = await steps.plan();
  await mapWithConcurrency(plan.clusters, options.clusterConcurrency, async (task) => {
    try {
      const state = await steps.discover(task);
      for (;;) {
        await options.sleep(options.pollIntervalMs);
        if ((await steps.poll(state)).done) break;
      }
      return await steps.assess(state);
    } catch (error) {
      return steps.recordFailure(task, error);
    }
  });
  return steps.report(plan);
}
