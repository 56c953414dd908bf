import { MAX_HISTORY_EVENTS } from './quotas.js';

/**
 * The execution history, event by event, with the event types of the Step Functions API (HistoryEvent `type`,
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html). The interpreter emits
 * what the service emits for each state type, so the 25,000-event quota is counted as AWS counts it:
 *
 * | state                         | events                                                                     |
 * |-------------------------------|----------------------------------------------------------------------------|
 * | execution                     | ExecutionStarted … ExecutionSucceeded / ExecutionFailed / ExecutionTimedOut |
 * | Task, Lambda function ARN     | TaskStateEntered, per attempt LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded / LambdaFunctionFailed / LambdaFunctionTimedOut, then TaskStateExited |
 * | Task, `lambda:invoke`         | TaskStateEntered, per attempt TaskScheduled, TaskStarted, TaskSucceeded / TaskFailed / TaskTimedOut, TaskStateExited |
 * | Pass, Wait, Choice, Succeed   | <Type>StateEntered, <Type>StateExited                                      |
 * | Fail                          | FailStateEntered                                                           |
 * | Parallel                      | ParallelStateEntered, ParallelStateStarted, the branches' events, ParallelStateSucceeded / ParallelStateFailed, ParallelStateExited |
 * | Map (inline)                  | MapStateEntered, MapStateStarted, per item MapIterationStarted, its events, MapIterationSucceeded / MapIterationFailed / MapIterationAborted, then MapStateSucceeded / MapStateFailed, MapStateExited |
 * | Map (distributed)             | MapStateEntered, MapRunStarted, MapRunSucceeded / MapRunFailed, MapStateExited; each item's events are in its own child execution's history (ExecutionStarted … ExecutionSucceeded / ExecutionFailed / ExecutionAborted) |
 *
 * A state whose error is not caught leaves without an Exited event; a state stopped because a sibling branch or
 * iteration failed gets a <Type>StateAborted event.
 */

export interface HistoryEvent {
  id: number;
  type: string;
  timestamp: string;
  /** the state the event belongs to (none for execution events) */
  stateName?: string;
  error?: string;
  cause?: string;
}

/** Appending would make the history reach its quota: the execution must end with `ExecutionFailed` as event 25,000. */
export class HistoryLimitReached extends Error {
  override readonly name = 'HistoryLimitReached';
}

export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];

  constructor(private readonly now: () => Date) {}

  /** Appends an event; throws {@link HistoryLimitReached} when only the final event still fits. */
  add(type: string, details: Omit<HistoryEvent, 'id' | 'type' | 'timestamp'> = {}): void {
    if (this.events.length >= MAX_HISTORY_EVENTS - 1) throw new HistoryLimitReached();
    this.push(type, details);
  }

  /** Appends the execution's final event; it may be event 25,000. */
  finish(type: string, details: Omit<HistoryEvent, 'id' | 'type' | 'timestamp'> = {}): void {
    this.push(type, details);
  }

  /** How many events of each type, for reports and tests. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const event of this.events) counts[event.type] = (counts[event.type] ?? 0) + 1;
    return counts;
  }

  private push(type: string, details: Omit<HistoryEvent, 'id' | 'type' | 'timestamp'>): void {
    this.events.push({ id: this.events.length + 1, type, timestamp: this.now().toISOString(), ...details });
  }
}
