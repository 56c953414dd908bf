import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditFunction, handlerEntry } from '#lib/constructs/audit-function.js';

/**
 * The one test that really bundles: the plan function built by the local esbuild, exactly as `cdk synth` and
 * `cdk deploy` build it, then loaded by Node as the Lambda runtime would.
 */
let outdir: string;
let bundle: string;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'fleet-audit-bundle-'));
  const app = new App({ outdir });
  new AuditFunction(new Stack(app, 'Bundle'), 'Plan', { entry: handlerEntry('plan'), description: 'bundling test' });
  app.synth();
  const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
  expect(assets).toHaveLength(1);
  bundle = join(outdir, assets[0] as string, 'index.mjs');
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

/** Imports the bundle in a fresh Node process with the Lambda environment and calls its handler with `event`. */
function invokeBundle(event: unknown, env: Record<string, string>): { name: string; message: string } {
  const script = `
    const { handler } = await import(${JSON.stringify(bundle)});
    try { await handler(${JSON.stringify(event)}); console.log(JSON.stringify({ name: 'none', message: '' })); }
    catch (error) { console.log(JSON.stringify({ name: error.name, message: error.message })); }`;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last);
}

const LAMBDA_ENV = {
  AWS_REGION: 'eu-west-1',
  AUDIT_SETTINGS: JSON.stringify({ targets: [{ account: '111111111111', region: 'eu-west-1' }] }),
  TABLE_NAME: 'findings',
  TOPIC_ARN: 'arn:aws:sns:eu-west-1:111111111111:alerts',
  AUDIT_ROLE_NAME: 'FleetAuditReadOnly',
  RUN_LIST_BUCKET: 'fleet-audit-run-lists',
};

describe('the bundled plan function', () => {
  it('is one ESM file with a source map, the AWS SDK inside it', () => {
    expect(existsSync(`${bundle}.map`)).toBe(true);
    const code = readFileSync(bundle, 'utf8');
    expect(
      code.startsWith("import { createRequire } from 'module';const require = createRequire(import.meta.url);"),
    ).toBe(true);
    expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
    expect(() => execFileSync(process.execPath, ['--check', bundle], { stdio: 'pipe' })).not.toThrow();
  });

  it('loads in Node and rejects a bad event with a named error, without calling AWS', () => {
    expect(invokeBundle({ runId: 42 }, LAMBDA_ENV)).toEqual({
      name: 'InvalidEventError',
      message: 'plan: event field runId: Invalid input: expected string, received number',
    });
  });

  it('stops at cold start with one line when its environment is incomplete', () => {
    const { TABLE_NAME: _missing, ...env } = LAMBDA_ENV;
    let stderr = '';
    try {
      invokeBundle({}, env);
    } catch (error) {
      stderr = String((error as { stderr?: string }).stderr);
    }
    expect(stderr).toContain('[RuntimeConfigError]');
    expect(stderr).toContain(
      'environment variable TABLE_NAME is not set (set by the FleetAuditorHub stack from the cdk.json context "fleetAudit")',
    );
  });
});
