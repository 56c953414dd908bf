import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A failpoint proxy: loopback fronts for the backends a process under test writes to (dynalite for the store's
 * DynamoDB client, the simulator for the SNS publisher). It forwards every request unchanged, counts the writes —
 * DynamoDB PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems and SNS Publish — and at write N,
 * when armed, SIGKILLs the process (through `kill`) either just before the write reaches the backend, or just after
 * the backend applied it and before its response reaches the client. From the kill on nothing is forwarded: a
 * request arriving meanwhile is held unanswered until the process is gone.
 */

export type FailpointMode = 'before' | 'after';

/** Where a write went: DynamoDB's target name, or `Publish`; and the item it wrote (`pk|sk`), when one. */
export interface CountedWrite {
  n: number;
  service: 'dynamodb' | 'sns';
  action: string;
  key: string | null;
}

export interface Failpoint {
  /** the write (1-based, in the order the proxy received them) to kill at */
  at: number;
  mode: FailpointMode;
  /** kills the process under test and resolves once it has exited */
  kill: () => Promise<void>;
}

export interface FailpointProxy {
  /** a loopback endpoint that forwards to `target` and counts `service`'s writes */
  front(service: CountedWrite['service'], target: string): Promise<string>;
  /** every write received, in order (the one killed at included) */
  readonly writes: CountedWrite[];
  /** the failpoint fired: the write it killed at */
  readonly fired: CountedWrite | null;
  close(): Promise<void>;
}

/** DynamoDB's write operations (X-Amz-Target `DynamoDB_20120810.<name>`). */
const DYNAMODB_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export function failpointProxy(failpoint: Failpoint | null): FailpointProxy {
  const servers: Server[] = [];
  const writes: CountedWrite[] = [];
  let fired: CountedWrite | null = null;

  const handle = async (
    service: CountedWrite['service'],
    target: string,
    req: IncomingMessage,
    res: ServerResponse,
  ) => {
    const body = await readBody(req);
    if (fired) return; // the process is being killed: hold the request, it will never be answered
    const write = writeOf(service, req, body);
    const counted = write ? { ...write, n: writes.length + 1 } : null;
    if (counted) writes.push(counted);
    const killHere = counted && counted.n === failpoint?.at ? counted : null;
    if (killHere && failpoint?.mode === 'before') {
      fired = killHere;
      await failpoint.kill();
      res.destroy();
      return;
    }
    if (killHere) fired = killHere;
    const answer = await forward(target, req, body);
    if (killHere && failpoint) {
      await failpoint.kill();
      res.destroy();
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };

  return {
    writes,
    get fired() {
      return fired;
    },
    async front(service, target) {
      const server = createServer((req, res) => {
        handle(service, target, req, res).catch(() => res.destroy());
      });
      // the client's sockets die with it: a reset connection is expected, not a failure of the proxy
      server.on('clientError', (_error, socket) => socket.destroy());
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function writeOf(service: CountedWrite['service'], req: IncomingMessage, body: Buffer): Omit<CountedWrite, 'n'> | null {
  if (service === 'sns') {
    return new URLSearchParams(body.toString('utf8')).get('Action') === 'Publish'
      ? { service, action: 'Publish', key: null }
      : null;
  }
  const action = String(req.headers['x-amz-target'] ?? '').replace(/^DynamoDB_\d+\./, '');
  if (!DYNAMODB_WRITES.has(action)) return null;
  const input = JSON.parse(body.toString('utf8')) as {
    Item?: Record<string, { S?: string }>;
    Key?: Record<string, { S?: string }>;
  };
  const item = input.Item ?? input.Key;
  return { service, action, key: item ? `${item.pk?.S}|${item.sk?.S}` : null };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** The request as received, to `target`; resolves once the whole response is in. */
function forward(target: string, req: IncomingMessage, body: Buffer): Promise<Answer> {
  const url = new URL(req.url ?? '/', target);
  const headers = { ...req.headers, host: url.host };
  return new Promise((resolve, reject) => {
    const out = request(url, { method: req.method, headers }, (response) => {
      readBody(response).then(
        (data) =>
          resolve({
            status: response.statusCode ?? 502,
            headers: Object.fromEntries(
              Object.entries(response.headers).filter(
                (entry): entry is [string, string | string[]] => entry[1] !== undefined && entry[0] !== 'connection',
              ),
            ),
            body: data,
          }),
        reject,
      );
    });
    out.on('error', reject);
    out.end(body);
  });
}
