import { alertable, applyLifecycle } from '#audit/lifecycle.js';
import type { AuditStatus, ClusterResult, Finding, RunResult } from '#audit/model.js';
import { type AsffFinding, renderRunAsff } from '#audit/render/asff.js';
import { type DigestChange, type DigestParts, renderDigestParts } from '#audit/render/digest.js';
import { isActive, type Suppression } from '#audit/suppressions.js';
import { SNS_MESSAGE_MAX_BYTES, snsPublishBytes } from '#aws/notify.js';
import type { AuditTarget } from '#aws/ports.js';
import { regionOf } from '#aws/security-hub.js';
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
  /** the run's findings imported into Security Hub (with `securityHubImport` set) */
  securityHub?: SecurityHubOutcome;
}

/** How the nightly Security Hub import went, over every audited account and region. */
export interface SecurityHubOutcome {
  imported: number;
  /** findings Security Hub refused (FailedFindings) or that were not sent: their account could not be reached */
  notImported: number;
  /** one line for each account and region whose import failed, and one for the first refused finding of each */
  problems: string[];
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
  // read a window of clusters' snapshots and finding states at once (BatchGetItem), then record them one by one:
  // two calls a window instead of two a cluster, and memory for one window's items, not the fleet's
  let reads = new Map<string, { snapshot: ClusterSnapshot | null; state: FindingState | null }>();
  for (const [index, task] of plan.clusters.entries()) {
    if (index % REPORT_READ_WINDOW === 0) {
      const window = plan.clusters.slice(index, index + REPORT_READ_WINDOW);
      reads = await deps.store.clusterReads(window.map(refOf), plan.runId, plan.startedAt);
    }
    const read = reads.get(clusterKey(refOf(task)));
    const snapshot = await snapshotFor(task, deps, read ? read.snapshot : undefined);
    const { findings, state } = await recordFindings(task, snapshot, suppressions, now, deps, read?.state);
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
  const alert = await deliverPending(result, states, new NoticeLedger(suppressions, now, deps), deps);
  return {
    result,
    ...alert,
    ...(deps.settings.securityHubImport && { securityHub: await importToSecurityHub(result, deps) }),
  };
}

/**
 * The run's findings into Security Hub, each in its own account and region through that target's clients (the
 * audit role: "the identifier of the account that you are calling BatchImportFindings from needs to be the same
 * as the AwsAccountId attribute for the finding", BatchImportFindings API reference). RESOLVED findings go as
 * ARCHIVED / RESOLVED (lambda/audit/render/asff.ts), so Security Hub closes them too. Importing again the next
 * night updates the same finding ids. A target that cannot be reached (role, Security Hub not enabled there) is one
 * line; the others go on, and the run's result stands.
 */
async function importToSecurityHub(result: RunResult, deps: StepDeps): Promise<SecurityHubOutcome> {
  const byTarget = new Map<string, { target: AuditTarget; findings: AsffFinding[] }>();
  for (const finding of renderRunAsff(result)) {
    const region = regionOf(finding);
    const key = `${finding.AwsAccountId}/${region}`;
    const entry = byTarget.get(key) ?? { target: { account: finding.AwsAccountId, region }, findings: [] };
    entry.findings.push(finding);
    byTarget.set(key, entry);
  }
  const outcome: SecurityHubOutcome = { imported: 0, notImported: 0, problems: [] };
  for (const [key, { target, findings }] of [...byTarget].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    try {
      const imported = await deps.clientsFor(target).findings.import(findings);
      outcome.imported += imported.imported;
      outcome.notImported += findings.length - imported.imported;
      const [first] = imported.failed;
      if (first) {
        outcome.problems.push(
          `Security Hub in ${key} refused ${imported.failed.length} of ${findings.length} findings ` +
            `(first: ${first.id}: ${first.code}: ${first.message})`,
        );
      }
    } catch (error) {
      outcome.notImported += findings.length;
      outcome.problems.push(`Security Hub import in ${key} failed: ${messageOf(error).split('\n')[0]}`);
    }
  }
  return outcome;
}

/** Clusters whose stored snapshots and finding states the report step reads in one go (100 items: 2 BatchGetItem). */
const REPORT_READ_WINDOW = 100;

/**
 * The cluster's snapshot of the run, as read with its window (null: the window's consistent read found none;
 * undefined: not read there, so read now); a cluster without one is recorded as failed first.
 */
async function snapshotFor(
  task: ClusterTask,
  deps: StepDeps,
  read: ClusterSnapshot | null | undefined,
): Promise<ClusterSnapshot> {
  if (read) return read;
  const stored = read === undefined ? await deps.store.getSnapshot(refOf(task), task.runId, task.startedAt) : null;
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
  /** the finding state as read with the cluster's window (undefined: not read yet) */
  read?: FindingState | null,
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
    // the window's read serves the first attempt; a lost race reads again
    const stored = attempt === 0 && read !== undefined ? read : await deps.store.getFindingState(cluster);
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
 *    SENDING → its step died during or right after a Publish, so the parts not recorded as published are published
 *    (same digest id, same parts; the first of them marked as a possible repeat: the one case of a second delivery,
 *    at-least-once); OPEN of this run → resumed; OPEN of another run past the lease → ABANDONED; FAILED, ABANDONED
 *    or missing → the changes are free again;
 * 2. a digest record is created OPEN, the free changes are given to it (`digestId`, in each cluster's state item),
 *    it is split into parts that each fit one SNS message and moves to SENDING with where each part ends
 *    (`partKeys`) only if still OPEN (so a digest taken over is never published), then each part is published and
 *    recorded (`messageIds`, conditional on the parts recorded before), the last one with SENT, then its changes
 *    are dropped from `pending`. A refused first Publish moves it to FAILED and its changes wait for the next step;
 *    a refused later one leaves it SENDING, so the next step sends the rest.
 *
 * A kill before SENDING leaves changes that step 1 frees or resumes; a kill after SENT leaves changes step 1
 * drops; a kill between parts leaves a SENDING digest whose recorded parts are never sent again. So every change
 * is in exactly one delivered digest part, and only a kill between a Publish and its record delivers that one part
 * twice (with the same digest id and part number, which subscribers may use to tell).
 */
async function deliverPending(
  result: RunResult,
  states: Map<string, FindingState>,
  notices: NoticeLedger,
  deps: StepDeps,
): Promise<AlertOutcome> {
  const publisher = deps.publisher;
  if (!publisher) return { alertMessageId: null, alertProblem: null };
  const ledger = new PendingLedger(states, deps);
  const outcomes: AlertOutcome[] = [];
  const freed = new Set<string>();
  let resumed: DigestRecord | null = null;
  for (const digestId of [...new Set([...ledger.digestIds(), ...notices.digestIds()])].sort()) {
    const record = await deps.store.getDigest(digestId);
    if (record?.status === 'SENT') {
      await ledger.drop(digestId);
      await notices.settle(digestId);
    } else if (record?.status === 'SENDING') {
      outcomes.push(await publishDigest(record, result, ledger, notices, deps, true));
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
  if (ledger.hasFree(freed) || notices.hasFree(freed) || resumed) {
    outcomes.push(await sendFree(resumed, freed, result, ledger, notices, deps));
  }
  return {
    alertMessageId: outcomes.find((o) => o.alertMessageId !== null)?.alertMessageId ?? null,
    alertProblem:
      outcomes
        .map((o) => o.alertProblem)
        .filter((p) => p !== null)
        .join('; ') || null,
  };
}

/** Gives the free changes to this run's digest (a resumed one, or a new one), splits it into parts and sends them. */
async function sendFree(
  resumed: DigestRecord | null,
  freed: ReadonlySet<string>,
  result: RunResult,
  ledger: PendingLedger,
  notices: NoticeLedger,
  deps: StepDeps,
): Promise<AlertOutcome> {
  const digest = resumed ?? (await openDigest(result.runId, deps));
  await ledger.assign(digest.digestId, freed);
  await notices.assign(digest.digestId, freed);
  const changes = ledger.changesOf(digest.digestId);
  const parts = digestParts(digest, result, changes, notices.of(digest.digestId), ledger.dropped(), null, deps);
  const sending = {
    ...digest,
    status: 'SENDING' as const,
    changes: changes.length,
    partKeys: parts.boundaries,
  };
  if (!(await deps.store.moveDigest(sending, 'OPEN'))) {
    return { alertMessageId: null, alertProblem: `digest ${digest.digestId} was taken over by another report step` };
  }
  return publishDigest(sending, result, ledger, notices, deps, false, parts);
}

/** A new OPEN digest for this run: `<runId>`, or `<runId>.2` … when a retried step already used the id. */
async function openDigest(runId: string, deps: StepDeps): Promise<DigestRecord> {
  const createdAt = deps.now().toISOString();
  for (let n = 1; n <= 20; n++) {
    const digestId = n === 1 ? runId : `${runId}.${n}`;
    if (await deps.store.createDigest(digestId, runId, createdAt)) {
      return {
        digestId,
        runId,
        createdAt,
        status: 'OPEN',
        changes: 0,
        messageIds: [],
        partKeys: [],
        sentAt: null,
        problem: null,
      };
    }
    const existing = await deps.store.getDigest(digestId);
    if (existing?.status === 'OPEN') return existing;
  }
  throw new Error(`run ${runId} has used 20 digest ids; the digest records look damaged`);
}

/**
 * Publishes the parts of a SENDING digest that are not recorded as published yet, recording each but the last in
 * the digest record (its `messageIds`), then SENT with every part's message id, then drops its changes. A resumed
 * digest (`resumed`) starts at its first unrecorded part, marked as a possible repeat: its sender may have died
 * between that Publish and its record; the parts after it were never sent. A refused first Publish moves the
 * digest to FAILED (nothing of it was delivered, its changes go to the next digest); a refused later one leaves it
 * SENDING, so the next step sends the rest and the delivered parts' changes are not told again.
 */
async function publishDigest(
  record: DigestRecord,
  result: RunResult,
  ledger: PendingLedger,
  notices: NoticeLedger,
  deps: StepDeps,
  resumed: boolean,
  split?: DigestParts,
): Promise<AlertOutcome> {
  const publisher = deps.publisher;
  if (!publisher) return { alertMessageId: null, alertProblem: null };
  const changes = ledger.changesOf(record.digestId);
  const ended = notices.of(record.digestId);
  const published = record.messageIds.length;
  const messages =
    changes.length === 0 && ended.length === 0
      ? []
      : (split ?? digestParts(record, result, changes, ended, ledger.dropped(), resumed ? published : null, deps))
          .messages;
  const messageIds = [...record.messageIds];
  const total = messages.length;
  for (let part = published; part < total; part++) {
    const message = messages[part];
    if (!message) break;
    let messageId: string;
    try {
      messageId = await publisher.publish(message);
    } catch (error) {
      if (messageIds.length === 0) {
        const problem = `digest not sent: ${messageOf(error)}`;
        await deps.store.moveDigest({ ...record, status: 'FAILED', problem }, 'SENDING');
        return { alertMessageId: null, alertProblem: problem };
      }
      return {
        alertMessageId: messageIds[0] ?? null,
        alertProblem:
          `digest ${record.digestId}: part ${part + 1} of ${total} not sent (${messageOf(error)}); ` +
          'the next report step sends it and the parts after it',
      };
    }
    messageIds.push(messageId);
    const last = part === total - 1;
    if (!last && !(await deps.store.recordDigestPart({ ...record, messageIds: [...messageIds] }, part))) {
      return {
        alertMessageId: messageIds[0] ?? null,
        alertProblem: `digest ${record.digestId}: another report step is sending its parts`,
      };
    }
  }
  await deps.store.moveDigest({ ...record, status: 'SENT', messageIds, sentAt: deps.now().toISOString() }, 'SENDING');
  await ledger.drop(record.digestId);
  await notices.settle(record.digestId);
  return { alertMessageId: messageIds[0] ?? null, alertProblem: null };
}

/**
 * The digest's parts, each an SNS message within SNS's size limit ({@link snsPublishBytes}): split now, or as the
 * record says it was split (`partKeys`), so a resumed digest sends the same parts. `repeatedPart` is the part that
 * may have been delivered before.
 */
function digestParts(
  record: DigestRecord,
  result: RunResult,
  pending: ReadonlyArray<PendingChange>,
  endedSuppressions: ReadonlyArray<Suppression>,
  droppedChanges: number,
  repeatedPart: number | null,
  deps: StepDeps,
): DigestParts {
  const maxBytes = deps.digestMessageMaxBytes ?? SNS_MESSAGE_MAX_BYTES;
  const changes: DigestChange[] = pending.map((change) => ({
    id: change.id,
    cluster: clusterLine(result, change),
    finding: change.finding,
  }));
  return renderDigestParts(
    result,
    changes,
    {
      digestId: record.digestId,
      earlierChanges: pending.filter((c) => c.runId !== result.runId).length,
      droppedChanges,
      repeatedPart,
      endedSuppressions,
    },
    { fits: (message) => snsPublishBytes(message) <= maxBytes, boundaries: record.partKeys },
  );
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

/**
 * The notices of ended suppressions, given to digests and settled by them like the pending changes: a notice is
 * given to one digest at a time (a conditional write on the suppression item) and marked sent once that digest
 * was delivered, so each ended suppression is told once. A notice whose digest failed or was abandoned is free
 * again. A suppression renewed (added again) meanwhile is a new item without a notice, and not ended.
 */
class NoticeLedger {
  private ended: Suppression[];

  constructor(
    suppressions: ReadonlyArray<Suppression>,
    now: string,
    private readonly deps: StepDeps,
  ) {
    this.ended = suppressions.filter((s) => !isActive(s, now) && !s.endNotice?.sent);
  }

  /** The digests unsent notices have been given to. */
  digestIds(): string[] {
    return [...new Set(this.ended.flatMap((s) => (s.endNotice ? [s.endNotice.digestId] : [])))];
  }

  hasFree(freed: ReadonlySet<string>): boolean {
    return this.ended.some((s) => isFreeNotice(s, freed));
  }

  of(digestId: string): Suppression[] {
    return this.ended.filter((s) => s.endNotice?.digestId === digestId);
  }

  /** Gives every free notice to the digest; one renewed, removed or taken by another step meanwhile is left out. */
  async assign(digestId: string, freed: ReadonlySet<string>): Promise<void> {
    const kept: Suppression[] = [];
    for (const s of this.ended) {
      if (!isFreeNotice(s, freed)) kept.push(s);
      else if (await this.deps.store.claimSuppressionNotice(s, digestId, s.endNotice?.digestId ?? null)) {
        kept.push({ ...s, endNotice: { digestId, sent: false } });
      }
    }
    this.ended = kept;
  }

  /** Marks the notices a delivered digest carried as sent. */
  async settle(digestId: string): Promise<void> {
    for (const [i, s] of this.ended.entries()) {
      if (s.endNotice?.digestId !== digestId) continue;
      await this.deps.store.settleSuppressionNotice(s, digestId);
      this.ended[i] = { ...s, endNotice: { digestId, sent: true } };
    }
  }
}

function isFreeNotice(s: Suppression, freed: ReadonlySet<string>): boolean {
  return !s.endNotice || (!s.endNotice.sent && freed.has(s.endNotice.digestId));
}
