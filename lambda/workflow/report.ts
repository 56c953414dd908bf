import { alertable, applyLifecycle } from '#audit/lifecycle.js';
import type { AuditStatus, ClusterResult, Finding, RunResult } from '#audit/model.js';
import { renderDigest } from '#audit/render/digest.js';
import type { ClusterSnapshot } from '#aws/store.js';
import { type ClusterTask, messageOf, type RunPlan, recordFailure, refOf, type StepDeps } from './steps.js';

export interface ReportOutput {
  result: RunResult;
  /** SNS message id of the digest, or null when nothing was worth an alert (or alerts are off) */
  alertMessageId: string | null;
  alertProblem: string | null;
}

/**
 * report: gives every finding its lifecycle state against the cluster's previous run, stores the findings and the
 * run record, then sends one digest — after everything is stored, and only when something is NEW, WORSENED or
 * RESOLVED. A retried report step does not send it again. A failed alert does not fail the run: it is reported in
 * the output.
 */
export async function report(plan: RunPlan, deps: StepDeps): Promise<ReportOutput> {
  const now = deps.now().toISOString();
  const suppressions = await deps.store.suppressions();
  const clusters: ClusterResult[] = [];
  for (const task of plan.clusters) {
    const snapshot = await snapshotFor(task, deps);
    const previous = previousFindings(await deps.store.snapshotsBefore(refOf(task), plan.startedAt, PREVIOUS_RUNS));
    const findings = applyLifecycle(
      {
        cluster: refOf(task),
        status: snapshot.status,
        detections: snapshot.detections,
        notEvaluated: snapshot.notEvaluated,
        uncoveredNodes: snapshot.uncoveredNodes,
      },
      previous,
      suppressions,
      now,
    );
    await deps.store.putSnapshot({ ...snapshot, findings });
    clusters.push({
      account: task.account,
      region: task.region,
      name: task.name,
      status: snapshot.status,
      score: snapshot.score,
      nodes: snapshot.nodes,
      findings,
      notEvaluated: snapshot.notEvaluated,
    });
  }
  const result: RunResult = {
    runId: plan.runId,
    status: runStatus(clusters.map((c) => c.status)),
    startedAt: plan.startedAt,
    finishedAt: deps.now().toISOString(),
    clusters,
  };
  await deps.store.finishRun(result);
  return { result, ...(await sendDigest(result, deps)) };
}

async function snapshotFor(task: ClusterTask, deps: StepDeps): Promise<ClusterSnapshot> {
  const stored = await deps.store.getSnapshot(refOf(task), task.runId, task.startedAt);
  if (stored) return stored;
  await recordFailure(task, new Error('the cluster produced no result in this run'), deps);
  const failed = await deps.store.getSnapshot(refOf(task), task.runId, task.startedAt);
  if (!failed) throw new Error(`snapshot of ${task.name} could not be stored`);
  return failed;
}

/** How many earlier snapshots the lifecycle looks through for the newest reported one. */
const PREVIOUS_RUNS = 5;

/**
 * The findings to compare with, from earlier snapshots (newest first): the newest run whose report step stored
 * findings, so detections of a run that died before reporting are still told as NEW. With no reported run among
 * them, the newest snapshot's detections are taken as open; with no snapshot at all, null (a first run).
 */
function previousFindings(earlier: ReadonlyArray<ClusterSnapshot>): Finding[] | null {
  const reported = earlier.find((s) => s.findings !== null);
  if (reported?.findings) return reported.findings;
  const newest = earlier[0];
  return newest ? newest.detections.map((d) => ({ ...d, state: 'ONGOING' as const })) : null;
}

function runStatus(statuses: ReadonlyArray<AuditStatus>): AuditStatus {
  if (statuses.length > 0 && statuses.every((s) => s === 'FAILED')) return 'FAILED';
  return statuses.every((s) => s === 'COMPLETE') ? 'COMPLETE' : 'PARTIAL';
}

async function sendDigest(
  result: RunResult,
  deps: StepDeps,
): Promise<{ alertMessageId: string | null; alertProblem: string | null }> {
  if (!deps.publisher) return { alertMessageId: null, alertProblem: null };
  const worth = result.clusters
    .map((cluster) => ({ cluster, findings: alertable(cluster.findings, deps.settings.alertMinSeverity) }))
    .filter((entry) => entry.findings.length > 0);
  if (worth.length === 0) return { alertMessageId: null, alertProblem: null };
  if (!(await deps.store.claimDigest(result.runId, result.startedAt))) {
    return { alertMessageId: null, alertProblem: null };
  }
  try {
    const alertMessageId = await deps.publisher.publish(renderDigest(result, worth));
    return { alertMessageId, alertProblem: null };
  } catch (error) {
    return { alertMessageId: null, alertProblem: `digest not sent: ${messageOf(error)}` };
  }
}
