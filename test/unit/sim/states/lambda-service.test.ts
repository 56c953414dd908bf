import { describe, expect, it } from 'vitest';
import type { LambdaResponse } from '#sim/states/lambda.js';
import { type LambdaHandler, LocalLambdaService } from '#sim/states/lambda-service.js';

const FN = 'arn:aws:lambda:eu-west-1:111111111111:function:Step';
const SOURCE = { executionArn: 'e', stateMachineArn: 'm', stateName: 'Step', roleArn: null };

const payloadOf = (response: LambdaResponse) => ('payload' in response ? response.payload : null);
const errorTypeOf = (response: LambdaResponse) =>
  'functionError' in response ? response.functionError.errorType : null;

/** A function whose every execution environment has a number, and answers with it after `ms`. */
function numberedEnvironments(ms: (event: unknown) => number) {
  let created = 0;
  const environment = (): LambdaHandler => {
    const id = ++created;
    return async (event) => {
      await new Promise((resolve) => setTimeout(resolve, ms(event)));
      return id;
    };
  };
  return environment;
}

describe('LocalLambdaService execution environments (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html)', () => {
  it('runs concurrent invocations in environments of their own and reuses a free one after', async () => {
    // Arrange
    const lambda = new LocalLambdaService();
    const environment = numberedEnvironments(() => 20);
    lambda.deploy(FN, { handler: environment(), environment, timeoutSeconds: 10 });

    // Act
    const concurrent = await Promise.all([1, 2, 3].map((n) => lambda.invoke(FN, String(n), SOURCE)));
    const after = await lambda.invoke(FN, '4', SOURCE);

    // Assert: three environments at once (the deployed handler, environment 1, is not one of them), then a warm one
    const ids = concurrent.map((r) => Number(payloadOf(r)));
    expect(new Set(ids).size).toBe(3);
    expect(ids).not.toContain(1);
    expect(ids).toContain(Number(payloadOf(after)));
    expect(lambda.environments.get(FN)).toBe(3);
  });

  it('does not reuse an environment whose invocation timed out (its handler may still be running)', async () => {
    // Arrange: a 1 s timeout at 10 real ms a second; the first invocation runs 50 ms
    const lambda = new LocalLambdaService({ msPerSecond: 10 });
    const environment = numberedEnvironments((event) => (event === 'slow' ? 50 : 0));
    lambda.deploy(FN, { handler: environment(), environment, timeoutSeconds: 1 });

    // Act
    const slow = await lambda.invoke(FN, '"slow"', SOURCE);
    const next = await lambda.invoke(FN, '"fast"', SOURCE);

    // Assert
    expect(errorTypeOf(slow)).toBe('Sandbox.Timedout');
    expect(payloadOf(next)).toBe('3');
    expect(lambda.environments.get(FN)).toBe(2);
  });

  it('without `environment`, runs every invocation on the one handler, as before', async () => {
    // Arrange
    const lambda = new LocalLambdaService();
    const environment = numberedEnvironments(() => 5);
    lambda.deploy(FN, { handler: environment(), timeoutSeconds: 10 });

    // Act
    const answers = await Promise.all([1, 2].map((n) => lambda.invoke(FN, String(n), SOURCE)));

    // Assert
    expect(answers.map(payloadOf)).toEqual(['1', '1']);
    expect(lambda.environments.get(FN)).toBeUndefined();
  });
});
