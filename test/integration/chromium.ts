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
  const profile = await mkdtemp(join(dir, 'chromium-profile-'));
  try {
    const { stdout } = await exec(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args], {
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${CHROMIUM} not found: install it (apt-get install -y chromium) or set CHROMIUM to its path`);
    }
    throw error;
  }
}
