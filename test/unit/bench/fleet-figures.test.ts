import { describe, expect, it } from 'vitest';
import {
  apiCallFigures,
  type BoundInputs,
  clusterPathMs,
  clusterRoundTrips,
  clusterShapes,
  dynamoUnits,
  lambdaGbSeconds,
  latencyOfEveryCall,
  lowerBoundMs,
  nightUsage,
  pollsNeeded,
  stateTransitions,
} from '#bench/fleet-figures.js';
import type { RecordedCall } from '#sim/call-log.js';
import { scenarioNodes } from '#sim/nodes.js';
import { loadScenario } from '#sim/scenario.js';

/** Round numbers: 10 ms a round trip, 30 s polls, 4 s collectors, 1.2 s queries. */
const INPUTS: BoundInputs = {
  clusters: [{ nodes: 20, reachable: 20, commandMs: 4000 }],
  latencyMs: 10,
  deliveryMs: 450,
  queryMs: 1200,
  pollIntervalMs: 30_000,
  clusterConcurrency: 8,
  concurrentQueries: 100,
};

type Counted = RecordedCall & { bytesScanned?: number };
const call = (service: RecordedCall['service'], action: string, extra: Partial<Counted> = {}): Counted => ({
  service,
  action,
  caller: null,
  account: null,
  region: null,
  input: {},
  ...extra,
});

describe('the lower bound', () => {
  it('counts a cluster’s sequential round trips: reads 2 deep, DescribeInstanceInformation and SendCommand per 50 nodes four at a time, DescribeFieldIndexes and StartQuery, 2 a poll, 2 to assess', () => {
    // Arrange
    const cluster = { nodes: 120, reachable: 101, commandMs: 4000 };

    // Act / Assert: 2 + 1 (3 batches at once) + 1 + 2 + 2 × 1 + 2
    expect(clusterRoundTrips(cluster, 1)).toBe(10);
    // 5,000 nodes: DescribeInstances takes 5 pages, deeper than the other reads; 100 batches are 25 deep
    expect(clusterRoundTrips({ nodes: 5000, reachable: 5000, commandMs: 4000 }, 1)).toBe(5 + 25 + 25 + 2 + 2 + 2);
    expect(clusterRoundTrips({ nodes: 250, reachable: 201, commandMs: 4000 }, 2)).toBe(2 + 2 + 2 + 2 + 4 + 2);
  });

  it('needs one poll when the collectors and the query fit in the interval, more when a run outlasts it', () => {
    expect(pollsNeeded(INPUTS.clusters[0] ?? { reachable: 0, commandMs: 0 }, INPUTS)).toBe(1);
    // a node whose run times out after 60 s: the third poll (90 s) is the first after 60.45 s
    expect(pollsNeeded({ reachable: 1, commandMs: 60_000 }, INPUTS)).toBe(3);
    // no reachable node: only the query is waited for
    expect(pollsNeeded({ reachable: 0, commandMs: 0 }, { ...INPUTS, queryMs: 45_000 })).toBe(2);
  });

  it('is one cluster’s path plus Plan and Report when the concurrency covers the fleet', () => {
    // Arrange: 20 nodes → 2 + 1 + 1 + 2 + 2 + 2 = 10 round trips, and one 30 s Wait
    const path = 10 * 10 + 30_000;

    // Act / Assert
    expect(clusterPathMs({ nodes: 20, reachable: 20, commandMs: 4000 }, INPUTS)).toBe(path);
    expect(lowerBoundMs(INPUTS)).toBe(path + 2 * 10);
  });

  it('is the clusters’ total work over MaxConcurrency when that is longer than the longest cluster', () => {
    // Arrange: 80 equal clusters, 8 at once
    const inputs = {
      ...INPUTS,
      clusters: Array.from({ length: 80 }, () => ({ nodes: 20, reachable: 20, commandMs: 4000 })),
    };

    // Act / Assert
    expect(lowerBoundMs(inputs)).toBe(20 + (80 * (10 * 10 + 30_000)) / 8);
  });

  it('takes the concurrent Logs Insights queries as the limit when they are fewer than MaxConcurrency', () => {
    const inputs = {
      ...INPUTS,
      clusters: Array.from({ length: 10 }, () => ({ nodes: 20, reachable: 20, commandMs: 4000 })),
      clusterConcurrency: 40,
      concurrentQueries: 5,
    };
    expect(lowerBoundMs(inputs)).toBe(20 + (10 * 30_100) / 5);
  });

  it('is the longest cluster when one large cluster outlasts the others’ total', () => {
    const inputs = {
      ...INPUTS,
      clusters: [
        { nodes: 5000, reachable: 5000, commandMs: 60_000 },
        { nodes: 20, reachable: 20, commandMs: 4000 },
      ],
    };
    // 5 + 25 + 25 + 2 + 2 × 3 + 2 = 65 round trips (100 SSM batches, four at a time), three Waits
    expect(lowerBoundMs(inputs)).toBe(20 + 65 * 10 + 90_000);
  });
});

