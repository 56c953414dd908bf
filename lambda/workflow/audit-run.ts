import { report } from './report.js';
import { type RunnerOptions, runWorkflow, type WorkflowSteps } from './runner.js';
import { assess, discover, messageOf, plan, poll, recordFailure, type StepDeps } from './steps.js';

/**
 * The real steps bound to their dependencies. `warn` gets one line for each cluster whose log query could not start
 * (the concurrent-query quota in use, a denied call, …): the cluster is audited, its log signals are unknown; one
 * for each cluster some of whose nodes answered with output that is not a report; and one for each cluster that
 * could not be audited at all (its findings stay UNKNOWN, the run goes on).
 */
export function auditSteps(
  deps: StepDeps,
  input: { runId?: string; warn?: (line: string) => void } = {},
): WorkflowSteps {
  return {
    plan: () => plan(deps, { runId: input.runId }),
    discover: async (task) => {
      const state = await discover(task, deps);
      // A missing log group is the cluster's own evidence (its report says so); a query that could not start is
      // the account's problem (quota, permission) and worth a line while the run goes on.
      if (state.queryProblem && !state.logGroupMissing) input.warn?.(state.queryProblem);
      if (state.addonProblem)
        input.warn?.(`cluster ${state.account}/${state.region}/${state.name}: ${state.addonProblem}`);
      return state;
    },
    poll: (state) => poll(state, deps),
    assess: async (state) => {
      const outcome = await assess(state, deps);
      if (outcome.warning) input.warn?.(outcome.warning);
      return outcome;
    },
    recordFailure: (task, error) => {
      // the first line only: an SDK error's message may carry a raw response body
      const why = messageOf(error).split('\n')[0];
      input.warn?.(`cluster ${task.account}/${task.region}/${task.name} not audited: ${why}`);
      return recordFailure(task, error, deps);
    },
    report: (runPlan) => report(runPlan, deps),
  };
}

/** One whole audit run in-process, with the settings' concurrency and poll interval. */
export function runAudit(
  deps: StepDeps,
  options: Partial<Pick<RunnerOptions, 'sleep' | 'pollIntervalMs' | 'observer'>> & {
    runId?: string;
    warn?: (line: string) => void;
  } = {},
) {
  return runWorkflow(auditSteps(deps, { runId: options.runId, warn: options.warn }), {
    clusterConcurrency: deps.settings.clusterConcurrency,
    pollIntervalMs: options.pollIntervalMs ?? deps.settings.pollIntervalSeconds * 1000,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    ...(options.observer && { observer: options.observer }),
  });
}
