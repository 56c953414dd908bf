import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { callerOf, type RecordedCall } from './call-log.js';

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
  close(): Promise<void>;
}

/**
 * Starts dynalite on a loopback port: in memory, or kept in `path` (LevelDB) so consecutive local runs see history.
 * With `record`, every request is also recorded (sim/call-log.ts) for the IAM proof.
 */
export async function startDynalite(options: { path?: string; record?: boolean } = {}): Promise<LocalDynamo> {
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const calls: RecordedCall[] = [];
  if (options.record) server.prependListener('request', (req: IncomingMessage) => recordRequest(req, calls));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  const clientFor = (caller: string | undefined, account: string, region: string) => {
    const client = new DynamoDBClient({
      endpoint,
      region,
      credentials: {
        accessKeyId: account,
        secretAccessKey: 'local',
        ...(caller !== undefined && { sessionToken: caller }),
      },
      maxAttempts: 3,
    });
    clients.push(client);
    return client;
  };
  const client = clientFor(undefined, 'local', 'us-east-1');
  return {
    endpoint,
    client,
    clientFor,
    calls,
    close: async () => {
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** Reads the request alongside dynalite (both listen to the same stream) and records it once it has ended. */
function recordRequest(req: IncomingMessage, calls: RecordedCall[]): void {
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
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    try {
      call.input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      call.input = {};
    }
  });
}
