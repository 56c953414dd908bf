/**
 * What a Task state needs from Lambda: a synchronous Invoke of a function by ARN with a JSON payload. The local
 * Lambda service (sim/lambda-service.ts) implements it with the real handlers; the interpreter maps its answers to
 * Step Functions errors.
 */

/** A function error as the Lambda runtime reports it (the `Payload` of an Invoke with `FunctionError` set). */
export interface FunctionError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export type LambdaResponse = { payload: string } | { functionError: FunctionError };

/** Who invokes: the execution and the state, as Step Functions' own request would tell Lambda. */
export interface InvocationSource {
  executionArn: string;
  stateMachineArn: string;
  stateName: string;
  /** the state machine's role: Step Functions calls Lambda with it */
  roleArn: string | null;
}

export interface LambdaInvoker {
  /** Invoke (RequestResponse). Rejects with {@link LambdaServiceError} when Lambda itself refuses or fails. */
  invoke(functionArn: string, payload: string, source: InvocationSource): Promise<LambdaResponse>;
}

/**
 * Lambda refused the Invoke (throttled, too large a request, no such function, …). Step Functions reports it as
 * `Lambda.<code>`, e.g. `Lambda.TooManyRequestsException`, which the tasks' Retry covers.
 */
export class LambdaServiceError extends Error {
  override readonly name = 'LambdaServiceError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
