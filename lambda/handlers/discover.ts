import type { DiscoveryState } from '#workflow/discovery-state.js';
import { discover, type StepDeps } from '#workflow/steps.js';
import { ClusterItemSchema, taskOf } from './events.js';
import { logger } from './observability.js';
import { deps } from './runtime.js';
import { stepHandler } from './step-handler.js';

/** Discover: reads the cluster, sends the collector to its nodes and starts the log query. */
export function createDiscoverHandler(stepDeps: StepDeps) {
  return stepHandler('discover', ClusterItemSchema, async (item): Promise<DiscoveryState> => {
    const state = await discover(taskOf(item), stepDeps);
    // one line a reader can act on; the cluster is still audited, only its log signals are unknown
    if (state.queryProblem) logger.warn(state.queryProblem, { cluster: state.name });
    return state;
  });
}

export const handler = createDiscoverHandler(deps);
