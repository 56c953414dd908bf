import { report } from '#workflow/report.js';
import type { StepDeps } from '#workflow/steps.js';
import { PlanPayloadSchema, taskOf } from './events.js';
import { logger, publishRunMetrics } from './observability.js';
import { type RunSummary, summarizeRun } from './run-summary.js';
import { deps } from './runtime.js';
import { stepHandler } from './step-handler.js';

/**
 * Report: lifecycle against the previous run, run record, one digest; then the run's metrics (EMF). Returns a
 * summary, not the whole run result, to keep the execution's last payload small.
 */
export function createReportHandler(stepDeps: StepDeps, emitMetrics: typeof publishRunMetrics = publishRunMetrics) {
  return stepHandler('report', PlanPayloadSchema, async (payload): Promise<RunSummary> => {
    const output = await report(
      {
        runId: payload.runId,
        startedAt: payload.startedAt,
        clusters: payload.clusters.map((cluster) =>
          taskOf({ runId: payload.runId, startedAt: payload.startedAt, cluster }),
        ),
      },
      stepDeps,
    );
    const summary = summarizeRun(output);
    emitMetrics({
      clustersAudited: summary.clustersByStatus.COMPLETE + summary.clustersByStatus.PARTIAL,
      clustersFailed: summary.clustersByStatus.FAILED,
      durationSeconds: summary.durationSeconds,
      openFindingsBySeverity: summary.openFindingsBySeverity,
    });
    if (summary.alertProblem) logger.warn('digest not sent', { runId: summary.runId, problem: summary.alertProblem });
    return summary;
  });
}

export const handler = createReportHandler(deps);
