import { report } from './report.js';
import { type RunnerOptions, runWorkflow, type WorkflowSteps } from './runner.js';
import { assess, discover, plan, poll, recordFailure, type StepDeps } from './steps.js';

/** The real steps bound to their dependencies. */
export function auditSteps(deps: StepDeps, input: { runId?: string } = {}): WorkflowSteps {
  return {
    plan: () => plan(deps, input),
    discover: (task) => discover(task, deps),
    poll: (state) => poll(state, deps),
    assess: (state) => assess(state, deps),
    recordFailure: (task, error) => recordFailure(task, error, deps),
    report: (runPlan) => report(runPlan, deps),
  };
}

/** One whole audit run in-process, with the settings' concurrency and poll interval. */
export function runAudit(
  deps: StepDeps,
  options: Partial<Pick<RunnerOptions, 'sleep' | 'pollIntervalMs' | 'observer'>> & { runId?: string } = {},
) {
  return runWorkflow(auditSteps(deps, { runId: options.runId }), {
    clusterConcurrency: deps.settings.clusterConcurrency,
    pollIntervalMs: options.pollIntervalMs ?? deps.settings.pollIntervalSeconds * 1000,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    ...(options.observer && { observer: options.observer }),
  });
}
