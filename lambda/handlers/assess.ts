import { DiscoveryStateSchema } from '#workflow/discovery-state.js';
import { assess, type ClusterOutcome, type StepDeps } from '#workflow/steps.js';
import { deps } from './runtime.js';
import { stepHandler } from './step-handler.js';

/** Assess: reads the node reports and the query results, evaluates the rules, stores the cluster's snapshot. */
export function createAssessHandler(stepDeps: StepDeps) {
  return stepHandler('assess', DiscoveryStateSchema, (state): Promise<ClusterOutcome> => assess(state, stepDeps));
}

export const handler = createAssessHandler(deps);
