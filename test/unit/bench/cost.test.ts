import { describe, expect, it } from 'vitest';
import {
  costPer1000Nodes,
  loadPrices,
  type NightUsage,
  nightCost,
  readUnits,
  snsRequests,
  writeUnits,
} from '#bench/cost.js';

const NOTHING: NightUsage = {
  stateTransitions: 0,
  expressRequests: 0,
  expressGbSeconds: 0,
  lambdaInvocations: 0,
  lambdaGbSeconds: 0,
  logsBytesScanned: 0,
  dynamodbWriteUnits: 0,
  dynamodbReadUnits: 0,
  s3Puts: 0,
  s3Gets: 0,
  snsRequests: 0,
};

describe('the night cost model', () => {
  const prices = loadPrices();

  it('reads a prices file that names its day and a page for every price', () => {
    // Assert
    expect(prices.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const service of [prices.stepFunctions, prices.lambda, prices.logsInsights, prices.dynamodb, prices.s3]) {
      expect(service.source).toMatch(/^https:\/\/aws\.amazon\.com\//);
    }
  });

  it.each([
    ['stepFunctions', { stateTransitions: 1000 }, 0.025],
    ['lambda', { lambdaInvocations: 1_000_000 }, 0.2],
    ['lambda', { lambdaGbSeconds: 1000 }, 0.0133334],
    ['logsInsights', { logsBytesScanned: 5e9 }, 0.025],
    ['dynamodb', { dynamodbWriteUnits: 1_000_000, dynamodbReadUnits: 1_000_000 }, 0.75],
    ['s3', { s3Puts: 1000, s3Gets: 1000 }, 0.0054],
    ['sns', { snsRequests: 1_000_000 }, 0.5],
  ] as const)('prices %s from the pages’ figures (%j → $%d)', (item, usage, usd) => {
    // Act
    const cost = nightCost({ ...NOTHING, ...usage }, prices);

    // Assert
    expect(cost.items[item]).toBeCloseTo(usd, 9);
    expect(cost.totalUsd).toBeCloseTo(usd, 9);
  });

  it('spreads a night over its nodes, and has no figure for a fleet of none', () => {
    // Arrange: 5 GB scanned and 1,000 transitions for 2,000 nodes
    const usage = { ...NOTHING, logsBytesScanned: 5e9, stateTransitions: 1000 };

    // Act / Assert
    expect(costPer1000Nodes(usage, 2000, prices)).toBeCloseTo(0.025, 9);
    expect(costPer1000Nodes(usage, 0, prices)).toBeNull();
  });

  it('counts DynamoDB request units per started 1 KB written and 4 KB read, and SNS requests per 64 KB', () => {
    // Assert
    expect([writeUnits(0), writeUnits(1024), writeUnits(1025), writeUnits(400 * 1024)]).toEqual([1, 1, 2, 400]);
    expect([readUnits(100, true), readUnits(4097, true), readUnits(4097, false)]).toEqual([1, 2, 1]);
    expect([snsRequests(1), snsRequests(64 * 1024), snsRequests(64 * 1024 + 1), snsRequests(256 * 1024)]).toEqual([
      1, 1, 2, 4,
    ]);
  });
});
