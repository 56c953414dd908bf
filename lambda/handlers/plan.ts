import type { RunListStore } from '#aws/run-lists.js';
import { plan, type RunPlan, type StepDeps } from '#workflow/steps.js';
import { PlanEventSchema, type PlanPayload } from './events.js';
import { runListsFromEnvironment } from './run-list-runtime.js';
import { deps } from './runtime.js';
import { stepHandler } from './step-handler.js';

/**
 * Plan: lists the clusters of every target and writes them to the run's list in S3, which the Distributed Map
 * reads; returns where the list is and how many clusters it holds. The state machine passes its execution name as
 * the run id.
 */
export function createPlanHandler(stepDeps: StepDeps, runLists: RunListStore) {
  return stepHandler('plan', PlanEventSchema, async (event): Promise<PlanPayload> => {
    const runPlan = await plan(stepDeps, event.runId === undefined ? {} : { runId: event.runId });
    return storeRunList(runPlan, runLists);
  });
}

/** Writes the plan's clusters as the run's list (account/region/name, and the listing error where there is one). */
export async function storeRunList(runPlan: RunPlan, runLists: RunListStore): Promise<PlanPayload> {
  const clusters = runPlan.clusters.map((task) => ({
    account: task.account,
    region: task.region,
    name: task.name,
    ...(task.listError !== undefined && { listError: task.listError }),
  }));
  return {
    runId: runPlan.runId,
    startedAt: runPlan.startedAt,
    clusterCount: clusters.length,
    runList: await runLists.put(runPlan.runId, clusters),
  };
}

export const handler = createPlanHandler(deps, runListsFromEnvironment(process.env));
