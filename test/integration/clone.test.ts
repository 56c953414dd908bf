import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../..');
/** The tests that read data captured from real systems (test/fixtures/README.md names them and their sources). */
const FIXTURE_TESTS = ['test/collector/metrics.test.ts'];

let parent: string;
let clone: string;

beforeAll(async () => {
  // A user's clone: the committed tree only, in a folder with no developers' shared folder beside it.
  parent = await mkdtemp(join(tmpdir(), 'fleet-audit-clone-'));
  clone = join(parent, 'repo');
  await run('git', ['clone', '--quiet', '--no-hardlinks', repoRoot, clone]);
  await symlink(join(repoRoot, 'node_modules'), join(clone, 'node_modules'), 'dir');
}, 60_000);

afterAll(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

describe('a fresh clone of the repository, with no shared folder beside it', () => {
  it('passes the tests that read real-system fixtures, from its own test/fixtures', async () => {
    // Arrange: nothing of the developers' shared folder is reachable from the clone
    expect(existsSync(join(parent, 'shared'))).toBe(false);
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));

    // Act
    const { stdout } = await run(join(clone, 'node_modules/.bin/vitest'), ['run', ...FIXTURE_TESTS], {
      cwd: clone,
      env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0' },
      maxBuffer: 16 * 1024 * 1024,
    });

    // Assert: every fixture test ran and passed there (execFile rejects on a non-zero exit)
    expect(stdout).toMatch(/Test Files\s+1 passed \(1\)/);
    expect(stdout).not.toMatch(/skipped/);
  }, 240_000);
});
