import { randomUUID } from 'node:crypto';
import type { ExecutionClock } from './clock.js';
import {
  type Catcher,
  type ChoiceRule,
  type ChoiceState,
  isDistributed,
  loadDefinition,
  type Machine,
  type MapState,
  type ParallelState,
  type PassState,
  type Retrier,
  type State,
  type TaskState,
  type WaitState,
} from './definition.js';
import { DefinitionError, errorMatches, STATES_ERRORS, StatesError } from './errors.js';
import { ExecutionHistory, HistoryLimitReached } from './history.js';
import { type InvocationSource, type LambdaInvoker, LambdaServiceError } from './lambda.js';
import { applyResultPath, fillTemplate, pathExists, readPath } from './paths.js';
import { HISTORY_LIMIT_CAUSE, PayloadSizes } from './quotas.js';
import type { ObjectReader } from './s3.js';

/**
 * A strict, small interpreter of the Amazon States Language (JSONPath query language) for Standard workflows: it
 * runs a synthesized state machine definition state by state, invoking Lambda functions through a
 * {@link LambdaInvoker}, keeps the execution history as the service does (history.ts) and enforces the Step
 * Functions quotas (quotas.ts). Anything it does not model is refused when the definition is loaded
 * (definition.ts), so a definition either runs as it would in AWS or does not run.
 *
 * Semantics follow the specification, https://states-language.net/spec.html, and the Step Functions developer
 * guide; each part below cites the section it implements.
 */

export interface ExecutionOptions {
  /** the definition as deployed (DefinitionString rendered to JSON) */
  definition: unknown;
  lambda: LambdaInvoker;
  clock: ExecutionClock;
  /** the execution name ($$.Execution.Name) */
  name: string;
  input?: unknown;
  stateMachineArn?: string;
  roleArn?: string | null;
  /** for JitterStrategy FULL; `() => 1` makes back-off deterministic */
  random?: () => number;
  /** S3 as the state machine's role reaches it: a Distributed Map's ItemReader reads through it */
  s3?: ObjectReader;
}

export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';

/** One child execution a Distributed Map started: its own history, counted against its own quotas. */
export interface ChildExecution {
  /** the Map state that started it */
  mapState: string;
  name: string;
  status: ExecutionStatus | 'ABORTED';
  error?: string;
  history: ExecutionHistory;
}

export interface ExecutionResult {
  status: ExecutionStatus;
  output?: unknown;
  error?: string;
  cause?: string;
  history: ExecutionHistory;
  /** the child executions of its Distributed Maps, in the order they ended */
  children: ChildExecution[];
  /** the largest history among the execution and its children (events): what the 25,000-event quota bounds */
  maxHistoryEvents: number;
  /** each state's largest input, output or task result, over the execution and its children */
  payloads: PayloadSizes;
}

/** A branch or iteration ended because a sibling failed, or the execution timed out. */
class Aborted extends Error {
  override readonly name = 'Aborted';
}

/** The execution's TimeoutSeconds passed (https://states-language.net/spec.html#toplevelfields). */
class ExecutionTimedOut extends Error {
  override readonly name = 'ExecutionTimedOut';
}

interface Scope {
  history: ExecutionHistory;
  options: Required<Pick<ExecutionOptions, 'lambda' | 'clock' | 'random'>> & Pick<ExecutionOptions, 's3'>;
  /** every child execution of the run (shared by the execution and its children) */
  children: ChildExecution[];
  /** the payload sizes seen (shared by the execution and its children) */
  payloads: PayloadSizes;
  execution: { Id: string; Name: string; StartTime: string; Input: unknown; RoleArn: string | null };
  stateMachine: { Id: string; Name: string };
  /** the execution's deadline on its clock (ms), or null without TimeoutSeconds */
  deadline: number | null;
  signal: AbortSignal;
  map?: { Item: { Index: number; Value: unknown } };
}

const LAMBDA_ARN = /^arn:[\w-]+:lambda:[\w-]+:\d{12}:function:[\w-]+$/;

