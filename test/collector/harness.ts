import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { COLLECTOR_MAX_BYTES, type NodeReport, parseNodeReport } from '#audit/node-report.js';

/**
 * Runs the real collector/collect.sh, as root, inside network namespaces the tests create and remove. Every
 * run gets safe defaults: a private lock file, an empty log root, and metrics/IMDS addresses on the loopback
 * (never the real instance metadata address), so a test only sets what it is about.
 */
const run = promisify(execFile);

export const repoRoot = resolve(import.meta.dirname, '../..');
export const collectorPath = join(repoRoot, 'collector/collect.sh');
/** Fixtures captured from real systems, with their sources: see test/fixtures/README.md. */
export const realFixtures = resolve(repoRoot, 'test/fixtures');
/** A loopback address where nothing listens (and, inside a fresh namespace, no interface is up). */
export const CLOSED_URL = 'http://127.0.0.1:1';

export type Backend = 'legacy' | 'nft';

/** Creates a network namespace `fa-<random>`; remove it with {@link deleteNetns}. */
export async function createNetns(): Promise<string> {
  const name = `fa-${randomBytes(4).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  return name;
}

/** Deletes a namespace made by {@link createNetns}; a missing one is fine. */
export async function deleteNetns(name: string | undefined): Promise<void> {
  if (!name) return;
  await run('ip', ['netns', 'del', name]).catch(() => undefined);
}

/** A temporary directory; remove it with {@link removeDir}. */
export function makeTempDir(prefix = 'fa-collector-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Runs a command with `input` on stdin; resolves with stdout, rejects on a non-zero status. */
export function runWithInput(command: string, args: readonly string[], input: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
    child.stdin.end(input);
  });
}

/** Loads iptables-restore input into one backend of a namespace, waiting at most 5 s for a private lock. */
export async function loadRuleset(netns: string, backend: Backend, text: string, lockFile: string): Promise<void> {
  await runWithInput(
    'ip',
    ['netns', 'exec', netns, 'env', `XTABLES_LOCKFILE=${lockFile}`, `iptables-${backend}-restore`, '-w', '5'],
    text,
  );
}

/** A backend's ruleset as iptables-save prints it, without comment lines and packet counters. */
export async function savedRuleset(netns: string, backend: Backend): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, `iptables-${backend}-save`], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]/g, '[counters]'))
    .join('\n');
}

/** A fresh namespace and temporary directory with a ruleset loaded into one backend: see {@link loadedNamespace}. */
export interface LoadedNamespace {
  readonly netns: string;
  readonly dir: string;
  /** The lock file the ruleset was loaded under, in `dir`. */
  readonly lockFile: string;
  /** The backend's ruleset as saved right after loading. */
  readonly before: string;
}

/**
 * Creates a namespace and a temporary directory and loads `text` into `backend` under `<dir>/<lockName>` (made
 * first, empty and mode 600, with `createLockFile`). Remove both with {@link removeNetnsAndDir}.
 */
export async function loadedNamespace(
  backend: Backend,
  text: string,
  options: { lockName?: string; createLockFile?: boolean } = {},
): Promise<LoadedNamespace> {
  const netns = await createNetns();
  const dir = makeTempDir();
  try {
    const lockFile = join(dir, options.lockName ?? 'xtables.lock');
    if (options.createLockFile) writeFileSync(lockFile, '', { mode: 0o600 });
    await loadRuleset(netns, backend, text, lockFile);
    return { netns, dir, lockFile, before: await savedRuleset(netns, backend) };
  } catch (error) {
    await removeNetnsAndDir(netns, dir);
    throw error;
  }
}

/** Deletes a namespace and removes a directory; either may be missing. */
export async function removeNetnsAndDir(netns: string | undefined, dir: string | undefined): Promise<void> {
  await deleteNetns(netns);
  removeDir(dir);
}

/** A directory whose `awk` is the given program: mawk, gawk, or busybox's applet. */
export function awkPathDir(awk: 'mawk' | 'gawk' | 'busybox'): string {
  const dir = makeTempDir(`fa-awk-${awk}-`);
  symlinkSync(awk === 'busybox' ? '/usr/bin/busybox' : `/usr/bin/${awk}`, join(dir, 'awk'));
  return dir;
}

export interface CollectorRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
  readonly wallMs: number;
  /** The output as plain JSON, to assert on exact values. */
  readonly json: Record<string, unknown> & { [section: string]: unknown };
  /** The output read through the project's zod schema. */
  readonly report: NodeReport;
}

export interface CollectorRunOptions {
  /** Namespace to run in; the host's when absent. */
  readonly netns?: string;
  /** Hook variables; the defaults below cover the ones not given. */
  readonly env?: Readonly<Record<string, string>>;
  /** Directory put first on PATH (e.g. one whose awk is mawk). */
  readonly pathPrefix?: string;
  /** PATH to use instead of the test's own. */
  readonly path?: string;
  /** 'fast' (2 samples over 20 ms, the default here) or the collector's own default (20 over 2 s). */
  readonly lockSampling?: 'fast' | 'collector-default';
  /** A command the run goes through, e.g. an `unshare` wrapper that ends with `exec "$@"`. */
  readonly prefix?: readonly string[];
  /** Another copy of the script to run (e.g. with a lowered size limit). */
  readonly scriptPath?: string;
}

/**
 * Runs the collector under `env -i` with only the hook variables given (plus safe defaults), and checks
 * that it printed one schema-valid JSON object of at most 2,400 bytes and nothing on stderr.
 */
export async function runCollector(options: CollectorRunOptions = {}): Promise<CollectorRun> {
  const basePath = options.path ?? process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
  const env: Record<string, string> = {
    PATH: options.pathPrefix ? `${options.pathPrefix}:${basePath}` : basePath,
    XTABLES_LOCKFILE: '/nonexistent/fa-private-xtables.lock',
    FLEET_AUDIT_ROOT: '/nonexistent/fa-empty-root',
    FLEET_AUDIT_KUBE_PROXY_URL: CLOSED_URL,
    FLEET_AUDIT_IPAMD_URL: CLOSED_URL,
    FLEET_AUDIT_IMDS_URL: CLOSED_URL,
    ...(options.lockSampling === 'collector-default'
      ? {}
      : { FLEET_AUDIT_LOCK_SAMPLES: '2', FLEET_AUDIT_LOCK_WINDOW_MS: '20' }),
    ...options.env,
  };
  const command = [
    ...(options.prefix ?? []),
    'env',
    '-i',
    ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
    'bash',
    options.scriptPath ?? collectorPath,
  ];
  const [program, ...args] = options.netns ? ['ip', 'netns', 'exec', options.netns, ...command] : command;
  const started = performance.now();
  const result = await new Promise<{ stdout: string; stderr: string; code: number }>((resolvePromise) => {
    execFile(program as string, args, { maxBuffer: 1024 * 1024, cwd: repoRoot }, (error, stdout, stderr) => {
      const code = error && typeof error.code === 'number' ? error.code : error ? 1 : 0;
      resolvePromise({ stdout, stderr, code });
    });
  });
  const wallMs = performance.now() - started;
  // Every run, whatever the test is about, must print one valid report within the size limit, and nothing else.
  const parsed = parseNodeReport(result.stdout);
  if (!parsed.ok) {
    throw new Error(`collector output is not a valid report (${parsed.problem}): ${result.stdout}${result.stderr}`);
  }
  const bytes = Buffer.byteLength(result.stdout);
  if (bytes > COLLECTOR_MAX_BYTES) {
    throw new Error(`collector output is ${bytes} bytes, more than ${COLLECTOR_MAX_BYTES}`);
  }
  if (result.stderr !== '') throw new Error(`collector wrote to stderr: ${result.stderr}`);
  return {
    stdout: result.stdout,
    stderr: result.stderr,
    exitCode: result.code,
    wallMs,
    json: JSON.parse(result.stdout) as CollectorRun['json'],
    report: parsed.report,
  };
}

/** A section of a collector JSON object, for property assertions. */
export function section(run: CollectorRun, name: string): Record<string, unknown> {
  return run.json[name] as Record<string, unknown>;
}

/** What a test HTTP server answers on one path: a body, or no answer at all (a hung endpoint). */
export type Route = { status?: number; body: string } | 'hang';

export interface TestHttpServer {
  readonly url: string;
  /** Requests seen, as "METHOD /path". */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP server for metrics and IMDS endpoints. `routes` maps "METHOD /path" (or "/path" for GET)
 * to an answer; anything else is a 404. `guard` may refuse a request (IMDSv2 token checks). `host` is the
 * address it listens on: another one than the loopback lets a collector in a network namespace reach it over
 * a veth pair.
 */
export async function startHttpServer(
  routes: Readonly<Record<string, Route>>,
  guard?: (request: IncomingMessage) => boolean,
  host = '127.0.0.1',
): Promise<TestHttpServer> {
  const requests: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const key = `${request.method} ${request.url}`;
    requests.push(key);
    const route = routes[key] ?? (request.method === 'GET' ? routes[request.url ?? ''] : undefined);
    if (route === 'hang') return;
    if (!route || (guard && !guard(request))) {
      response.writeHead(route ? 401 : 404).end();
      return;
    }
    response.writeHead(route.status ?? 200, { 'content-type': 'text/plain; version=0.0.4' }).end(route.body);
  });
  await new Promise<void>((resolvePromise) => server.listen(0, host, resolvePromise));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}

/**
 * Starts `program` under another name (a copy in `dir`), so /proc/PID/comm shows that name, and resolves
 * once the process runs. Stop it with {@link stopProcess}.
 */
export async function spawnNamed(
  program: string,
  name: string,
  dir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ChildProcess> {
  const copy = join(dir, name);
  copyFileSync(program, copy);
  const child = spawn(copy, args, { env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' });
  await new Promise<void>((resolvePromise, reject) => {
    child.once('spawn', () => resolvePromise());
    child.once('error', reject);
  });
  return child;
}

/** Kills a process started by {@link spawnNamed} and waits for it to end. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const ended = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
  child.kill('SIGKILL');
  await ended;
}

/** Polls `condition` every 10 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 10));
  }
}

/** The /proc/locks lines about one inode, split into granted locks and waiters ("->" lines). */
export function locksOn(inode: number): { granted: number[]; waiting: number[] } {
  const granted: number[] = [];
  const waiting: number[] = [];
  for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    const isWaiter = fields[1] === '->';
    const rest = isWaiter ? fields.slice(1) : fields;
    if (rest[5]?.endsWith(`:${inode}`)) (isWaiter ? waiting : granted).push(Number(rest[4]));
  }
  return { granted, waiting };
}

/**
 * A prefix for {@link CollectorRunOptions.prefix}: a private mount namespace in which the given programs are
 * /dev/null (there, but not executable), as on a node that lacks them.
 */
export function hiding(...programs: readonly string[]): readonly string[] {
  return [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    'for p in "$@"; do case $p in --) shift; break ;; esac; [ -e "$p" ] && mount --bind /dev/null "$p"; shift; done; exec "$@"',
    'hiding',
    ...programs,
    '--',
  ];
}

/** A node without curl. */
export const WITHOUT_CURL = hiding('/usr/bin/curl', '/usr/local/bin/curl');
