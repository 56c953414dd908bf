import { report } from '#workflow/report.js';
import type { StepDeps } from '#workflow/steps.js';
import { PlanPayloadSchema, type RunFailure, StatesErrorSchema, taskOf } from './events.js';
import { logger, publishRunMetrics } from './observability.js';
import { errorOf } from './record-failure.js';
import { type RunSummary, summarizeRun } from './run-summary.js';
import { deps } from './runtime.js';
import { stepHandler } from './step-handler.js';

/**
 * Report: lifecycle against the previous run, run record, one digest; then the run's metrics (EMF). Returns a
 * summary, not the whole run result, to keep the execution's last payload small.
 */
export function createReportHandler(stepDeps: StepDeps, emitMetrics: typeof publishRunMetrics = publishRunMetrics) {
  return stepHandler('report', ReportEventSchema, async (payload): Promise<RunSummary | RunFailure> => {
    // RecordRunFailure: the Report task's Catch calls this function again with the error it caught.
    if (payload.error) {
      const caught = errorOf(payload.error);
      const failure = `report step failed: ${caught.name}: ${caught.message}`;
      const recorded = await stepDeps.store.failRun(
        payload.runId,
        payload.startedAt,
        stepDeps.now().toISOString(),
        failure,
      );
      if (recorded) logger.error('run stored as FAILED', { runId: payload.runId, failure });
      else
        logger.error('report step failed after the run was stored; its record is kept', {
          runId: payload.runId,
          failure,
        });
      return { runId: payload.runId, status: 'FAILED', failure, runRecord: recorded ? 'FAILED' : 'KEPT' };
    }
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
    if (output.securityHub?.problems.length) {
      logger.warn('Security Hub import incomplete', { runId: summary.runId, ...output.securityHub });
    }
    return summary;
  });
}

/** Report's input: the plan; RecordRunFailure's: the plan and the error the Report task's Catch caught. */
const ReportEventSchema = PlanPayloadSchema.extend({ error: StatesErrorSchema.optional() });

export const handler = createReportHandler(deps);
