import type { RunListStore } from '#aws/run-lists.js';
import { report } from '#workflow/report.js';
import type { RunPlan, StepDeps } from '#workflow/steps.js';
import {
  type PlanPayload,
  PlanPayloadSchema,
  type RunFailure,
  RunListSchema,
  StatesErrorSchema,
  taskOf,
} from './events.js';
import { logger, publishRunMetrics } from './observability.js';
import { errorOf } from './record-failure.js';
import { runListsFromEnvironment } from './run-list-runtime.js';
import { type RunSummary, summarizeRun } from './run-summary.js';
import { deps } from './runtime.js';
import { InvalidEventError, stepHandler } from './step-handler.js';

/**
 * Report: reads the run's cluster list back from S3 (the Plan's payload carries only its key and count), then
 * lifecycle against the previous run from each cluster's stored snapshot, run record, one digest; then the run's
 * metrics (EMF). Returns a summary, not the whole run result, to keep the execution's last payload small.
 */
export function createReportHandler(
  stepDeps: StepDeps,
  runLists: RunListStore,
  emitMetrics: typeof publishRunMetrics = publishRunMetrics,
) {
  return stepHandler('report', ReportEventSchema, async (payload): Promise<RunSummary | RunFailure> => {
    // RecordRunFailure: the Report task's Catch calls this function again with the error it caught.
    if (payload.error) {
      const caught = errorOf(payload.error);
      // The Map's Catch: more child executions failed than ToleratedFailurePercentage allows.
      const failure =
        payload.error.Error === 'States.ExceedToleratedFailureThreshold'
          ? `cluster audits failed beyond the tolerated share: ${payload.error.Cause ?? caught.message}`
          : `report step failed: ${caught.name}: ${caught.message}`;
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
    const output = await report(await runPlanOf(payload, runLists), stepDeps);
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

/**
 * The run's plan, from the list the Plan function wrote. A list that does not hold what the plan said (another
 * count, an entry that is not a cluster) is refused with one line: reporting a part of the fleet would mark the
 * rest neither audited nor failed.
 */
export async function runPlanOf(payload: PlanPayload, runLists: RunListStore): Promise<RunPlan> {
  const where = `s3://${payload.runList.bucket}/${payload.runList.key}`;
  const parsed = RunListSchema.safeParse(await runLists.get(payload.runList));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventError(`report: run list ${where}: entry ${issue?.path.join('.')}: ${issue?.message}`);
  }
  if (parsed.data.length !== payload.clusterCount) {
    throw new InvalidEventError(
      `report: run list ${where} holds ${parsed.data.length} clusters, the plan wrote ${payload.clusterCount}`,
    );
  }
  return {
    runId: payload.runId,
    startedAt: payload.startedAt,
    clusters: parsed.data.map((cluster) => taskOf({ runId: payload.runId, startedAt: payload.startedAt, cluster })),
  };
}

/**
 * Report's input: the plan; RecordRunFailure's: the plan and the error the Report task's or the Map's Catch
 * caught.
 */
const ReportEventSchema = PlanPayloadSchema.extend({ error: StatesErrorSchema.optional() });

export const handler = createReportHandler(deps, runListsFromEnvironment(process.env));
