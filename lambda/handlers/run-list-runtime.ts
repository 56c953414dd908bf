import { createRunLists } from '#aws/clients.js';
import type { RunListStore } from '#aws/run-lists.js';
import { RuntimeConfigError } from './runtime.js';

/**
 * The bucket of the runs' cluster lists, for the two functions that use it (Plan writes, Report reads): read and
 * built once per cold start, from RUN_LIST_BUCKET, which the hub stack sets on those two functions only.
 */
export function runListsFromEnvironment(env: NodeJS.ProcessEnv): RunListStore {
  const bucket = env.RUN_LIST_BUCKET;
  const region = env.AWS_REGION;
  if (!bucket || !region) {
    throw new RuntimeConfigError(
      `environment variable ${bucket ? 'AWS_REGION' : 'RUN_LIST_BUCKET'} is not set (set by the FleetAuditorHub stack on the plan and report functions)`,
    );
  }
  return createRunLists({ region, bucket });
}
