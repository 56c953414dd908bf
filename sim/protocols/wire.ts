/**
 * What the protocol modules share: the parsed request, the response to write, and the error every simulated
 * operation throws (each protocol writes it in its own wire shape).
 */

export interface SimRequest {
  method: string;
  /** path without the query string */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** An AWS error: HTTP status, the error code the SDK turns into the exception's name, and a message. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One page of `items` after an opaque `nextToken`; a token this simulator did not hand out is an error. */
export function paginate<T>(
  items: ReadonlyArray<T>,
  options: {
    maxResults: number | undefined;
    nextToken: string | undefined;
    limits: { min: number; max: number; default: number };
    /** the service answers at most this many a page, whatever maxResults says */
    cap?: number | undefined;
  },
  invalid: (message: string) => ApiError,
): { page: T[]; nextToken: string | undefined } {
  const { min, max } = options.limits;
  const size = options.maxResults ?? options.limits.default;
  if (!Number.isInteger(size) || size < min || size > max) {
    throw invalid(`maxResults must be between ${min} and ${max}, got ${size}`);
  }
  let start = 0;
  if (options.nextToken !== undefined && options.nextToken !== '') {
    const decoded = decodeToken(options.nextToken);
    if (decoded === null || decoded > items.length) throw invalid('The nextToken is not valid.');
    start = decoded;
  }
  const end = start + Math.min(size, options.cap ?? size);
  return { page: items.slice(start, end), nextToken: end < items.length ? encodeToken(end) : undefined };
}

/** The opaque token of the page starting at `offset` (what {@link paginate} hands out and reads). */
export function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ sim: 'page', offset })).toString('base64');
}

function decodeToken(token: string): number | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (value !== null && typeof value === 'object' && 'offset' in value && Number.isInteger(value.offset)) {
      return value.offset as number;
    }
    return null;
  } catch {
    return null;
  }
}

/** Escapes text for XML element content. */
export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
