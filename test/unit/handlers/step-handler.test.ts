import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AwsCallError } from '#aws/errors.js';

// the handler logs each failure (lambda/handlers/observability.ts reads the level at import)
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
const { stepHandler, TransientAwsError } = await import('#handlers/step-handler.js');

const failingWith = (error: unknown) =>
  stepHandler('poll', z.object({}), async () => {
    throw error;
  });

describe('stepHandler', () => {
  it('names a call throttled past the SDK’s retries TransientAwsError, for the state machine’s Retry, keeping its message and cause', async () => {
    // Arrange
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400, attempts: 6 },
    });
    const wrapped = new AwsCallError('ssm:ListCommands', 'command c-1', throttled);

    // Act
    const thrown = await failingWith(wrapped)({}).catch((e: unknown) => e);

    // Assert
    expect(thrown).toBeInstanceOf(TransientAwsError);
    expect(thrown).toMatchObject({
      name: 'TransientAwsError',
      message: 'ssm:ListCommands command c-1 failed: ThrottlingException: Rate exceeded',
      cause: wrapped,
    });
  });

  it('names a server error (5xx) so too, and leaves an access denial as it is', async () => {
    const unavailable = Object.assign(new Error('unavailable'), { $metadata: { httpStatusCode: 503 } });
    const denied = Object.assign(new Error('not authorized'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });

    const transient = await failingWith(unavailable)({}).catch((e: unknown) => e);
    const final = await failingWith(new AwsCallError('eks:DescribeCluster', 'cluster a', denied))({}).catch(
      (e: unknown) => e,
    );

    expect((transient as Error).name).toBe('TransientAwsError');
    expect((final as Error).name).toBe('AwsCallError');
  });
});
