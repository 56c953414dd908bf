/**
 * One Lambda invocation killed mid-step, as when the function's process exits (out of memory, a crash): the step
 * does part of its work, then nothing more of it happens, and the Lambda service answers the Invoke with the
 * function error `Runtime.ExitError`, "RequestId: … Error: Runtime exited with error: signal: killed"
 * (https://repost.aws/knowledge-center/lambda-runtime-error). What follows is the state machine's own Retry/Catch.
 */
import type { Context } from 'aws-lambda';
import type { LambdaHandler } from '#sim/states/lambda-service.js';
import type { StepDeps } from '#workflow/steps.js';

/** The errorType Lambda reports for an invocation whose runtime process exited before it answered. */
export const RUNTIME_EXIT_ERROR = 'Runtime.ExitError';

/** What the killed invocation had done: its completed calls to the table and to SNS, in order. */
export interface KilledInvocation {
  requestId: string;
  /** `store.<method>` / `publisher.publish`, each completed before the kill */
  callsDone: string[];
}

/** A step's handler built on the dependencies given (realHandler bound to them). */
export type HandlerOn = (deps: StepDeps) => LambdaHandler;

/**
 * The calls one invocation makes to the table and to SNS, in order as each completes (the store's and the
 * publisher's async methods; the store's slot pool is not counted). `onKill` runs, once, when `killWhen` says so of
 * the calls completed so far; from then on no call of this invocation completes (the process is gone): neither a
 * call still in flight nor a new one.
 */
function watchedDeps(deps: StepDeps, killWhen: (callsDone: ReadonlyArray<string>) => boolean, onKill: () => void) {
  const callsDone: string[] = [];
  let dead = false;
  const never = new Promise<never>(() => undefined);
  const watch = <T extends object>(target: T, name: string): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return async (...args: unknown[]) => {
          if (dead) return never;
          const result: unknown = await value.apply(object, args);
          if (dead) return never;
          callsDone.push(`${name}.${property}`);
          if (killWhen(callsDone)) {
            dead = true;
            onKill();
            return never;
          }
          return result;
        };
      },
    });
  const watched: StepDeps = {
    ...deps,
    store: watch(deps.store, 'store'),
    publisher: deps.publisher && watch(deps.publisher, 'publisher'),
  };
  return { deps: watched, callsDone };
}

/**
 * The handler of a step whose first invocation that `selects` is killed once `killWhen` holds of its completed
 * calls to the table or SNS (every other invocation runs the real handler untouched). The killed invocation answers
 * {@link RUNTIME_EXIT_ERROR}; `killed` says what it had done, `null` while no invocation was killed (or the selected
 * invocation ended, well or badly, before `killWhen` held).
 */
export function killOneInvocation(options: {
  build: HandlerOn;
  deps: StepDeps;
  killWhen: (callsDone: ReadonlyArray<string>) => boolean;
  selects?: (event: unknown) => boolean;
}): { handler: LambdaHandler; killed: () => KilledInvocation | null } {
  const real = options.build(options.deps);
  let armed = true;
  let killed: KilledInvocation | null = null;
  const handler: LambdaHandler = async (event: unknown, context: Context) => {
    if (!armed || !(options.selects?.(event) ?? true)) return real(event, context);
    armed = false;
    let exit: (error: Error) => void = () => undefined;
    const exited = new Promise<never>((_, reject) => {
      exit = reject;
    });
    const watched = watchedDeps(options.deps, options.killWhen, () => {
      killed = { requestId: context.awsRequestId, callsDone: watched.callsDone };
      const error = new Error(`RequestId: ${context.awsRequestId} Error: Runtime exited with error: signal: killed`);
      error.name = RUNTIME_EXIT_ERROR;
      exit(error);
    });
    return Promise.race([options.build(watched.deps)(event, context), exited]);
  };
  return { handler, killed: () => killed };
}

/** Counts the calls to the table and SNS a step's invocations make (no kill): to place a kill in a later night. */
export function countCalls(options: { build: HandlerOn; deps: StepDeps; selects?: (event: unknown) => boolean }): {
  handler: LambdaHandler;
  calls: () => string[];
} {
  const real = options.build(options.deps);
  const calls: string[] = [];
  const handler: LambdaHandler = async (event: unknown, context: Context) => {
    if (!(options.selects?.(event) ?? true)) return real(event, context);
    const watched = watchedDeps(
      options.deps,
      () => false,
      () => undefined,
    );
    try {
      return await options.build(watched.deps)(event, context);
    } finally {
      calls.push(...watched.callsDone);
    }
  };
  return { handler, calls: () => [...calls] };
}