describe('the scenario as the lower bound reads it', () => {
  it('finds the default fleet’s unreachable nodes and its node whose collector times out', () => {
    // Act
    const scenario = loadScenario('default');
    const shapes = clusterShapes(scenarioNodes(scenario), scenario.timing);

    // Assert: six clusters; checkout-prod waits out its timed-out node, edge-gateway (Bottlerocket) reaches none,
    // search-staging's offline and Windows nodes are not sent the collector
    expect(shapes).toHaveLength(6);
    expect(shapes).toContainEqual({ nodes: 18, reachable: 18, commandMs: 60_000 });
    expect(shapes).toContainEqual({ nodes: 3, reachable: 0, commandMs: 0 });
    expect(shapes).toContainEqual({ nodes: 14, reachable: 12, commandMs: 4000 });
    expect(latencyOfEveryCall(scenario.faults)).toBe(40);
  });
});

describe('the counted figures', () => {
  it('counts API calls in total, per node and per API, most first', () => {
    const calls = [call('ssm', 'SendCommand'), call('eks', 'DescribeCluster'), call('eks', 'DescribeCluster')];
    expect(apiCallFigures(calls, 30)).toEqual({
      total: 3,
      perNode: 0.1,
      perApi: { 'eks:DescribeCluster': 2, 'ssm:SendCommand': 1 },
    });
    expect(apiCallFigures([], 0).perNode).toBeNull();
  });

  it('bills each state entered and each Task retry as a state transition', () => {
    // Arrange: Pass, then a Task whose first attempt failed and second succeeded
    const events = [
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionFailed',
      'LambdaFunctionScheduled',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ];

    // Act / Assert
    expect(stateTransitions(events)).toBe(3);
  });

  it('bills Lambda by memory × simulated duration, per started millisecond', () => {
    // 512 MB for 10 real ms at time scale 0.02: 500 ms of simulated time → 0.25 GB-s
    expect(lambdaGbSeconds([{ durationMs: 10, memorySize: 512 }], 0.02)).toBeCloseTo(0.25, 9);
    expect(lambdaGbSeconds([{ durationMs: 0.01, memorySize: 1024 }], 1)).toBeCloseTo(0.001, 9);
  });

  it('counts DynamoDB units: writes per started KB of item, reads per started 4 KB of answer, halved unless consistent', () => {
    // Arrange
    const big = { pk: { S: 'x'.repeat(1500) } };
    const calls = [
      call('dynamodb', 'PutItem', { input: { Item: big } }),
      call('dynamodb', 'BatchWriteItem', { input: { RequestItems: { t: [{ PutRequest: { Item: {} } }, {}] } } }),
      call('dynamodb', 'Query', { input: { ConsistentRead: true }, responseBytes: 9000 }),
      call('dynamodb', 'GetItem', { input: {}, responseBytes: 100 }),
      call('dynamodb', 'DescribeTable'),
    ];

    // Act / Assert
    expect(dynamoUnits(calls)).toEqual({ write: 2 + 2, read: 3 + 0.5 });
  });

  it('bills a Logs Insights query’s bytes once, S3 requests and SNS per started 64 KB', () => {
    // Act
    const usage = nightUsage({
      simulatorCalls: [
        call('logs', 'GetQueryResults', { input: { queryId: 'q1' }, bytesScanned: 0 }),
        call('logs', 'GetQueryResults', { input: { queryId: 'q1' }, bytesScanned: 5000 }),
        call('logs', 'GetQueryResults', { input: { queryId: 'q2' }, bytesScanned: 700 }),
        call('s3', 'PutObject'),
        call('s3', 'GetObject'),
        call('s3', 'GetObject'),
        call('sns', 'Publish', { input: { Message: 'x'.repeat(70_000) } }),
      ],
      dynamoCalls: [],
      histories: [['ExecutionStarted', 'PassStateEntered'], ['WaitStateEntered']],
      invocations: [],
      timeScale: 1,
    });

    // Assert
    expect(usage).toMatchObject({ logsBytesScanned: 5700, s3Puts: 1, s3Gets: 2, snsRequests: 2, stateTransitions: 2 });
  });
});
