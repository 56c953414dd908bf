import { type ClusterOutcome, recordFailure, type StepDeps } from '#workflow/steps.js';
import { FailedClusterEventSchema, type StatesError, taskOf } from './events.js';
import { deps } from './runtime.js';
import { stepHandler } from './step-handler.js';

/** RecordFailure: the iteration's Catch. The cluster is stored as AUDIT-FAILED with the error; the run goes on. */
export function createRecordFailureHandler(stepDeps: StepDeps) {
  return stepHandler(
    'record-failure',
    FailedClusterEventSchema,
    (event): Promise<ClusterOutcome> => recordFailure(taskOf(event), errorOf(event.error), stepDeps),
  );
}

/**
 * The error a Catch caught, as an Error. For a failed Lambda function `Cause` is the runtime's JSON
 * (`{"errorType":"AwsCallError","errorMessage":"…","trace":[…]}`); for States.* errors it is plain text or absent.
 */
export function errorOf(caught: StatesError): Error {
  let name = caught.Error;
  let message = caught.Cause ?? 'no cause given';
  try {
    const cause: unknown = JSON.parse(caught.Cause ?? '');
    if (cause && typeof cause === 'object') {
      const { errorType, errorMessage } = cause as { errorType?: unknown; errorMessage?: unknown };
      if (typeof errorType === 'string' && errorType.length > 0) name = errorType;
      if (typeof errorMessage === 'string') message = errorMessage;
    }
  } catch {
    // plain-text cause
  }
  const error = new Error(message.split('\n')[0]);
  error.name = name;
  return error;
}

export const handler = createRecordFailureHandler(deps);
