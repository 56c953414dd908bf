import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { sdkClientConfig } from '#aws/sdk-config.js';
import { callerOf, type RecordedCall } from './call-log.js';
import { createDynamoFaultFront, type InjectedDynamoCall, wantsDynamoFront } from './dynamo-faults.js';
import type { Fault } from './scenario.js';

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  /**
   * A client that acts for `caller` in `account`/`region` (the session token names the caller), so that its calls
   * are recorded as that function's.
   */
  clientFor(caller: string, account: string, region: string): DynamoDBClient;
  /** every request dynalite received, with its caller (empty unless `record` was set) */
  calls: RecordedCall[];
  /** the calls the fault front answered with an error instead (empty without faults) */
  injected: InjectedDynamoCall[];
  close(): Promise<void>;
}

export interface DynaliteOptions {
  /** keep the tables in this folder (LevelDB); unset: in memory */
  path?: string;
  /**
   * The first N BatchWriteItem calls write only the first half of their items and hand the rest back in
   * UnprocessedItems, as DynamoDB does when a partition is throttled ("If any requested operations fail because
   * the table's provisioned throughput is exceeded or an internal processing failure occurs, the failed operations
   * are returned in the UnprocessedItems response parameter", BatchWriteItem API reference,
   * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html). dynalite never does.
   */
  batchWriteUnprocessedFirst?: number;
  /** a scenario's `dynamodb:` faults: throttling and server errors from a front (sim/dynamo-faults.ts) */
  faults?: ReadonlyArray<Fault>;
  /** seeds the share-of-calls faults */
  seed?: number;
  /** every request is also recorded (sim/call-log.ts) for the IAM proof */
  record?: boolean;
}

/**
 * Starts dynalite on a loopback port: in memory, or kept in `path` (LevelDB) so consecutive local runs see history.
 * dynalite enforces DynamoDB's item limits itself: 25 requests per BatchWriteItem (ValidationException) and 400 KB
 * per item ("Item size has exceeded the maximum allowed size"; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
 * With `record`, every request is also recorded (sim/call-log.ts) for the IAM proof.
 */
export async function startDynalite(options: DynaliteOptions = {}): Promise<LocalDynamo> {
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const calls: RecordedCall[] = [];
  if (options.record)
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => recordRequest(req, res, calls));
  await listen(server);
  const dynaliteEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const faults = wantsDynamoFront(options) ? createDynamoFaultFront(dynaliteEndpoint, options) : null;
  const front = faults?.server ?? null;
  if (front) await listen(front);
  const endpoint = front ? `http://127.0.0.1:${(front.address() as AddressInfo).port}` : dynaliteEndpoint;
  const clients: DynamoDBClient[] = [];
  const clientFor = (caller: string | undefined, account: string, region: string) => {
    // the project's one retry policy, as the Lambda functions' store client has it (lambda/handlers/runtime.ts)
    const client = new DynamoDBClient(
      sdkClientConfig({
        endpoint,
        region,
        credentials: {
          accessKeyId: account,
          secretAccessKey: 'local',
          ...(caller !== undefined && { sessionToken: caller }),
        },
      }),
    );
    clients.push(client);
    return client;
  };
  const client = clientFor(undefined, 'local', 'us-east-1');
  return {
    endpoint,
    client,
    clientFor,
    calls,
    injected: faults?.injected ?? [],
    close: async () => {
      for (const c of clients) c.destroy();
      if (front) await close(front);
      await close(server);
    },
  };
}

function listen(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

function close(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

/**
 * Reads the request alongside dynalite (both listen to the same stream) and records it once it has ended, with the
 * size of dynalite's answer (a read's request units follow the bytes it returns).
 */
function recordRequest(req: IncomingMessage, res: ServerResponse, calls: RecordedCall[]): void {
  const chunks: Buffer[] = [];
  const target = String(req.headers['x-amz-target'] ?? '');
  const identity = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\//.exec(String(req.headers.authorization ?? ''));
  const call: RecordedCall = {
    service: 'dynamodb',
    action: target.replace(/^DynamoDB_\d+\./, ''),
    caller: callerOf(req.headers),
    account: identity?.[1] ?? null,
    region: identity?.[2] ?? null,
    input: {},
  };
  calls.push(call);
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  const count = (chunk: unknown) => {
    if (typeof chunk === 'string' || chunk instanceof Uint8Array)
      call.responseBytes = (call.responseBytes ?? 0) + Buffer.byteLength(chunk);
  };
  res.write = ((chunk: unknown, ...rest: never[]) => {
    count(chunk);
    return write(chunk as string, ...rest);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: never[]) => {
    count(chunk);
    return end(chunk as string, ...rest);
  }) as typeof res.end;
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    try {
      call.input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      call.input = {};
    }
  });
}
