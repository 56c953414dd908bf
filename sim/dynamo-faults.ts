import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { faultFires, hashString, mulberry32 } from './random.js';
import type { Fault } from './scenario.js';

/**
 * A loopback front for dynalite that breaks DynamoDB the ways DynamoDB breaks, so the store's retries and its error
 * reporting are exercised: a scenario's `dynamodb:<Operation>` faults (or `dynamodb:*`) answer a share of the calls
 * (`throttle`, `serverError`, drawn from a seeded generator) or the first N (`throttleFirst`, `serverErrorFirst`)
 * with the errors DynamoDB sends, in its JSON 1.0 wire shape (Error handling with DynamoDB, "Error components" and
 * "Error messages and codes", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
 *
 * - ProvisionedThroughputExceededException, HTTP 400: "You exceeded your maximum allowed provisioned throughput for
 *   a table or for one or more global secondary indexes" (on-demand tables get it too when a partition is hot);
 *   the SDK retries it as throttling.
 * - InternalServerError, HTTP 500: "DynamoDB could not process your request"; the SDK retries it as a server error.
 *
 * `batchWriteUnprocessedFirst` leaves half of the first N BatchWriteItem calls' items unprocessed instead, as a
 * throttled partition does (BatchWriteItem API reference, UnprocessedItems).
 */
export interface DynamoFaultOptions {
  /** the scenario's faults; only `dynamodb:` ones apply */
  faults?: ReadonlyArray<Fault>;
  /** seeds the share-of-calls faults */
  seed?: number;
  batchWriteUnprocessedFirst?: number;
}

/** One call the front answered with an error instead of passing it to dynalite. */
export interface InjectedDynamoCall {
  operation: string;
  fault: 'throttle' | 'serverError';
}

const ERROR_TYPE_PREFIX = 'com.amazonaws.dynamodb.v20120810#';
const ERRORS = {
  throttle: {
    status: 400,
    type: 'ProvisionedThroughputExceededException',
    message:
      'You exceeded your maximum allowed provisioned throughput for a table or for one or more global secondary indexes.',
  },
  serverError: { status: 500, type: 'InternalServerError', message: 'Internal server error' },
} as const;

type WriteRequests = Record<string, unknown[]>;

/** True when the options ask for a front at all. */
export function wantsDynamoFront(options: DynamoFaultOptions): boolean {
  return (
    options.batchWriteUnprocessedFirst !== undefined ||
    (options.faults ?? []).some((fault) => fault.api.startsWith('dynamodb:'))
  );
}

/** The front: forwards every call to `target` (dynalite) unless a fault answers it. `injected` lists those. */
export function createDynamoFaultFront(
  target: string,
  options: DynamoFaultOptions,
): { server: Server; injected: InjectedDynamoCall[] } {
  const faults = (options.faults ?? []).filter((fault) => fault.api.startsWith('dynamodb:'));
  const counts = faults.map(() => 0);
  const random = mulberry32(hashString(`dynamodb-faults|${options.seed ?? 1}`));
  let unprocessedLeft = options.batchWriteUnprocessedFirst ?? 0;
  const injected: InjectedDynamoCall[] = [];

  const faultFor = (operation: string): InjectedDynamoCall['fault'] | null => {
    let fault: InjectedDynamoCall['fault'] | null = null;
    for (const [i, spec] of faults.entries()) {
      if (spec.api !== 'dynamodb:*' && spec.api !== `dynamodb:${operation}`) continue;
      const n = (counts[i] ?? 0) + 1;
      counts[i] = n;
      if (fault) continue;
      if (faultFires(n, spec.throttleFirst, spec.throttle, random)) fault = 'throttle';
      else if (faultFires(n, spec.serverErrorFirst, spec.serverError, random)) fault = 'serverError';
    }
    return fault;
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const operation = String(request.headers['x-amz-target'] ?? '').replace(/^DynamoDB_\d+\./, '');
      const fault = faultFor(operation);
      if (fault) {
        injected.push({ operation, fault });
        const error = ERRORS[fault];
        response.writeHead(error.status, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(JSON.stringify({ __type: `${ERROR_TYPE_PREFIX}${error.type}`, message: error.message }));
        return;
      }
      let body = Buffer.concat(chunks).toString();
      let held: WriteRequests = {};
      if (operation === 'BatchWriteItem' && unprocessedLeft > 0) {
        unprocessedLeft--;
        const input = JSON.parse(body) as { RequestItems: WriteRequests };
        const sent: WriteRequests = {};
        for (const [table, requests] of Object.entries(input.RequestItems)) {
          const half = Math.ceil(requests.length / 2);
          sent[table] = requests.slice(0, half);
          if (requests.length > half) held[table] = requests.slice(half);
        }
        body = JSON.stringify({ ...input, RequestItems: sent });
      } else {
        held = {};
      }
      const answer = await fetch(target, {
        method: request.method ?? 'POST',
        headers: forwarded(request.headers),
        body,
      });
      let text = await answer.text();
      if (answer.ok && Object.keys(held).length > 0) {
        const output = JSON.parse(text) as { UnprocessedItems?: WriteRequests };
        text = JSON.stringify({ ...output, UnprocessedItems: { ...output.UnprocessedItems, ...held } });
      }
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      response.end(text);
    });
  });
  return { server, injected };
}

/** The request's headers as fetch takes them, without those that describe the hop rather than the call. */
function forwarded(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(
      (entry): entry is [string, string] =>
        typeof entry[1] === 'string' && !['host', 'content-length', 'connection'].includes(entry[0]),
    ),
  );
}
