import { DiscoveryStateSchema } from '#workflow/discovery-state.js';
import { type PollResult, poll, type StepDeps } from '#workflow/steps.js';
import { deps } from './runtime.js';
import { stepHandler } from './step-handler.js';

/** Poll: are the cluster's collector commands and log query finished, or its deadline passed? */
export function createPollHandler(stepDeps: StepDeps) {
  return stepHandler('poll', DiscoveryStateSchema, (state): Promise<PollResult> => poll(state, stepDeps));
}

export const handler = createPollHandler(deps);
