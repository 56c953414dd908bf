import { mapWithConcurrency } from '#aws/concurrency.js';
import type { DiscoveryState } from './discovery-state.js';
import type { ReportOutput } from './report.js';
import type { ClusterOutcome, ClusterTask, PollResult, RunPlan } from './steps.js';

/** The steps the runner drives; the real ones are in steps.ts and report.ts. */
export interface WorkflowSteps {
  plan(): Promise<RunPlan>;
  discover(task: ClusterTask): Promise<DiscoveryState>;
  poll(state: DiscoveryState): Promise<PollResult>;
  assess(state: DiscoveryState): Promise<ClusterOutcome>;
  recordFailure(task: ClusterTask, error: unknown): Promise<ClusterOutcome>;
  report(plan: RunPlan): Promise<ReportOutput>;
}

/**
 * What a run tells its caller as it goes, e.g. the CLI's progress line. Every event is optional and must not throw;
 * the events are the state machine's task results (Plan, Discover, Poll, Assess or RecordFailure), so any runner of
 * the workflow can send them.
 */
export interface RunObserver {
  /** the clusters to audit are known */
  planned?(plan: RunPlan): void;
  /** a cluster was discovered: its nodes are counted (`state.nodes`) and the collector was sent */
  discovered?(state: DiscoveryState): void;
  /** a poll of a cluster came back */
  polled?(state: DiscoveryState, result: PollResult): void;
  /** a cluster is finished: assessed, or recorded as failed */
  clusterDone?(outcome: ClusterOutcome): void;
}

export interface RunnerOptions {
  /** the Map state's MaxConcurrency */
  clusterConcurrency: number;
  pollIntervalMs: number;
  /** the Wait state; injected so local runs and tests control time */
  sleep: (ms: number) => Promise<void>;
  observer?: RunObserver;
}

/**
 * Runs an audit the way the state machine does (docs/operations.md, The state machine): plan, then a Map over clusters with a
 * concurrency cap — discover, Wait, poll, repeated until poll says done (it enforces the deadline), assess — with
 * a Catch that records the cluster as failed so the run goes on; then report.
 */
export async function runWorkflow(steps: WorkflowSteps, options: RunnerOptions): Promise<ReportOutput> {
  const observer = options.observer ?? {};
  const plan = await steps.plan();
  observer.planned?.(plan);
  await mapWithConcurrency(plan.clusters, options.clusterConcurrency, async (task) => {
    let outcome: ClusterOutcome;
    try {
      const state = await steps.discover(task);
      observer.discovered?.(state);
      for (;;) {
        await options.sleep(options.pollIntervalMs);
        const polled = await steps.poll(state);
        observer.polled?.(state, polled);
        if (polled.done) break;
      }
      outcome = await steps.assess(state);
    } catch (error) {
      outcome = await steps.recordFailure(task, error);
    }
    observer.clusterDone?.(outcome);
    return outcome;
  });
  return steps.report(plan);
}
