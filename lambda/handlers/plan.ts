import { plan, type StepDeps } from '#workflow/steps.js';
import { PlanEventSchema, type PlanPayload } from './events.js';
import { deps } from './runtime.js';
import { stepHandler } from './step-handler.js';

/** Plan: lists the clusters of every target. The state machine passes its execution name as the run id. */
export function createPlanHandler(stepDeps: StepDeps) {
  return stepHandler('plan', PlanEventSchema, async (event): Promise<PlanPayload> => {
    const runPlan = await plan(stepDeps, event.runId === undefined ? {} : { runId: event.runId });
    return {
      runId: runPlan.runId,
      startedAt: runPlan.startedAt,
      // Slim items: the Map's ItemSelector adds the run id and start time back to each.
      clusters: runPlan.clusters.map((task) => ({
        account: task.account,
        region: task.region,
        name: task.name,
        ...(task.listError !== undefined && { listError: task.listError }),
      })),
    };
  });
}

export const handler = createPlanHandler(deps);
