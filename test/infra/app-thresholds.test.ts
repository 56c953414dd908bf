import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs bin/app.ts as the CDK CLI does: the context in CDK_CONTEXT_JSON, bundling skipped. */
async function runApp(fleetAudit: unknown): Promise<{ code: number; stderr: string }> {
  const context = { fleetAudit, 'aws:cdk:bundling-stacks': [] };
  try {
    const { stderr } = await exec(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context) },
    });
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? '' };
  }
}

describe('bin/app.ts thresholds', () => {
  it('fails synth with exit 2 and one line when a threshold is misspelt', async () => {
    // Act
    const { code, stderr } = await runApp({ thresholds: { servicesMediumm: 1 } });

    // Assert
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fleet-audit: cdk\.json context fleetAudit\.thresholds: field servicesMediumm: /);
  }, 60_000);
});
