/**
 * Step Functions errors as the service names and matches them.
 *
 * Source: "Handling errors in Step Functions workflows",
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 */

/** An error a state reports: its name (what `ErrorEquals` matches) and cause, as in the execution history. */
export class StatesError extends Error {
  override readonly name = 'StatesError';
  constructor(
    readonly error: string,
    override readonly cause: string,
  ) {
    super(`${error}: ${cause}`);
  }
}

/** The definition uses something this interpreter does not model: it refuses to run it rather than guess. */
export class DefinitionError extends Error {
  override readonly name = 'DefinitionError';
}

/** The named errors of the Amazon States Language this interpreter raises or matches. */
export const STATES_ERRORS = {
  all: 'States.ALL',
  taskFailed: 'States.TaskFailed',
  timeout: 'States.Timeout',
  runtime: 'States.Runtime',
  dataLimitExceeded: 'States.DataLimitExceeded',
  parameterPathFailure: 'States.ParameterPathFailure',
  resultPathMatchFailure: 'States.ResultPathMatchFailure',
  noChoiceMatched: 'States.NoChoiceMatched',
  exceedToleratedFailureThreshold: 'States.ExceedToleratedFailureThreshold',
  itemReaderFailed: 'States.ItemReaderFailed',
} as const;

/**
 * Whether a retrier's or catcher's `ErrorEquals` matches `error`. As the error-handling page says:
 *
 * - `States.ALL` matches any error name except `States.DataLimitExceeded` ("a terminal error that can't be caught
 *   by the States.ALL error type") and `States.Runtime`;
 * - `States.Runtime` is never retried or caught ("errors occurring at runtime are not retriable and will always
 *   cause the execution to fail"), not even by its own name;
 * - `States.TaskFailed` "acts as a wildcard that matches any known error name except for States.Timeout" (and,
 *   like States.ALL, not the two terminal errors);
 * - any other name matches itself only (names are case-sensitive).
 */
export function errorMatches(errorEquals: ReadonlyArray<string>, error: string): boolean {
  if (error === STATES_ERRORS.runtime) return false;
  const terminal = error === STATES_ERRORS.dataLimitExceeded;
  return errorEquals.some((name) => {
    if (name === error) return true;
    if (name === STATES_ERRORS.all) return !terminal;
    if (name === STATES_ERRORS.taskFailed) return !terminal && error !== STATES_ERRORS.timeout;
    return false;
  });
}
