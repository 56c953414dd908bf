import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '../..');
/** this file names the patterns it looks for */
const SELF = 'test/unit/citations.test.ts';
/** The developers' own notes, which a user's clone does not have. */
const OUTSIDE = new RegExp(
  ['ARCHITECTURE', 'toolchain-notes', 'domain-notes', 'peers-notes', 'STYLE\\.md', '\\.\\./shared/'].join('|'),
);

describe('the repository', () => {
  it('cites no document outside it, in source, help text or docs', () => {
    // Arrange
    const files = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f !== '' && f !== 'package-lock.json' && f !== SELF && !f.startsWith('test/fixtures/'));

    // Act
    const citing = files.flatMap((file) =>
      readFileSync(join(repoRoot, file), 'utf8')
        .split('\n')
        .flatMap((line, i) => (OUTSIDE.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );

    // Assert
    expect(files.length).toBeGreaterThan(100);
    expect(citing).toEqual([]);
  });
});
