import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { collectorPath, repoRoot } from './harness.js';

const run = promisify(execFile);

describe('fleet-audit collector', () => {
  it('prints collector/collect.sh exactly and exits 0', async () => {
    // Arrange
    const script = readFileSync(collectorPath, 'utf8');

    // Act
    const { stdout, stderr } = await run('node', [join(repoRoot, 'bin/fleet-audit.js'), 'collector'], {
      cwd: repoRoot,
      maxBuffer: 4 * 1024 * 1024,
    });

    // Assert
    expect(stdout).toBe(script);
    expect(stderr).toBe('');
  });
});
