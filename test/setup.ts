import 'aws-sdk-client-mock-vitest/extend';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// A CDK App without an outdir synthesizes into a fresh temporary folder it never removes; give every test file one
// folder of its own (CDK reads CDK_OUTDIR) and remove it afterwards.
const cdkOut = mkdtempSync(join(tmpdir(), 'fleet-audit-cdk-out-'));
process.env.CDK_OUTDIR = cdkOut;
afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));
