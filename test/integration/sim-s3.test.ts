import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunLists } from '#aws/clients.js';
import { AwsCallError } from '#aws/errors.js';
import { parseScenario } from '#sim/scenario.js';
import { type Simulator, startSimulator } from '#sim/server.js';

/**
 * The run-list adapter (lambda/aws/run-lists.ts) through the real S3 client against the simulator's S3: path-style
 * REST-XML on the same loopback endpoint as every other simulated service, told apart by the SigV4 scope.
 */

const HUB = '111111111111';
const OTHER = '222222222222';
const BUCKET = 'fleet-audit-run-lists';

let sim: Simulator;

beforeAll(async () => {
  const scenario = parseScenario(
    {
      accounts: [
        { id: HUB, regions: [{ name: 'eu-west-1', clusters: [] }] },
        { id: OTHER, regions: [{ name: 'eu-west-1', clusters: [] }] },
      ],
    },
    'sim-s3',
  );
  sim = await startSimulator(scenario, { buckets: [{ name: BUCKET, account: HUB }] });
});
afterAll(() => sim.close());

const lists = (account: string, bucket = BUCKET) =>
  createRunLists({ region: 'eu-west-1', bucket, endpoint: sim.endpoint, account, caller: 'plan' });

describe('the simulator’s S3 through the real SDK', () => {
  it('stores a run’s list with PutObject and answers it back with GetObject, byte for byte', async () => {
    // Arrange
    const clusters = [{ account: HUB, region: 'eu-west-1', name: 'prod é' }];

    // Act
    const location = await lists(HUB).put('run 1', clusters);
    const read = await lists(HUB).get(location);

    // Assert
    expect(location).toEqual({ bucket: BUCKET, key: 'runs/run 1/clusters.json' });
    expect(read).toEqual(clusters);
    expect(sim.buckets.read(BUCKET, 'runs/run 1/clusters.json')).toBe(JSON.stringify(clusters));
    expect(sim.calls.slice(-2).map((c) => `${c.service}:${c.action} ${c.status} ${c.caller}`)).toEqual([
      's3:PutObject 200 plan',
      's3:GetObject 200 plan',
    ]);
    expect(sim.calls.at(-1)?.input).toEqual({ Bucket: BUCKET, Key: 'runs/run 1/clusters.json' });
  });

  it('answers NoSuchKey for a list never written, which the adapter names with its object', async () => {
    const error = await lists(HUB)
      .get({ bucket: BUCKET, key: 'runs/nothing/clusters.json' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect((error as Error).message).toContain('s3:GetObject');
    expect((error as Error).message).toContain('s3://fleet-audit-run-lists/runs/nothing/clusters.json');
    expect(sim.calls.at(-1)).toMatchObject({ service: 's3', action: 'GetObject', status: 404 });
  });

  it('refuses another account’s request (AccessDenied) and a bucket that does not exist (NoSuchBucket)', async () => {
    await expect(lists(OTHER).put('run-2', [])).rejects.toBeInstanceOf(AwsCallError);
    expect(sim.calls.at(-1)).toMatchObject({ service: 's3', status: 403 });
    await expect(lists(HUB, 'no-such-bucket').put('run-2', [])).rejects.toBeInstanceOf(AwsCallError);
    expect(sim.calls.at(-1)).toMatchObject({ service: 's3', status: 404 });
    expect(sim.buckets.read(BUCKET, 'runs/run-2/clusters.json')).toBeUndefined();
  });
});
