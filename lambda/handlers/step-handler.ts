import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { isTransientFailure } from '#aws/errors.js';
import { messageOf } from '#workflow/steps.js';
import { logger } from './observability.js';

/**
 * An event the function cannot work with: the state machine and the function disagree about a payload. Named, so
 * that Step Functions shows `InvalidEventError` and a retry is seen to be pointless.
 */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

/** Parses a state's payload; one line naming the first bad field. */
export function parseEvent<S extends z.ZodType>(schema: S, event: unknown, step: string): z.output<S> {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(the event)';
  throw new InvalidEventError(`${step}: event field ${field}: ${issue?.message ?? 'invalid'}`);
}

/**
 * A step failed on an AWS call that was throttled, unanswered or failed on the server side past the SDK's retries:
 * named so, the state machine retries the cluster's step (lib/constructs/audit-workflow.ts TRANSIENT_STEP_ERRORS)
 * instead of recording the cluster AUDIT-FAILED. The message and cause are the call's.
 */
export class TransientAwsError extends Error {
  override readonly name = 'TransientAwsError';
}

/**
 * A thin Lambda handler around one workflow step: parse the event, run the step, log the outcome. A failure is
 * logged once, with its cause, and rethrown as an Error whose `name` becomes the Step Functions error name
 * (`AwsCallError`, `StoredItemError`, `InvalidEventError`, …) for the state machine's Catch.
 */
export function stepHandler<S extends z.ZodType, R>(
  step: string,
  schema: S,
  run: (input: z.output<S>) => Promise<R>,
): (event: unknown, context?: Context) => Promise<R> {
  return async (event, context) => {
    if (context) logger.addContext(context);
    try {
      const input = parseEvent(schema, event, step);
      const result = await run(input);
      logger.info(`${step} done`, { step });
      return result;
    } catch (error) {
      const thrown = error instanceof Error ? error : new Error(messageOf(error));
      const failure = isTransientFailure(thrown) ? new TransientAwsError(thrown.message, { cause: thrown }) : thrown;
      logger.error(`${step} failed`, failure);
      throw failure;
    }
  };
}
