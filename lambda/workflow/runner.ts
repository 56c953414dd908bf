import { mapWithConcurrency } from '#aws/concurrency.js';
import { isTransientFailure } from '#aws/errors.js';
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
  /**
   * the first wait before a cluster step is run again after a transient AWS failure (the state machine's Retry:
   * 5 s against its 30 s Wait, doubling, three times); default a sixth of `pollIntervalMs`
   */
  retryIntervalMs?: number;
  observer?: RunObserver;
}

/** Retries of a cluster step after a transient AWS failure, as the state machine's Retry (MaxAttempts 3). */
const TRANSIENT_RETRIES = 3;

/**
 * Runs an audit the way the state machine does (docs/operations.md, The state machine): plan, then a Map over clusters with a
 * concurrency cap — discover, Wait, poll, repeated until poll says done (it enforces the deadline), assess — with
 * a Catch that records the cluster as failed so the run goes on; then report.
 */
export async function runWorkflow(steps: WorkflowSteps, options: RunnerOptions): Promise<ReportOutput> {
  const observer = options.observer ?? {};
  const plan = await steps.plan();
  observer.planned?.(plan);
  const retryMs = options.retryIntervalMs ?? options.pollIntervalMs / 6;
  // the cluster steps' Retry on a transient AWS failure (TRANSIENT_STEP_ERRORS), three more attempts
  const retried = async <T>(step: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        if (attempt === TRANSIENT_RETRIES || !isTransientFailure(error)) throw error;
        await options.sleep(retryMs * 2 ** attempt);
      }
    }
  };
  await mapWithConcurrency(plan.clusters, options.clusterConcurrency, async (task) => {
    let outcome: ClusterOutcome;
    try {
      const state = await retried(() => steps.discover(task));
      observer.discovered?.(state);
      for (;;) {
        await options.sleep(options.pollIntervalMs);
        const polled = await retried(() => steps.poll(state));
        observer.polled?.(state, polled);
        if (polled.done) break;
      }
      outcome = await retried(() => steps.assess(state));
    } catch (error) {
      outcome = await steps.recordFailure(task, error);
    }
    observer.clusterDone?.(outcome);
    return outcome;
  });
  return steps.report(plan);
}
