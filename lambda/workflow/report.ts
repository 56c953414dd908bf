import { alertable, applyLifecycle } from '#audit/lifecycle.js';
import type { AuditStatus, ClusterResult, Finding, RunResult } from '#audit/model.js';
import { type AlertMessage, type DigestEntry, renderDigest } from '#audit/render/digest.js';
import type { Suppression } from '#audit/suppressions.js';
import {
  type ClusterSnapshot,
  clusterKey,
  type DigestRecord,
  type FindingState,
  type PendingChange,
} from '#aws/store.js';
import { type ClusterTask, messageOf, type RunPlan, recordFailure, refOf, type StepDeps } from './steps.js';

export interface ReportOutput {
  result: RunResult;
  /** SNS message id of the digest this step published (new or resent), or null when it published none */
  alertMessageId: string | null;
  alertProblem: string | null;
}

/**
 * report: gives every finding its lifecycle state against the cluster's stored finding state, stores the state
 * with the changes a digest must carry (pending, in the same single-item write), the day's history point and the
 * run record, then delivers every pending change in one digest. A change leaves `pending` only after the digest
 * carrying it was published, so a step killed anywhere, a failed Publish or a Lambda time-out loses nothing: the
 * retried step or the next run sends what is still pending (see {@link deliverPending} for why each change is in
 * exactly one digest). A failed alert does not fail the run: it is reported in the output.
 */
