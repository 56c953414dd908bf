/**
 * The one error the AWS adapters throw: which call failed, for what, and the SDK error as `cause`.
 * `code` is the service's error name (`ThrottlingException`, `AccessDeniedException`, …) so callers can tell a
 * missing resource from a denied or failing call without importing SDK types.
 */
export class AwsCallError extends Error {
  override readonly name = 'AwsCallError';
  /** e.g. `eks:DescribeCluster` */
  readonly operation: string;
  /** the SDK error's name, or `Error` when the cause is not an SDK error */
  readonly code: string;

  constructor(operation: string, subject: string, cause: unknown) {
    const code = errorCode(cause);
    super(`${operation} ${subject} failed: ${code}: ${errorMessage(cause)}`, { cause });
    this.operation = operation;
    this.code = code;
  }

  /** True when AWS said the resource does not exist (cluster, node group, add-on, log group, command). */
  get notFound(): boolean {
    return NOT_FOUND_CODES.has(this.code);
  }
}

const NOT_FOUND_CODES = new Set(['ResourceNotFoundException', 'NotFoundException', 'NotFound', 'InvalidCommandId']);

/** The service's error name of an SDK error (`error.name`), else `Error`. */
export function errorCode(error: unknown): string {
  if (error instanceof Error) return error.name;
  return 'Error';
}

function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] || '(no message)';
}

/** Runs one AWS call and wraps anything it throws in an {@link AwsCallError}. */
export async function awsCall<T>(operation: string, subject: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof AwsCallError) throw error;
    throw new AwsCallError(operation, subject, error);
  }
}
