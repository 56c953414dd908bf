import { constants } from 'node:fs';
import { access, lstat, mkdir, readlink, stat } from 'node:fs/promises';
import { dirname, parse, resolve, sep } from 'node:path';
import { UsageError } from './errors.js';

const codeOf = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';

/**
 * Makes sure `dir` is a folder this process can write into, creating it and its missing parents one at a time.
 * Every failure is one {@link UsageError} line naming the flag, the path and what is wrong with it.
 *
 * Not `mkdir(dir, { recursive: true })`: on Node 20 that loops forever, at full CPU, on a path whose parent exists
 * but cannot hold new entries (`/proc/nope`: mkdir says ENOENT, the parent exists, so it tries again). Walking the
 * path from the root tries each missing component once, and can name the component that is wrong.
 */
export async function ensureWritableDir(flag: string, dir: string): Promise<string> {
  const target = resolve(dir);
  const problem = (text: string) => new UsageError(`${flag} ${dir}: ${text}`);
  const { root } = parse(target);
  let path = root;
  for (const part of target.slice(root.length).split(sep).filter(Boolean)) {
    path = path === root ? `${root}${part}` : `${path}${sep}${part}`;
    await ensureDirComponent(path, problem);
  }
  try {
    await access(target, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = codeOf(error);
    if (code === 'EROFS') throw problem(`${target} is on a read-only file system`);
    if (code === 'EACCES' || code === 'EPERM') throw problem(`no permission to write into ${target}`);
    throw problem(`cannot write into ${target} (${code})`);
  }
  return target;
}

async function ensureDirComponent(path: string, problem: (text: string) => UsageError): Promise<void> {
  const existing = await statOrNull(path, problem);
  if (existing) {
    if (!existing.isDirectory()) throw problem(`${path} exists and is not a folder`);
    return;
  }
  try {
    await mkdir(path);
    return;
  } catch (error) {
    const code = codeOf(error);
    if (code === 'EEXIST') {
      // Either a dangling link (stat said it is missing, mkdir says it exists) or something created it meanwhile.
      const link = await lstat(path).catch(() => null);
      if (link?.isSymbolicLink()) {
        const to = await readlink(path).catch(() => '?');
        throw problem(`${path} is a link to ${resolve(dirname(path), to)}, which does not exist`);
      }
      const now = await statOrNull(path, problem);
      if (now?.isDirectory()) return;
      throw problem(`${path} exists and is not a folder`);
    }
    if (code === 'ENOENT') throw problem(`${dirname(path)} does not accept new folders (cannot create ${path})`);
    if (code === 'EACCES' || code === 'EPERM') throw problem(`no permission to create ${path}`);
    if (code === 'EROFS') throw problem(`cannot create ${path}: read-only file system`);
    if (code === 'ENOSPC') throw problem(`cannot create ${path}: no space left on the device`);
    throw problem(`cannot create ${path} (${code})`);
  }
}

async function statOrNull(path: string, problem: (text: string) => UsageError) {
  try {
    return await stat(path);
  } catch (error) {
    const code = codeOf(error);
    if (code === 'ENOENT') return null;
    if (code === 'EACCES' || code === 'EPERM') throw problem(`no permission to look into ${dirname(path)}`);
    if (code === 'ELOOP') throw problem(`${path} is a loop of symbolic links`);
    if (code === 'ENOTDIR') throw problem(`${dirname(path)} is not a folder`);
    throw problem(`cannot read ${path} (${code})`);
  }
}

/** One line for a file the CLI could not write, e.g. `cannot write /x/report.html: no space left on the device`. */
export function writeProblem(file: string, error: unknown): string {
  const code = codeOf(error);
  const reasons: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
    EISDIR: 'it is a folder',
    ENOENT: 'its folder is gone',
  };
  return `cannot write ${file}: ${reasons[code] ?? code}`;
}
