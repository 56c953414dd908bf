import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
/** Debian's `chromium` package; CHROMIUM may name another binary. */
const CHROMIUM = process.env.CHROMIUM ?? 'chromium';
// Without the background-networking flags an offline machine floods refused connections.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Runs headless Chromium once with its own profile folder inside `dir` and returns what it printed on stdout
 * (`--dump-dom`: the DOM after the page's scripts, if any, ran).
 */
export async function chromium(dir: string, args: ReadonlyArray<string>): Promise<string> {
  return (await chromiumOutput(dir, args)).stdout;
}

/**
 * {@link chromium}, also returning stderr: with `--enable-logging=stderr` Chromium writes every message of the
 * page's console there, one `INFO:CONSOLE` line each (a Content-Security-Policy violation is one).
 */
export async function chromiumOutput(
  dir: string,
  args: ReadonlyArray<string>,
): Promise<{ stdout: string; stderr: string }> {
  const profile = await mkdtemp(join(dir, 'chromium-profile-'));
  try {
    const { stdout, stderr } = await exec(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args], {
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${CHROMIUM} not found: install it (apt-get install -y chromium) or set CHROMIUM to its path`);
    }
    throw error;
  }
}

/**
 * The URLs a page loaded itself, from a `--log-net-log` file: URL requests started with the page's own network
 * isolation key (`file://` for a page opened from disk). The browser's own background requests carry another key
 * (or `null null`), so they are not counted, as this Chromium writes them (checked against a page loading an image).
 * The file maps event names to integer ids in its `constants`, then lists the events
 * (https://textslashplain.com/2020/04/08/analyzing-network-traffic-logs-netlog-json/).
 */
export function pageRequests(netLog: string): string[] {
  const log = JSON.parse(netLog) as {
    constants: { logEventTypes: Record<string, number> };
    events: Array<{ type: number; params?: { url?: string; network_isolation_key?: string } }>;
  };
  const start = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  return log.events.flatMap((e) =>
    e.type === start && e.params?.network_isolation_key?.startsWith('file://') && e.params.url ? [e.params.url] : [],
  );
}
