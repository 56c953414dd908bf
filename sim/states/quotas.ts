import { STATES_ERRORS, StatesError } from './errors.js';

/**
 * The Step Functions quotas the interpreter enforces, as AWS enforces them.
 *
 * Source: "Step Functions service quotas", https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
 */

/**
 * "Maximum input or output size for a task, state, or execution: 256 KiB of data as a UTF-8 encoded string."
 * Beyond it the state fails with `States.DataLimitExceeded`, which `States.ALL` does not catch (errors.ts).
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * "Maximum execution history size: 25,000 events in a single state machine execution history." The execution
 * fails: event 25,000 is the `ExecutionFailed` event itself, with error `States.Runtime` and the cause below (as
 * observed on AWS: https://github.com/loads/ardere/issues/86, https://github.com/floci-io/floci/issues/2734).
 */
export const MAX_HISTORY_EVENTS = 25_000;
export const HISTORY_LIMIT_CAUSE = `The execution reached the maximum number of history events (${MAX_HISTORY_EVENTS}).`;

/** The UTF-8 size of a payload as Step Functions measures it: its JSON text. */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

/**
 * Throws `States.DataLimitExceeded` when `value` is larger than the payload quota; else returns its size. `what`
 * names the state or task the way the service's cause does.
 */
export function checkPayload(value: unknown, stateName: string, kind: PayloadKind): number {
  return checkPayloadBytes(payloadBytes(value), stateName, kind);
}

type PayloadKind = 'input' | 'output' | 'result';

function checkPayloadBytes(bytes: number, stateName: string, kind: PayloadKind): number {
  if (bytes <= MAX_PAYLOAD_BYTES) return bytes;
  const cause =
    kind === 'input'
      ? `The state/task '${stateName}' has an input with a size exceeding the maximum number of bytes service limit (${bytes} > ${MAX_PAYLOAD_BYTES}).`
      : `The state/task '${stateName}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} > ${MAX_PAYLOAD_BYTES}).`;
  throw new StatesError(STATES_ERRORS.dataLimitExceeded, cause);
}

/**
 * The largest input, output or task result each state had in one execution, in the quota's bytes: what a run's
 * payloads come to, e.g. to show that a cluster's state does not grow with its nodes.
 */
export class PayloadSizes {
  /** state name → its largest payload in bytes */
  readonly byState = new Map<string, number>();

  /** Checks `value` against the quota ({@link checkPayload}) and remembers its size for `stateName`. */
  check(value: unknown, stateName: string, kind: PayloadKind): void {
    const bytes = payloadBytes(value);
    this.byState.set(stateName, Math.max(bytes, this.byState.get(stateName) ?? 0));
    checkPayloadBytes(bytes, stateName, kind);
  }

  /** The largest payload of the execution, in bytes. */
  get maxBytes(): number {
    return Math.max(0, ...this.byState.values());
  }
}

/**
 * Lambda "Invocation payload (request and response): 6 MB each for request and response (synchronous)", from
 * "Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html. The exact figures are
 * those of the service's own messages: a response above 6,291,556 bytes becomes the function error
 * `Function.ResponseSizeTooLarge` ("Response payload size exceeded maximum allowed payload size (6291556 bytes).",
 * as AWS answers and moto reproduces it: https://github.com/getmoto/moto, tests/test_awslambda), a request above
 * 6,291,456 bytes is refused with RequestTooLargeException.
 */
export const MAX_LAMBDA_RESPONSE_BYTES = 6_291_556;
export const MAX_LAMBDA_REQUEST_BYTES = 6_291_456;

/**
 * Lambda "Function timeout: 900 seconds (15 minutes)" (same page). A function that runs past its configured
 * timeout is stopped and the invocation answers the function error `Sandbox.Timedout`, message
 * "RequestId: … Error: Task timed out after N.00 seconds" (the runtime interface emulator's wording,
 * https://github.com/aws/aws-lambda-runtime-interface-emulator).
 */
export const MAX_LAMBDA_TIMEOUT_SECONDS = 900;
