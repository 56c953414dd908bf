import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { FunctionError, InvocationSource, LambdaInvoker, LambdaResponse } from './lambda.js';
import { LambdaServiceError } from './lambda.js';
import { MAX_LAMBDA_REQUEST_BYTES, MAX_LAMBDA_RESPONSE_BYTES, MAX_LAMBDA_TIMEOUT_SECONDS } from './quotas.js';

/** A Lambda handler as the Node.js runtime calls it. */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** One deployed function: its handler and its configuration as in the template. */
export interface LocalFunction {
  handler: LambdaHandler;
  /**
   * Builds the handler of a new execution environment (its Init: module-scope clients built afresh). Given, each
   * invocation runs in an environment of its own that no other invocation uses while it runs — "for each concurrent
   * request, Lambda provisions a separate instance of your execution environment"
   * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html) — and a free environment is reused (a
   * warm start), so what a handler keeps in module scope (SDK clients, their adaptive-retry rate limiters) is shared
   * by the invocations one environment runs one after another, never by concurrent ones. Unset: every invocation
   * runs `handler`, as if one environment served them all at once.
   */
  environment?: () => LambdaHandler;
  /** the function's Timeout (seconds), at most 900 */
  timeoutSeconds: number;
  memorySize?: number;
}

export interface LambdaServiceOptions {
  /** real milliseconds per function second (the simulated fleet's time scale × 1000) */
  msPerSecond?: number;
}

/** One invocation as the service saw it: for tests and reports. */
export interface InvocationRecord {
  functionArn: string;
  stateName: string;
  requestBytes: number;
  responseBytes: number;
  outcome: 'ok' | 'function-error' | 'timed-out';
  /** real milliseconds from the handler's start to its answer (or to the time-out) */
  durationMs: number;
  /** the function's MemorySize (MB), what its GB-seconds are billed at */
  memorySize: number;
}

/**
 * A local Lambda service for the state machine interpreter: each function ARN of the template runs its real
 * handler, in process, with the event as the runtime would give it (a fresh parse of the JSON payload) and a
 * runtime Context. What Lambda enforces on a synchronous Invoke is enforced here (quotas.ts): the request and
 * response size quotas and the function's timeout, which itself may not exceed 15 minutes. An error the handler
 * throws becomes a function error `{errorType, errorMessage, trace}` as the Node.js runtime reports it
 * (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-exceptions.html).
 */
export class LocalLambdaService implements LambdaInvoker {
  readonly invocations: InvocationRecord[] = [];
  /** execution environments created, per function ARN (functions deployed with `environment` only) */
  readonly environments = new Map<string, number>();
  private readonly functions = new Map<string, LocalFunction>();
  /** the free (warm) environments of each function, by ARN */
  private readonly idle = new Map<string, LambdaHandler[]>();
  private readonly msPerSecond: number;

  constructor(options: LambdaServiceOptions = {}) {
    this.msPerSecond = options.msPerSecond ?? 1000;
  }

  /** Deploys a function; refuses a timeout Lambda would refuse (CreateFunction: Timeout 1–900). */
  deploy(functionArn: string, fn: LocalFunction): void {
    if (
      !Number.isInteger(fn.timeoutSeconds) ||
      fn.timeoutSeconds < 1 ||
      fn.timeoutSeconds > MAX_LAMBDA_TIMEOUT_SECONDS
    ) {
      throw new LambdaServiceError(
        'InvalidParameterValueException',
        `${functionArn}: Timeout ${fn.timeoutSeconds} s is outside Lambda's 1–${MAX_LAMBDA_TIMEOUT_SECONDS} s (15 minutes)`,
      );
    }
    this.functions.set(functionArn, fn);
  }

  async invoke(functionArn: string, payload: string, source: InvocationSource): Promise<LambdaResponse> {
    const fn = this.functions.get(functionArn);
    if (!fn) throw new LambdaServiceError('ResourceNotFoundException', `Function not found: ${functionArn}`);
    const requestBytes = Buffer.byteLength(payload, 'utf8');
    if (requestBytes > MAX_LAMBDA_REQUEST_BYTES) {
      throw new LambdaServiceError(
        'RequestTooLargeException',
        `${requestBytes} byte payload is too large for the RequestResponse invocation type (limit ${MAX_LAMBDA_REQUEST_BYTES} bytes)`,
      );
    }
    const requestId = randomUUID();
    const timeoutMs = fn.timeoutSeconds * this.msPerSecond;
    const started = Date.now();
    const record = (responseBytes: number, outcome: InvocationRecord['outcome']) =>
      this.invocations.push({
        functionArn,
        stateName: source.stateName,
        requestBytes,
        responseBytes,
        outcome,
        durationMs: Date.now() - started,
        memorySize: fn.memorySize ?? DEFAULT_MEMORY_MB,
      });
    const context = contextFor(functionArn, requestId, fn, () => timeoutMs - (Date.now() - started));
    const handler = this.takeEnvironment(functionArn, fn);
    let timedOutEnvironment = false;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed-out'>((resolve) => {
      timer = setTimeout(() => resolve('timed-out'), timeoutMs);
    });
    try {
      const outcome = await Promise.race([
        handler(JSON.parse(payload), context).then((value) => ({ value })),
        timedOut,
      ]);
      if (outcome === 'timed-out') {
        timedOutEnvironment = true;
        record(0, 'timed-out');
        return functionError({
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${requestId} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
        });
      }
      const body = JSON.stringify(outcome.value ?? null);
      const responseBytes = Buffer.byteLength(body, 'utf8');
      if (responseBytes > MAX_LAMBDA_RESPONSE_BYTES) {
        record(responseBytes, 'function-error');
        return functionError({
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_LAMBDA_RESPONSE_BYTES} bytes).`,
        });
      }
      record(responseBytes, 'ok');
      return { payload: body };
    } catch (error) {
      record(0, 'function-error');
      const e = error instanceof Error ? error : new Error(String(error));
      return functionError({ errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') });
    } finally {
      clearTimeout(timer);
      // an environment whose invocation timed out is still running it (in process nothing can stop it): not reused
      if (fn.environment && !timedOutEnvironment) {
        this.idle.get(functionArn)?.push(handler);
      }
    }
  }

  /** A free environment of the function, or a new one; the shared handler for a function without `environment`. */
  private takeEnvironment(functionArn: string, fn: LocalFunction): LambdaHandler {
    if (!fn.environment) return fn.handler;
    const idle = this.idle.get(functionArn) ?? [];
    this.idle.set(functionArn, idle);
    const warm = idle.pop();
    if (warm) return warm;
    this.environments.set(functionArn, (this.environments.get(functionArn) ?? 0) + 1);
    return fn.environment();
  }
}

/** The MemorySize of a function deployed without one: the hub's functions' default (lib/constructs/audit-function.ts). */
const DEFAULT_MEMORY_MB = 512;

function functionError(error: FunctionError): LambdaResponse {
  return { functionError: error };
}

function contextFor(functionArn: string, requestId: string, fn: LocalFunction, remaining: () => number): Context {
  const functionName = functionArn.split(':').at(-1) ?? functionArn;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: String(fn.memorySize ?? DEFAULT_MEMORY_MB),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, remaining()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
