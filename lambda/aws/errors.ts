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

/**
 * Socket errors Node reports when a connection breaks or cannot be made; the SDK retries them as transient
 * (@smithy/core submodules/retry/service-error-classification/constants.js: `NODEJS_TIMEOUT_ERROR_CODES` and
 * `NODEJS_NETWORK_ERROR_CODES`).
 */
const CONNECTION_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * The service's error name of an SDK error (`error.name`), else `Error`; a broken connection is named by its socket
 * code (`ECONNRESET`) rather than a bare `Error`.
 */
export function errorCode(error: unknown): string {
  const socket = socketCode(error);
  if (socket !== null) return socket;
  if (error instanceof Error) return error.name;
  return 'Error';
}

/** A DynamoDB conditional write whose condition did not hold: an answer (another writer came first), not a failure. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * An error a later attempt may well not meet: no answer at all (the connection), a server error (5xx) or
 * throttling. The SDK's retry classes the same way; this is for a call sent without its retries.
 */
export function isTransient(error: unknown): boolean {
  if (isConnectionFailure(error)) return true;
  const { status } = metadataOf(error);
  return (status !== null && status >= 500) || THROTTLING_ERRORS.has(errorCode(error));
}

const THROTTLING_ERRORS = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException']);

/**
 * A step's failure a later attempt of the step may not meet: the error, or the SDK error an adapter wrapped
 * ({@link AwsCallError} keeps it as `cause`), is transient. The state machine retries a cluster's step on it
 * (lib/constructs/audit-workflow.ts TRANSIENT_STEP_ERRORS), and the local runner does the same.
 */
export function isTransientFailure(error: unknown): boolean {
  return isTransient(error) || (error instanceof Error && error.cause !== undefined && isTransient(error.cause));
}

/** True when the connection broke or could not be made (no AWS answer at all). */
export function isConnectionFailure(error: unknown): boolean {
  return socketCode(error) !== null;
}

function socketCode(error: unknown): string | null {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CONNECTION_ERRORS.has(code) ? code : null;
}

/** HTTP status and attempts of an SDK error (`$metadata`), when it has them. */
function metadataOf(error: unknown): { status: number | null; attempts: number | null } {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown; attempts?: unknown } } | null)?.$metadata;
  const number = (value: unknown) => (typeof value === 'number' ? value : null);
  return { status: number(metadata?.httpStatusCode), attempts: number(metadata?.attempts) };
}

/**
 * One line: the SDK error's first line (a deserialization failure adds a second line about `$response`), said
 * plainly when the connection broke or when a 2xx answer was not the service's JSON or XML — what a proxy, a
 * captive portal or a load balancer's error page in front of the endpoint looks like.
 */
function errorMessage(error: unknown): string {
  const text = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.trim() || '(no message)';
  const { status, attempts } = metadataOf(error);
  const tries = attempts !== null && attempts > 1 ? `, ${attempts} attempts` : '';
  const socket = socketCode(error);
  if (socket === 'ECONNRESET' || socket === 'EPIPE') {
    return `the connection was reset before the answer was complete (${text}${tries})`;
  }
  if (socket !== null) return `the endpoint could not be reached (${text}${tries})`;
  const unreadable = error instanceof SyntaxError || /XML parse error|Deserialization error/.test(String(error));
  if (unreadable && status !== null && status >= 200 && status < 300) {
    return `HTTP ${status} answer that is not the service's JSON or XML (${text}); is a proxy answering for the endpoint?`;
  }
  return text;
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
