import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '#audit/model.js';
import { AuditStore } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../bin/fleet-audit.js');

describe('fleet-audit report --table, reading a deployed findings table', () => {
  let dynamo: LocalDynamo;
  const result: RunResult = {
    runId: 'nightly-1',
    status: 'COMPLETE',
    startedAt: '2026-11-29T02:00:00.000Z',
    finishedAt: '2026-11-29T02:04:00.000Z',
    clusters: [
      {
        account: '111111111111',
        region: 'eu-west-1',
        name: 'payments',
        status: 'COMPLETE',
        score: 100,
        nodes: { expected: 2, reached: 2, unreachable: 0, failed: 0 },
        findings: [],
        notEvaluated: [],
      },
    ],
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
    const store = new AuditStore({ tableName: 'FleetAuditorHub-Findings' }, dynamo.client);
    await store.ensureTable();
    await store.startRun(result.runId, result.startedAt);
    await store.finishRun(result);
  });
  afterAll(async () => dynamo.close());

  it('prints the newest run through the default credential chain and the SDK endpoint settings', async () => {
    // Act
    const { stdout } = await run(
      process.execPath,
      [CLI, 'report', '--table', 'FleetAuditorHub-Findings', '--region', 'eu-west-1', '--format', 'json'],
      {
        env: {
          ...process.env,
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_PROFILE: '',
        },
      },
    );

    // Assert
    expect(JSON.parse(stdout)).toEqual(result);
  });

  it('asks for one store when given none or two', async () => {
    for (const args of [['report'], ['report', '--local', '--table', 'x']]) {
      const failure = await run(process.execPath, [CLI, ...args]).catch((error) => error);
      expect(failure.code).toBe(2);
      expect(failure.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
