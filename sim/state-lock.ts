import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * A lock on a local state folder, so that two `fleet-audit` processes never open its dynalite database at once:
 * LevelDB allows one process per database, and the second one used to die with "Database is closed".
 *
 * The lock is a file, `lock`, holding who took it. It is created whole or not at all (written to a private file,
 * then hard-linked into place: `link` fails when the name exists), so a reader never sees a half-written holder.
 * A holder that is gone — its process exited without removing the file (killed, power loss) — does not block: the
 * next process finds the pid dead, or alive but started at another time (a pid reused after the holder died, read
 * from /proc/<pid>/stat), or started before the last boot (/proc/sys/kernel/random/boot_id), and takes the lock over.
 */

const LockHolderSchema = z.object({
  pid: z.number().int().positive(),
  hostname: z.string(),
  /** the kernel's boot id when the lock was taken (Linux), else null */
  bootId: z.string().nullable(),
  /** the holder's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), else null */
  processStart: z.string().nullable(),
  /** what the holder is doing, e.g. "run --local" */
  command: z.string(),
  since: z.string(),
});
export type LockHolder = z.infer<typeof LockHolderSchema>;

/** The state folder is locked by another live process. */
export class StateLockedError extends Error {
  override readonly name = 'StateLockedError';
  constructor(
    readonly stateDir: string,
    readonly holder: LockHolder,
  ) {
    const where = holder.hostname === hostname() ? '' : ` on host ${holder.hostname}`;
    super(
      `state folder ${stateDir} is in use by fleet-audit pid ${holder.pid}${where} (${holder.command}, since ` +
        `${holder.since}); wait for it to finish or pass another --state-dir`,
    );
  }
}

export interface StateLock {
  readonly file: string;
  release(): Promise<void>;
}

const LOCK_FILE = 'lock';
/** Takeovers of stale locks tried before giving up (each lost race lets another process take the lock). */
const MAX_ATTEMPTS = 5;

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Field 22 (starttime) of /proc/<pid>/stat; the command name in field 2 may hold spaces and parentheses. */
function processStartOf(pid: number): string | null {
  const stat = readOrNull(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

function currentHolder(command: string): LockHolder {
  return {
    pid: process.pid,
    hostname: hostname(),
    bootId: readOrNull('/proc/sys/kernel/random/boot_id'),
    processStart: processStartOf(process.pid),
    command,
    since: new Date().toISOString(),
  };
}

/** Whether the holder may still be running. A holder on another host cannot be checked, so it counts as alive. */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return true;
  const bootId = readOrNull('/proc/sys/kernel/random/boot_id');
  if (holder.bootId !== null && bootId !== null && holder.bootId !== bootId) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStartOf(holder.pid);
  return holder.processStart === null || start === null || start === holder.processStart;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const parsed = LockHolderSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock of `stateDir` (which must exist) for `command`, or throws {@link StateLockedError} naming the live
 * holder. A lock file that does not parse (written by something else) is reported, not removed.
 */
export async function lockStateDir(stateDir: string, command: string): Promise<StateLock> {
  const file = join(stateDir, LOCK_FILE);
  const mine = `${JSON.stringify(currentHolder(command))}\n`;
  const draft = join(stateDir, `.lock-${process.pid}-${randomUUID().slice(0, 8)}`);
  await writeFile(draft, mine, { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        await link(draft, file);
        return heldLock(file, mine);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const seen = await readFile(file, 'utf8').catch(() => null);
      if (seen === null) continue; // removed meanwhile: try again
      const holder = parseHolder(seen);
      if (!holder) {
        throw new Error(`state folder ${stateDir} has a lock file fleet-audit did not write (${file}); remove it`);
      }
      if (holderAlive(holder)) throw new StateLockedError(stateDir, holder);
      await takeOver(file, seen);
    }
    throw new Error(`could not lock state folder ${stateDir}: other processes keep taking it over`);
  } finally {
    await unlink(draft).catch(() => {});
  }
}

/**
 * Removes a stale lock file — only the one judged stale: it is first renamed aside (atomic), and if what was moved
 * is not the stale content (another process took the lock in between), it is put back.
 */
async function takeOver(file: string, stale: string): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${randomUUID().slice(0, 8)}`;
  try {
    await rename(file, aside);
  } catch {
    return; // gone already: the next attempt links ours
  }
  const moved = await readFile(aside, 'utf8').catch(() => null);
  if (moved !== stale) await link(aside, file).catch(() => {});
  await unlink(aside).catch(() => {});
}

function heldLock(file: string, mine: string): StateLock {
  let held = true;
  // A process that ends without release() (process.exit, an uncaught error) still removes its lock.
  const releaseSync = () => {
    if (held && readOrNull(file) === mine.trim()) unlinkSync(file);
    held = false;
  };
  process.once('exit', releaseSync);
  return {
    file,
    release: async () => {
      process.removeListener('exit', releaseSync);
      if (!held) return;
      held = false;
      const now = await readFile(file, 'utf8').catch(() => null);
      if (now === mine) await unlink(file).catch(() => {});
    },
  };
}
