import { type DiscoveryState, discover, type StepDeps } from '#workflow/steps.js';
import { ClusterItemSchema, taskOf } from './events.js';
import { deps } from './runtime.js';
import { stepHandler } from './step-handler.js';

/** Discover: reads the cluster, sends the collector to its nodes and starts the log query. */
export function createDiscoverHandler(stepDeps: StepDeps) {
  return stepHandler(
    'discover',
    ClusterItemSchema,
    (item): Promise<DiscoveryState> => discover(taskOf(item), stepDeps),
  );
}

export const handler = createDiscoverHandler(deps);