export async function report(plan: RunPlan, deps: StepDeps): Promise<ReportOutput> {
  const now = deps.now().toISOString();
  const suppressions = await deps.store.suppressions();
  const clusters: ClusterResult[] = [];
  const states = new Map<string, FindingState>();
  for (const task of plan.clusters) {
    const snapshot = await snapshotFor(task, deps);
    const { findings, state } = await recordFindings(task, snapshot, suppressions, now, deps);
    if (state) states.set(clusterKey(state.cluster), state);
    await recordHistoryPoint(snapshot, deps);
    clusters.push({
      account: task.account,
      region: task.region,
      name: task.name,
      status: snapshot.status,
      score: snapshot.score,
      nodes: snapshot.nodes,
      findings,
      notEvaluated: snapshot.notEvaluated,
      ...(snapshot.measures && { measures: snapshot.measures }),
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
  return { result, ...(await deliverPending(result, states, deps)) };
}

async function snapshotFor(task: ClusterTask, deps: StepDeps): Promise<ClusterSnapshot> {
  const stored = await deps.store.getSnapshot(refOf(task), task.runId, task.startedAt);
  if (stored) return stored;
  await recordFailure(task, new Error('the cluster produced no result in this run'), deps);
  const failed = await deps.store.getSnapshot(refOf(task), task.runId, task.startedAt);
  if (!failed) throw new Error(`snapshot of ${task.name} could not be stored`);
  return failed;
}

/** Writes of one finding state that may race another writer before the step gives up. */
const STATE_WRITE_ATTEMPTS = 5;
/** Pending changes kept per cluster; beyond that (digests undelivered for many nights) the oldest are counted. */
const PENDING_MAX = 200;

/**
 * The cluster's findings for this run, and its finding state after this run. The state write is conditional on
 * the version read, and a retried step finds its own run already applied and reuses it, so the lifecycle (and
 * every pending change) is recorded once per run. A report step older than the stored state (a late retry) judges
 * against the snapshots and changes nothing.
 */
async function recordFindings(
  task: ClusterTask,
  snapshot: ClusterSnapshot,
  suppressions: ReadonlyArray<Suppression>,
  now: string,
  deps: StepDeps,
): Promise<{ findings: Finding[]; state: FindingState | null }> {
  const cluster = refOf(task);
  const judge = (previous: ReadonlyArray<Finding> | null) =>
    applyLifecycle(
      {
        cluster,
        status: snapshot.status,
        detections: snapshot.detections,
        notEvaluated: snapshot.notEvaluated,
        sources: snapshot.sources ?? NOT_RECORDED,
        auditError: snapshot.auditError,
      },
      previous,
      suppressions,
      now,
    );
  for (let attempt = 0; attempt < STATE_WRITE_ATTEMPTS; attempt++) {
    const stored = await deps.store.getFindingState(cluster);
    if (stored?.runId === task.runId) return { findings: stored.findings, state: stored };
    if (stored && stored.startedAt > task.startedAt) {
      const earlier = await deps.store.snapshotsBefore(cluster, task.startedAt, PREVIOUS_RUNS);
      return { findings: judge(previousFindings(earlier)), state: stored };
    }
    const previous =
      stored?.findings ?? previousFindings(await deps.store.snapshotsBefore(cluster, task.startedAt, PREVIOUS_RUNS));
    const findings = judge(previous);
    // With alerts off (no topic) nothing is owed to anyone, so nothing is kept pending.
    const changes: PendingChange[] = deps.publisher
      ? alertable(findings, deps.settings.alertMinSeverity).map((finding) => ({
          id: `${task.runId}/${finding.fingerprint}`,
          runId: task.runId,
          startedAt: task.startedAt,
          finding,
          digestId: null,
        }))
      : [];
    const pending = [...(stored?.pending ?? []), ...changes];
    const dropped = Math.max(0, pending.length - PENDING_MAX);
    const next: FindingState = {
      cluster,
      runId: task.runId,
      startedAt: task.startedAt,
      version: (stored?.version ?? -1) + 1,
      findings,
      pending: pending.slice(dropped),
      droppedChanges: (stored?.droppedChanges ?? 0) + dropped,
    };
    if (await deps.store.putFindingState(next)) return { findings, state: next };
  }
  throw new Error(`the finding state of ${task.name} kept changing while this report step wrote it`);
}

/** Snapshots of versions that did not record their sources: nothing is known to have been read. */
const NOT_RECORDED = {
  nodes: { state: 'FAILED', reason: 'not recorded by the version that audited it' },
  logs: { state: 'FAILED', reason: 'not recorded by the version that audited it' },
  addons: { state: 'FAILED', reason: 'not recorded by the version that audited it' },
  history: { state: 'FAILED', reason: 'not recorded by the version that audited it' },
} as const;

/**
 * The day's trend point: only from a cluster audited completely (every node read, or only nodes the collector
 * can never run on unread), so a partial audit cannot pull the projection, and only here, in the report step, so a
 * run killed before it adds no point.
 */
async function recordHistoryPoint(snapshot: ClusterSnapshot, deps: StepDeps): Promise<void> {
  const complete = snapshot.status === 'COMPLETE' || snapshot.sources?.nodes.state === 'PRESENT';
  if (snapshot.status === 'FAILED' || !complete) return;
  await deps.store.putHistoryPoint(snapshot.cluster, {
    runId: snapshot.runId,
    at: snapshot.startedAt,
    serviceCount: snapshot.serviceCount,
    restoreFailures: snapshot.restoreFailures,
  });
}

/** How many earlier snapshots the lifecycle looks through when a cluster has no finding state yet. */
const PREVIOUS_RUNS = 5;

/**
 * The findings to compare with when the cluster has no finding state (its runs were reported by an older version,
 * or none was): the newest snapshot that stored findings; with none, null (a first run). A snapshot without
 * findings is of a run whose report step never ran (killed, timed out): nobody was told of its detections, so
 * they are not taken as open, or they would never be told as NEW.
 */
function previousFindings(earlier: ReadonlyArray<ClusterSnapshot>): Finding[] | null {
  return earlier.find((s) => s.findings !== null)?.findings ?? null;
}

function runStatus(statuses: ReadonlyArray<AuditStatus>): AuditStatus {
  if (statuses.length > 0 && statuses.every((s) => s === 'FAILED')) return 'FAILED';
  return statuses.every((s) => s === 'COMPLETE') ? 'COMPLETE' : 'PARTIAL';
}

/**
 * How long another run's OPEN digest is left alone by default: longer than a report Lambda can live (15 minutes),
 * so only a digest whose report step died is taken over.
 */
const DIGEST_LEASE_MS = 20 * 60_000;

type AlertOutcome = Pick<ReportOutput, 'alertMessageId' | 'alertProblem'>;

/**
 * Sends every pending change of the run's clusters, once. The protocol, one conditional single-item write a step:
 *
 * 1. changes already given to a digest are settled by that digest's record: SENT → they were delivered, drop them;
 *    SENDING → its step died during or right after Publish, so it is published again, same digest id (the one
 *    case of a second delivery: at-least-once); OPEN of this run → resumed; OPEN of another run past the lease →
 *    ABANDONED; FAILED, ABANDONED or missing → the changes are free again;
 * 2. a digest record is created OPEN, the free changes are given to it (`digestId`, in each cluster's state item),
 *    it moves to SENDING only if still OPEN (so a digest taken over is never published), then Publish, then SENT,
 *    then its changes are dropped from `pending`. A refused Publish moves it to FAILED and its changes wait for the
 *    next step.
 *
 * A kill before SENDING leaves changes that step 1 frees or resumes; a kill after SENT leaves changes step 1
 * drops. So every change is in exactly one delivered digest, and only a kill between Publish and the SENT write
 * delivers that digest twice (with the same id, which subscribers may use to tell).
 */
async function deliverPending(
  result: RunResult,
  states: Map<string, FindingState>,
  deps: StepDeps,
): Promise<AlertOutcome> {
  const publisher = deps.publisher;
  if (!publisher) return { alertMessageId: null, alertProblem: null };
  const ledger = new PendingLedger(states, deps);
  const outcomes: AlertOutcome[] = [];
  const freed = new Set<string>();
  let resumed: DigestRecord | null = null;
  for (const digestId of ledger.digestIds()) {
    const record = await deps.store.getDigest(digestId);
    if (record?.status === 'SENT') {
      await ledger.drop(digestId);
    } else if (record?.status === 'SENDING') {
      outcomes.push(await publishDigest(record, result, ledger, deps, true));
    } else if (record?.status === 'OPEN' && record.runId === result.runId) {
      resumed = record;
    } else if (record?.status === 'OPEN') {
      const age = deps.now().getTime() - Date.parse(record.createdAt);
      const lease = deps.digestLeaseMs ?? DIGEST_LEASE_MS;
      if (age >= lease && (await deps.store.moveDigest({ ...record, status: 'ABANDONED' }, 'OPEN'))) {
        freed.add(digestId);
      }
    } else {
      freed.add(digestId);
    }
  }
  if (ledger.hasFree(freed) || resumed) outcomes.push(await sendFree(resumed, freed, result, ledger, deps));
  return {
    alertMessageId: outcomes.find((o) => o.alertMessageId !== null)?.alertMessageId ?? null,
    alertProblem:
      outcomes
        .map((o) => o.alertProblem)
        .filter((p) => p !== null)
        .join('; ') || null,
  };
}

/** Gives the free changes to this run's digest (a resumed one, or a new one) and publishes it. */
async function sendFree(
  resumed: DigestRecord | null,
  freed: ReadonlySet<string>,
  result: RunResult,
  ledger: PendingLedger,
  deps: StepDeps,
): Promise<AlertOutcome> {
  const digest = resumed ?? (await openDigest(result.runId, deps));
  await ledger.assign(digest.digestId, freed);
  const sending = { ...digest, status: 'SENDING' as const, changes: ledger.changesOf(digest.digestId).length };
  if (!(await deps.store.moveDigest(sending, 'OPEN'))) {
    return { alertMessageId: null, alertProblem: `digest ${digest.digestId} was taken over by another report step` };
  }
  return publishDigest(sending, result, ledger, deps, false);
}

/** A new OPEN digest for this run: `<runId>`, or `<runId>.2` … when a retried step already used the id. */
async function openDigest(runId: string, deps: StepDeps): Promise<DigestRecord> {
  const createdAt = deps.now().toISOString();
  for (let n = 1; n <= 20; n++) {
    const digestId = n === 1 ? runId : `${runId}.${n}`;
    if (await deps.store.createDigest(digestId, runId, createdAt)) {
      return { digestId, runId, createdAt, status: 'OPEN', changes: 0, messageIds: [], sentAt: null, problem: null };
    }
    const existing = await deps.store.getDigest(digestId);
    if (existing?.status === 'OPEN') return existing;
  }
  throw new Error(`run ${runId} has used 20 digest ids; the digest records look damaged`);
}

/** Publishes a SENDING digest's changes; SENT and the changes dropped on success, FAILED on a refused Publish. */
async function publishDigest(
  record: DigestRecord,
  result: RunResult,
  ledger: PendingLedger,
  deps: StepDeps,
  repeated: boolean,
): Promise<AlertOutcome> {
  const publisher = deps.publisher;
  if (!publisher) return { alertMessageId: null, alertProblem: null };
  const changes = ledger.changesOf(record.digestId);
  const messages = changes.length === 0 ? [] : digestMessages(record, result, changes, ledger.dropped(), repeated);
  const messageIds: string[] = [];
  try {
    for (const message of messages) messageIds.push(await publisher.publish(message));
  } catch (error) {
    const problem = `digest not sent: ${messageOf(error)}`;
    await deps.store.moveDigest({ ...record, status: 'FAILED', problem }, 'SENDING');
    return { alertMessageId: null, alertProblem: problem };
  }
  await deps.store.moveDigest({ ...record, status: 'SENT', messageIds, sentAt: deps.now().toISOString() }, 'SENDING');
  await ledger.drop(record.digestId);
  return { alertMessageId: messageIds[0] ?? null, alertProblem: null };
}

/**
 * The digest's messages (one today; the pending bookkeeping does not depend on how many). Changes are grouped by
 * cluster, with the cluster's line from this run when it is in it.
 */
function digestMessages(
  record: DigestRecord,
  result: RunResult,
  changes: ReadonlyArray<PendingChange>,
  droppedChanges: number,
  repeated: boolean,
): AlertMessage[] {
  const byCluster = new Map<string, DigestEntry>();
  for (const change of changes) {
    const key = change.finding.fingerprint.split('/').slice(0, 3).join('/');
    const entry = byCluster.get(key) ?? { cluster: clusterLine(result, change), findings: [] };
    entry.findings.push(change.finding);
    byCluster.set(key, entry);
  }
  return [
    renderDigest(result, [...byCluster.values()], {
      digestId: record.digestId,
      earlierChanges: changes.filter((c) => c.runId !== result.runId).length,
      droppedChanges,
      repeated,
    }),
  ];
}

function clusterLine(result: RunResult, change: PendingChange): ClusterResult {
  const [account, region, name] = change.finding.fingerprint.split('/');
  const inRun = result.clusters.find((c) => c.account === account && c.region === region && c.name === name);
  return (
    inRun ?? {
      account: account ?? null,
      region: region ?? null,
      name: name ?? '',
      status: 'FAILED',
      score: null,
      nodes: { expected: 0, reached: 0, unreachable: 0, failed: 0 },
      findings: [],
      notEvaluated: [],
    }
  );
}

/** The pending changes of the run's clusters, kept in step with their stored finding states. */
class PendingLedger {
  constructor(
    private readonly states: Map<string, FindingState>,
    private readonly deps: StepDeps,
  ) {}

  /** The digests pending changes have been given to. */
  digestIds(): string[] {
    const ids = new Set<string>();
    for (const state of this.states.values()) {
      for (const change of state.pending) if (change.digestId !== null) ids.add(change.digestId);
    }
    return [...ids].sort();
  }

  hasFree(freed: ReadonlySet<string>): boolean {
    return [...this.states.values()].some((s) => s.pending.some((c) => isFree(c, freed)));
  }

  changesOf(digestId: string): PendingChange[] {
    return [...this.states.values()].flatMap((s) => s.pending.filter((c) => c.digestId === digestId));
  }

  /** Changes given up for room (told in the digest). */
  dropped(): number {
    return [...this.states.values()].reduce((sum, s) => sum + s.droppedChanges, 0);
  }

  /** Gives every free change to the digest. */
  assign(digestId: string, freed: ReadonlySet<string>): Promise<void> {
    return this.update(
      (state) => state.pending.some((c) => isFree(c, freed)),
      (state) => ({
        ...state,
        pending: state.pending.map((c) => (isFree(c, freed) ? { ...c, digestId } : c)),
      }),
    );
  }

  /** Drops the changes a delivered digest carried (and the count of dropped ones it told). */
  drop(digestId: string): Promise<void> {
    return this.update(
      (state) => state.pending.some((c) => c.digestId === digestId),
      (state) => ({ ...state, pending: state.pending.filter((c) => c.digestId !== digestId), droppedChanges: 0 }),
    );
  }

  /** Applies `change` to each state it concerns, re-reading a state another writer changed meanwhile. */
  private async update(
    concerns: (state: FindingState) => boolean,
    change: (state: FindingState) => FindingState,
  ): Promise<void> {
    for (const [key, initial] of this.states) {
      let state: FindingState | null = initial;
      for (let attempt = 0; state && concerns(state); attempt++) {
        if (attempt === STATE_WRITE_ATTEMPTS) {
          throw new Error(`the finding state of ${state.cluster.name} kept changing while its digest was recorded`);
        }
        const next = { ...change(state), version: state.version + 1 };
        if (await this.deps.store.putFindingState(next)) {
          this.states.set(key, next);
          break;
        }
        state = await this.deps.store.getFindingState(state.cluster);
        if (state) this.states.set(key, state);
      }
    }
  }
}

function isFree(change: PendingChange, freed: ReadonlySet<string>): boolean {
  return change.digestId === null || freed.has(change.digestId);
}