/** Loads the definition (refusing what is not modelled), then runs one execution to its end. */
export async function runExecution(options: ExecutionOptions): Promise<ExecutionResult> {
  const machine = loadDefinition(options.definition);
  checkResources(machine);
  const clock = options.clock;
  const history = new ExecutionHistory(() => clock.now());
  const stateMachineArn = options.stateMachineArn ?? 'arn:aws:states:eu-west-1:111111111111:stateMachine:AuditRun';
  const input = options.input ?? {};
  const start = clock.now();
  const controller = new AbortController();
  const children: ChildExecution[] = [];
  const payloads = new PayloadSizes();
  const scope: Scope = {
    history,
    options: {
      lambda: options.lambda,
      clock,
      random: options.random ?? Math.random,
      ...(options.s3 && { s3: options.s3 }),
    },
    children,
    payloads,
    execution: {
      Id: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${options.name}`,
      Name: options.name,
      StartTime: start.toISOString(),
      Input: input,
      RoleArn: options.roleArn ?? null,
    },
    stateMachine: { Id: stateMachineArn, Name: stateMachineArn.split(':').at(-1) ?? '' },
    deadline: machine.TimeoutSeconds === undefined ? null : start.getTime() + machine.TimeoutSeconds * 1000,
    signal: controller.signal,
  };
  const ended = await execute(machine, input, scope);
  controller.abort(new Aborted('execution ended'));
  const maxHistoryEvents = Math.max(history.events.length, ...children.map((c) => c.history.events.length));
  return { ...ended, history, children, maxHistoryEvents, payloads };
}

type Ending = Pick<ExecutionResult, 'status' | 'output' | 'error' | 'cause'>;

/**
 * Runs one execution (the top-level one, or a Distributed Map's child) from ExecutionStarted to its final event.
 * A child stopped because its Map Run failed rethrows {@link Aborted}; the parent's time-out rethrows
 * {@link ExecutionTimedOut} from a child, so the parent times out.
 */
async function execute(machine: Machine, input: unknown, scope: Scope, child = false): Promise<Ending> {
  const { history } = scope;
  try {
    history.add('ExecutionStarted');
    scope.payloads.check(input, 'execution input', 'input');
    const output = await runMachine(machine, input, scope);
    history.finish('ExecutionSucceeded');
    return { status: 'SUCCEEDED', output };
  } catch (error) {
    if (error instanceof ExecutionTimedOut) {
      history.finish('ExecutionTimedOut', { error: STATES_ERRORS.timeout, cause: 'The execution timed out' });
      if (child) throw error;
      return { status: 'TIMED_OUT', error: STATES_ERRORS.timeout };
    }
    if (child && error instanceof Aborted) {
      history.finish('ExecutionAborted');
      throw error;
    }
    if (error instanceof HistoryLimitReached) {
      history.finish('ExecutionFailed', { error: STATES_ERRORS.runtime, cause: HISTORY_LIMIT_CAUSE });
      return { status: 'FAILED', error: STATES_ERRORS.runtime, cause: HISTORY_LIMIT_CAUSE };
    }
    if (error instanceof StatesError) {
      history.finish('ExecutionFailed', { error: error.error, cause: error.cause });
      return { status: 'FAILED', error: error.error, cause: error.cause };
    }
    throw error;
  }
}

/** Only Lambda function ARNs are modelled as Task resources (the direct "Resource": function-ARN form). */
function checkResources(machine: Machine, where = 'States'): void {
  for (const [name, state] of Object.entries(machine.States)) {
    if (state.Type === 'Task' && !LAMBDA_ARN.test(state.Resource)) {
      throw new DefinitionError(
        `${where}.${name}.Resource: ${state.Resource} is not a Lambda function ARN, the only Task resource the interpreter models`,
      );
    }
    if (state.Type === 'Parallel') {
      for (const [i, branch] of state.Branches.entries()) checkResources(branch, `${where}.${name}.Branches.${i}`);
    }
    if (state.Type === 'Map') {
      const processor = { StartAt: state.ItemProcessor.StartAt, States: state.ItemProcessor.States };
      checkResources(processor, `${where}.${name}.ItemProcessor`);
    }
  }
}

/** Runs states from StartAt until one ends the machine (https://states-language.net/spec.html#transition). */
async function runMachine(machine: Machine, input: unknown, scope: Scope): Promise<unknown> {
  let name = machine.StartAt;
  let data = input;
  for (;;) {
    checkRunning(scope);
    const state = machine.States[name];
    if (!state) throw new StatesError(STATES_ERRORS.runtime, `no state named ${name}`);
    const outcome = await runState(name, state, data, scope);
    if (outcome.next === null) return outcome.output;
    name = outcome.next;
    data = outcome.output;
  }
}

interface Outcome {
  output: unknown;
  next: string | null;
}

function checkRunning(scope: Scope): void {
  if (scope.deadline !== null && scope.options.clock.now().getTime() >= scope.deadline) {
    throw new ExecutionTimedOut('the execution timed out');
  }
  if (scope.signal.aborted) throw scope.signal.reason;
}

function contextOf(scope: Scope, stateName: string, enteredTime: string, retryCount: number): unknown {
  return {
    Execution: scope.execution,
    StateMachine: scope.stateMachine,
    State: { Name: stateName, EnteredTime: enteredTime, RetryCount: retryCount },
    ...(scope.map && { Map: scope.map }),
  };
}

async function runState(name: string, state: State, rawInput: unknown, scope: Scope): Promise<Outcome> {
  const { history } = scope;
  const entered = scope.options.clock.now().toISOString();
  history.add(`${state.Type}StateEntered`, { stateName: name });
  // "Maximum input or output size for a task, state, or execution" (quotas.ts): checked on entry and exit.
  scope.payloads.check(rawInput, name, 'input');
  switch (state.Type) {
    case 'Succeed': {
      const output = filterOutput(filterInput(rawInput, state.InputPath), state.OutputPath);
      history.add('SucceedStateExited', { stateName: name });
      return { output, next: null };
    }
    case 'Fail':
      // https://states-language.net/spec.html#fail-state: the machine (or branch) fails with Error and Cause.
      throw new StatesError(state.Error ?? 'States.Fail', state.Cause ?? '');
    case 'Choice': {
      const output = filterOutput(filterInput(rawInput, state.InputPath), state.OutputPath);
      const next = choose(state, filterInput(rawInput, state.InputPath), contextOf(scope, name, entered, 0));
      history.add('ChoiceStateExited', { stateName: name });
      return { output, next };
    }
    case 'Pass': {
      const output = runPass(state, rawInput, contextOf(scope, name, entered, 0));
      scope.payloads.check(output, name, 'output');
      history.add('PassStateExited', { stateName: name });
      return { output, next: state.Next ?? null };
    }
    case 'Wait': {
      await runWait(state, rawInput, scope);
      const output = filterOutput(filterInput(rawInput, state.InputPath), state.OutputPath);
      history.add('WaitStateExited', { stateName: name });
      return { output, next: state.Next ?? null };
    }
    default:
      return runWithErrorHandling(name, state, rawInput, scope, entered);
  }
}

/**
 * Task, Parallel and Map: input processing, the work, result processing, then Retry and Catch.
 *
 * Order of the filters (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html):
 * InputPath → Parameters (ItemSelector per item for Map) → the work → ResultSelector → ResultPath → OutputPath.
 *
 * Retry (https://states-language.net/spec.html#retrying-after-error): the first retrier whose ErrorEquals matches
 * applies; each retrier counts its own attempts; the wait before attempt n+1 is
 * IntervalSeconds (default 1) × BackoffRate (default 2.0)^n, capped by MaxDelaySeconds, and with JitterStrategy
 * FULL a random fraction of that (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html);
 * MaxAttempts defaults to 3, and 0 means never retried.
 *
 * Catch (https://states-language.net/spec.html#fallback-states): when retries are exhausted, the first catcher
 * that matches sends the error output {Error, Cause}, placed by the catcher's ResultPath (default `$`) into the
 * state's raw input, to its Next. States.ALL does not match States.DataLimitExceeded or States.Runtime (errors.ts).
 */
async function runWithErrorHandling(
  name: string,
  state: TaskState | ParallelState | MapState,
  rawInput: unknown,
  scope: Scope,
  entered: string,
): Promise<Outcome> {
  const { history } = scope;
  const attempts = new Map<Retrier, number>();
  let retryCount = 0;
  for (;;) {
    try {
      const context = contextOf(scope, name, entered, retryCount);
      const effective = filterInput(rawInput, state.InputPath);
      const result = await work(name, state, effective, context, scope);
      const selected =
        state.ResultSelector === undefined ? result : fillTemplate(state.ResultSelector, result, context);
      const merged = applyResultPath(rawInput, selected, state.ResultPath);
      const output = filterOutput(merged, state.OutputPath);
      scope.payloads.check(output, name, 'output');
      history.add(`${state.Type}StateExited`, { stateName: name });
      return { output, next: state.Next ?? null };
    } catch (error) {
      if (!(error instanceof StatesError)) throw error;
      const retrier = (state.Retry ?? []).find((r) => errorMatches(r.ErrorEquals, error.error));
      if (retrier) {
        const done = attempts.get(retrier) ?? 0;
        if (done < (retrier.MaxAttempts ?? 3)) {
          attempts.set(retrier, done + 1);
          retryCount += 1;
          await sleepWithin(retryDelayMs(retrier, done, scope.options.random), scope);
          continue;
        }
      }
      const catcher = (state.Catch ?? []).find((c: Catcher) => errorMatches(c.ErrorEquals, error.error));
      if (!catcher) throw error;
      const output = applyResultPath(rawInput, { Error: error.error, Cause: error.cause }, catcher.ResultPath);
      history.add(`${state.Type}StateExited`, { stateName: name });
      return { output, next: catcher.Next };
    }
  }
}

/** The wait before the retry after `done` earlier retries of this retrier. */
export function retryDelayMs(retrier: Retrier, done: number, random: () => number): number {
  const base = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** done;
  const capped = retrier.MaxDelaySeconds === undefined ? base : Math.min(base, retrier.MaxDelaySeconds);
  return (retrier.JitterStrategy === 'FULL' ? capped * random() : capped) * 1000;
}

async function work(
  name: string,
  state: TaskState | ParallelState | MapState,
  effective: unknown,
  context: unknown,
  scope: Scope,
): Promise<unknown> {
  switch (state.Type) {
    case 'Task': {
      const payload = state.Parameters === undefined ? effective : fillTemplate(state.Parameters, effective, context);
      return invokeLambda(name, state, payload, scope);
    }
    case 'Parallel': {
      const input = state.Parameters === undefined ? effective : fillTemplate(state.Parameters, effective, context);
      return runParallel(name, state, input, scope);
    }
    case 'Map':
      return isDistributed(state)
        ? runDistributedMap(name, state, effective, context, scope)
        : runMap(name, state, effective, context, scope);
  }
}

/**
 * A Task whose Resource is a Lambda function ARN: a synchronous Invoke with the state's payload. The result is the
 * function's JSON response; a function error becomes the error named by its `errorType`, with the runtime's error
 * JSON as the cause (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html, "Handling
 * Lambda errors"); an error of the Lambda service itself is `Lambda.<exception name>`. History per attempt:
 * LambdaFunctionScheduled, LambdaFunctionStarted, then LambdaFunctionSucceeded / LambdaFunctionFailed /
 * LambdaFunctionTimedOut (event types of https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html).
 */
async function invokeLambda(name: string, state: TaskState, payload: unknown, scope: Scope): Promise<unknown> {
  const { history } = scope;
  history.add('LambdaFunctionScheduled', { stateName: name });
  // Step Functions checks the task's input against the payload quota before it schedules the function.
  scope.payloads.check(payload, name, 'input');
  const source: InvocationSource = {
    executionArn: scope.execution.Id,
    stateMachineArn: scope.stateMachine.Id,
    stateName: name,
    roleArn: scope.execution.RoleArn,
  };
  let response: Awaited<ReturnType<LambdaInvoker['invoke']>>;
  try {
    response = await scope.options.lambda.invoke(state.Resource, JSON.stringify(payload ?? null), source);
  } catch (error) {
    if (!(error instanceof LambdaServiceError)) throw error;
    history.add('LambdaFunctionStartFailed', { stateName: name, error: `Lambda.${error.code}`, cause: error.message });
    throw new StatesError(`Lambda.${error.code}`, error.message);
  }
  history.add('LambdaFunctionStarted', { stateName: name });
  if ('functionError' in response) {
    const { errorType } = response.functionError;
    const cause = JSON.stringify(response.functionError);
    const timedOut = errorType === 'Sandbox.Timedout';
    history.add(timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed', {
      stateName: name,
      error: errorType,
      cause,
    });
    throw new StatesError(errorType, cause);
  }
  // The function's response becomes the task's result: the 256 KiB quota applies to it as it arrives.
  if (Buffer.byteLength(response.payload, 'utf8') > 256 * 1024)
    scope.payloads.check(JSON.parse(response.payload), name, 'result');
  history.add('LambdaFunctionSucceeded', { stateName: name });
  return response.payload.length === 0 ? null : JSON.parse(response.payload);
}

/**
 * https://states-language.net/spec.html#parallel-state: every branch gets the state's input; the result is the
 * array of the branches' outputs in branch order; if one branch fails, the others are stopped and the Parallel
 * state fails with that branch's error. History: ParallelStateStarted, the branches' events, then
 * ParallelStateSucceeded or ParallelStateFailed.
 */
async function runParallel(name: string, state: ParallelState, input: unknown, scope: Scope): Promise<unknown> {
  const { history } = scope;
  history.add('ParallelStateStarted', { stateName: name });
  const controller = new AbortController();
  const inner: Scope = { ...scope, signal: AbortSignal.any([scope.signal, controller.signal]) };
  try {
    const outputs = await Promise.all(
      state.Branches.map((branch) =>
        runMachine(branch, input, inner).catch((error: unknown) => {
          controller.abort(new Aborted(`a branch of ${name} failed`));
          throw error;
        }),
      ),
    );
    history.add('ParallelStateSucceeded', { stateName: name });
    return outputs;
  } catch (error) {
    if (error instanceof StatesError) history.add('ParallelStateFailed', { stateName: name, error: error.error });
    throw error;
  }
}

/**
 * An inline Map (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html): ItemsPath selects an
 * array of the effective input; each item, shaped by ItemSelector (with $$.Map.Item.Index / Value in the context),
 * runs the ItemProcessor, at most MaxConcurrency at once (0: no limit). The result is the array of the
 * iterations' outputs; one failed iteration stops the others and fails the Map. History: MapStateStarted, per
 * item MapIterationStarted … MapIterationSucceeded / MapIterationFailed / MapIterationAborted, then
 * MapStateSucceeded or MapStateFailed.
 */
async function runMap(name: string, state: MapState, effective: unknown, context: unknown, scope: Scope) {
  const { history } = scope;
  const items = readPath(effective, state.ItemsPath ?? '$', context);
  if (!Array.isArray(items)) {
    throw new StatesError(STATES_ERRORS.runtime, `Map ${name}: ItemsPath ${state.ItemsPath ?? '$'} is not an array`);
  }
  history.add('MapStateStarted', { stateName: name });
  const processor: Machine = { StartAt: state.ItemProcessor.StartAt, States: state.ItemProcessor.States };
  const controller = new AbortController();
  const signal = AbortSignal.any([scope.signal, controller.signal]);
  const results: unknown[] = new Array(items.length);
  const limit = state.MaxConcurrency && state.MaxConcurrency > 0 ? state.MaxConcurrency : items.length;
  let nextIndex = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && nextIndex < items.length) {
      const index = nextIndex++;
      const map = { Item: { Index: index, Value: items[index] } };
      const itemScope: Scope = { ...scope, signal, map };
      const itemContext = { ...(context as object), Map: map };
      history.add('MapIterationStarted', { stateName: name });
      try {
        const input =
          state.ItemSelector === undefined ? items[index] : fillTemplate(state.ItemSelector, effective, itemContext);
        results[index] = await runMachine(processor, input, itemScope);
        history.add('MapIterationSucceeded', { stateName: name });
      } catch (error) {
        if (error instanceof Aborted) {
          history.add('MapIterationAborted', { stateName: name });
          continue;
        }
        history.add('MapIterationFailed', { stateName: name });
        if (failure === null) failure = error;
        controller.abort(new Aborted(`an iteration of ${name} failed`));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) {
    if (failure instanceof StatesError) history.add('MapStateFailed', { stateName: name, error: failure.error });
    throw failure;
  }
  checkRunning(scope);
  history.add('MapStateSucceeded', { stateName: name });
  return results;
}

/**
 * A Distributed Map (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html): the items come
 * from ItemsPath or, with an ItemReader, from one JSON array in S3 read with the state machine's role (a read that
 * fails, or an object that is not a JSON array, is `States.ItemReaderFailed`); each item, shaped by ItemSelector,
 * runs the ItemProcessor as its own Standard child execution, at most MaxConcurrency at once, each with its own
 * history and therefore its own 25,000-event and 256 KiB quotas (an error that escapes the child fails the child,
 * not the parent). The Map Run fails when failed children exceed ToleratedFailureCount or, as a share of all items,
 * ToleratedFailurePercentage (with neither set, any failed child): the Map then fails with
 * `States.ExceedToleratedFailureThreshold` and the children still running are aborted ("Distributed Map failure
 * threshold", https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html#maprun-fail-threshold;
 * "the maximum percentage of failed items before the Map Run fails", API_UpdateMapRun.html). Without
 * MaxConcurrency AWS runs up to 10,000 children at once (same page); here, all of them. The parent's history gets MapRunStarted and MapRunSucceeded
 * or MapRunFailed (HistoryEvent types, API_HistoryEvent.html), never the children's events, so its size does not
 * depend on the number of items. Results are discarded (definition.ts refuses another ResultPath).
 */
async function runDistributedMap(name: string, state: MapState, effective: unknown, context: unknown, scope: Scope) {
  const { history } = scope;
  const items = state.ItemReader
    ? await readItems(name, state, effective, context, scope)
    : readPath(effective, state.ItemsPath ?? '$', context);
  if (!Array.isArray(items)) {
    throw new StatesError(STATES_ERRORS.runtime, `Map ${name}: ItemsPath ${state.ItemsPath ?? '$'} is not an array`);
  }
  history.add('MapRunStarted', { stateName: name });
  const processor: Machine = { StartAt: state.ItemProcessor.StartAt, States: state.ItemProcessor.States };
  const mapRun = randomUUID();
  const controller = new AbortController();
  const signal = AbortSignal.any([scope.signal, controller.signal]);
  const limit = state.MaxConcurrency && state.MaxConcurrency > 0 ? state.MaxConcurrency : items.length;
  let nextIndex = 0;
  let failed = 0;
  let failure: StatesError | null = null;
  let timedOut: unknown = null;
  const exceeded = () => {
    const { ToleratedFailureCount: count, ToleratedFailurePercentage: percentage } = state;
    if (count === undefined && percentage === undefined) return failed > 0;
    return (
      (count !== undefined && failed > count) ||
      (percentage !== undefined && (failed * 100) / items.length > percentage)
    );
  };
  const worker = async () => {
    // no new child once the Map Run failed, the execution timed out, or the parent was stopped
    while (failure === null && timedOut === null && !signal.aborted && nextIndex < items.length) {
      const index = nextIndex++;
      const itemContext = { ...(context as object), Map: { Item: { Index: index, Value: items[index] } } };
      const input =
        state.ItemSelector === undefined ? items[index] : fillTemplate(state.ItemSelector, effective, itemContext);
      const childName = randomUUID();
      const childHistory = new ExecutionHistory(() => scope.options.clock.now());
      const childScope: Scope = {
        ...scope,
        history: childHistory,
        execution: {
          Id: `${scope.stateMachine.Id.replace(':stateMachine:', ':execution:')}/${mapRun}:${childName}`,
          Name: childName,
          StartTime: scope.options.clock.now().toISOString(),
          Input: input,
          RoleArn: scope.execution.RoleArn,
        },
        stateMachine: { Id: `${scope.stateMachine.Id}/${mapRun}`, Name: `${scope.stateMachine.Name}/${mapRun}` },
        signal,
      };
      delete childScope.map;
      const record = (status: ChildExecution['status'], error?: string) =>
        scope.children.push({
          mapState: name,
          name: childName,
          status,
          ...(error !== undefined && { error }),
          history: childHistory,
        });
      try {
        const ended = await execute(processor, input, childScope, true);
        record(ended.status, ended.error);
        if (ended.status === 'SUCCEEDED') continue;
        failed += 1;
        if (failure === null && exceeded()) {
          failure = new StatesError(
            STATES_ERRORS.exceedToleratedFailureThreshold,
            `The specified tolerated failure threshold was exceeded: ${failed} of ${items.length} child executions failed (the first to exceed it: ${ended.error}: ${ended.cause ?? ''})`,
          );
          controller.abort(new Aborted(`the Map Run of ${name} failed`));
        }
      } catch (error) {
        if (error instanceof Aborted) {
          record('ABORTED');
          continue;
        }
        if (error instanceof ExecutionTimedOut) {
          record('TIMED_OUT', STATES_ERRORS.timeout);
          timedOut = error;
          controller.abort(new Aborted('the execution timed out'));
          continue;
        }
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (timedOut !== null) throw timedOut;
  if (failure !== null) {
    history.add('MapRunFailed', { stateName: name, error: (failure as StatesError).error });
    throw failure;
  }
  checkRunning(scope);
  history.add('MapRunSucceeded', { stateName: name });
  return null;
}

/** The ItemReader's items: GetObject of `Parameters.Bucket`/`Key` (paths resolved), parsed as one JSON array. */
async function readItems(name: string, state: MapState, effective: unknown, context: unknown, scope: Scope) {
  const reader = state.ItemReader;
  if (!reader) return undefined;
  const { Bucket: bucket, Key: key } = fillTemplate(reader.Parameters, effective, context) as Record<string, unknown>;
  const fail = (why: string) =>
    new StatesError(
      STATES_ERRORS.itemReaderFailed,
      `Map ${name}: the ItemReader could not read s3://${bucket}/${key}: ${why}`,
    );
  if (typeof bucket !== 'string' || typeof key !== 'string') throw fail('Bucket and Key must be strings');
  if (!scope.options.s3)
    throw new DefinitionError(`Map ${name} reads its items from S3, and the execution was given no S3`);
  let text: string;
  try {
    text = await scope.options.s3.getObject(bucket, key);
  } catch (error) {
    throw fail(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  }
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch {
    throw fail('the object is not JSON');
  }
  if (!Array.isArray(items)) throw fail('the object is not a JSON array');
  return reader.ReaderConfig.MaxItems === undefined ? items : items.slice(0, reader.ReaderConfig.MaxItems);
}

/** https://states-language.net/spec.html#pass-state: Result (or the effective input) placed by ResultPath. */
function runPass(state: PassState, rawInput: unknown, context: unknown): unknown {
  const effective = filterInput(rawInput, state.InputPath);
  const parameters = state.Parameters === undefined ? effective : fillTemplate(state.Parameters, effective, context);
  const result = state.Result === undefined ? parameters : state.Result;
  return filterOutput(applyResultPath(rawInput, result, state.ResultPath), state.OutputPath);
}

/** https://states-language.net/spec.html#wait-state: Seconds, SecondsPath, Timestamp or TimestampPath. */
async function runWait(state: WaitState, rawInput: unknown, scope: Scope): Promise<void> {
  const effective = filterInput(rawInput, state.InputPath);
  const context = contextOf(scope, '', '', 0);
  let ms: number;
  if (state.Seconds !== undefined) ms = state.Seconds * 1000;
  else if (state.SecondsPath !== undefined) {
    const seconds = readPath(effective, state.SecondsPath, context);
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
      throw new StatesError(STATES_ERRORS.runtime, `SecondsPath ${state.SecondsPath} is not a non-negative integer`);
    }
    ms = seconds * 1000;
  } else {
    const stamp = state.Timestamp ?? String(readPath(effective, state.TimestampPath ?? '$', context));
    const at = Date.parse(stamp);
    if (Number.isNaN(at)) throw new StatesError(STATES_ERRORS.runtime, `Timestamp ${stamp} is not an ISO 8601 time`);
    ms = Math.max(0, at - scope.options.clock.now().getTime());
  }
  await sleepWithin(ms, scope);
}

/** Sleeps on the execution's clock, but never past its deadline (then the execution times out). */
async function sleepWithin(ms: number, scope: Scope): Promise<void> {
  const now = scope.options.clock.now().getTime();
  if (scope.deadline !== null && now + ms >= scope.deadline) {
    await scope.options.clock.sleep(Math.max(0, scope.deadline - now), scope.signal);
    throw new ExecutionTimedOut('the execution timed out');
  }
  await scope.options.clock.sleep(ms, scope.signal);
}

/** InputPath (https://states-language.net/spec.html#filters): `null` gives `{}`; default `$`. */
function filterInput(input: unknown, inputPath: string | null | undefined): unknown {
  if (inputPath === null) return {};
  return inputPath === undefined ? input : readPath(input, inputPath, {});
}

/** OutputPath: `null` gives `{}`; default `$`. */
function filterOutput(output: unknown, outputPath: string | null | undefined): unknown {
  if (outputPath === null) return {};
  return outputPath === undefined ? output : readPath(output, outputPath, {});
}

/**
 * https://states-language.net/spec.html#choice-state: the first rule that matches gives Next; else Default; else
 * States.NoChoiceMatched. A comparison of a Variable that is absent, or of the wrong type, is false (not an error),
 * except that Variable paths that select nothing fail with States.Runtime, as the spec says for paths.
 */
function choose(state: ChoiceState, input: unknown, context: unknown): string {
  for (const rule of state.Choices) if (matches(rule, input, context)) return rule.Next as string;
  if (state.Default !== undefined) return state.Default;
  throw new StatesError(STATES_ERRORS.noChoiceMatched, 'No Choice rule matched and there is no Default');
}

function matches(rule: ChoiceRule, input: unknown, context: unknown): boolean {
  if (rule.And) return rule.And.every((r) => matches(r, input, context));
  if (rule.Or) return rule.Or.some((r) => matches(r, input, context));
  if (rule.Not) return !matches(rule.Not, input, context);
  const variable = rule.Variable as string;
  const operator = Object.keys(rule).find((k) => !['Variable', 'Next', 'Comment'].includes(k)) ?? '';
  const operand = rule[operator];
  if (operator === 'IsPresent') return pathExists(input, variable, context) === operand;
  const value = readPath(input, variable, context);
  const expected = operator.endsWith('Path') ? readPath(input, String(operand), context) : operand;
  const op = operator.replace(/Path$/, '');
  switch (op) {
    case 'IsNull':
      return (value === null) === expected;
    case 'IsNumeric':
      return (typeof value === 'number') === expected;
    case 'IsString':
      return (typeof value === 'string') === expected;
    case 'IsBoolean':
      return (typeof value === 'boolean') === expected;
    case 'IsTimestamp':
      return (typeof value === 'string' && !Number.isNaN(Date.parse(value))) === expected;
    case 'BooleanEquals':
      return typeof value === 'boolean' && value === expected;
    case 'StringMatches':
      return typeof value === 'string' && globMatches(String(expected), value);
  }
  const kind = op.match(/^(String|Numeric|Timestamp)/)?.[1];
  const relation = op.replace(/^(String|Numeric|Timestamp)/, '');
  let a: string | number;
  let b: string | number;
  if (kind === 'Numeric') {
    if (typeof value !== 'number' || typeof expected !== 'number') return false;
    [a, b] = [value, expected];
  } else if (kind === 'String') {
    if (typeof value !== 'string' || typeof expected !== 'string') return false;
    [a, b] = [value, expected];
  } else {
    if (typeof value !== 'string' || typeof expected !== 'string') return false;
    [a, b] = [Date.parse(value), Date.parse(expected)];
    if (Number.isNaN(a) || Number.isNaN(b)) return false;
  }
  switch (relation) {
    case 'Equals':
      return a === b;
    case 'LessThan':
      return a < b;
    case 'GreaterThan':
      return a > b;
    case 'LessThanEquals':
      return a <= b;
    case 'GreaterThanEquals':
      return a >= b;
  }
  throw new DefinitionError(`Choice operator ${operator} is not modelled`);
}

/** StringMatches: `*` matches any run of characters; `\*` and `\\` are literal (spec, Choice state). */
function globMatches(pattern: string, value: string): boolean {
  let regex = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '\\' && i + 1 < pattern.length) regex += escapeRegex(pattern[++i] ?? '');
    else if (c === '*') regex += '.*';
    else regex += escapeRegex(c);
  }
  return new RegExp(`^${regex}$`, 's').test(value);
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
