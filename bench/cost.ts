/**
 * What one night of the audit costs in AWS charges, from the usage a benchmark run counted and a prices file
 * (bench/prices.json: list prices with their date and pages). Pure: no I/O beyond reading the file given.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const price = z.number().nonnegative();

export const PricesSchema = z.object({
  region: z.string(),
  /** the day the figures were read from the pages */
  checked: z.iso.date(),
  stepFunctions: z.object({
    standardPerTransitionUsd: price,
    expressPerRequestUsd: price,
    expressPerGbSecondUsd: price,
    source: z.string(),
  }),
  lambda: z.object({ arm64PerGbSecondUsd: price, perRequestUsd: price, source: z.string() }),
  logsInsights: z.object({ perGbScannedUsd: price, source: z.string() }),
  dynamodb: z.object({ perMillionWriteUnitsUsd: price, perMillionReadUnitsUsd: price, source: z.string() }),
  s3: z.object({ perPutUsd: price, perGetUsd: price, source: z.string() }),
  sns: z.object({ perPublishUsd: price, source: z.string() }),
});
export type Prices = z.infer<typeof PricesSchema>;

/** The bench's prices file. */
export function loadPrices(file = new URL('./prices.json', import.meta.url)): Prices {
  return PricesSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** What a night used, counted by the benchmark (every execution of the run: the parent and its children). */
export interface NightUsage {
  /** Standard-workflow state transitions, retries included */
  stateTransitions: number;
  /** Express child executions and their billed GB-seconds (0 when the children are Standard) */
  expressRequests: number;
  expressGbSeconds: number;
  lambdaInvocations: number;
  /** memory (GB) × billed duration (s), summed over the invocations */
  lambdaGbSeconds: number;
  logsBytesScanned: number;
  dynamodbWriteUnits: number;
  dynamodbReadUnits: number;
  s3Puts: number;
  s3Gets: number;
  /** SNS requests: a published message counts one per started 64 KB */
  snsRequests: number;
}

export type CostItem = 'stepFunctions' | 'stepFunctionsExpress' | 'lambda' | 'logsInsights' | 'dynamodb' | 's3' | 'sns';

export interface NightCost {
  totalUsd: number;
  items: Record<CostItem, number>;
}

/**
 * Logs Insights bills "per GB"; the pages do not say GiB, so the decimal gigabyte is used (the higher figure of
 * the two readings).
 */
const BYTES_PER_GB = 1e9;

/** The night's cost, item by item. */
export function nightCost(usage: NightUsage, prices: Prices): NightCost {
  const items: Record<CostItem, number> = {
    stepFunctions: usage.stateTransitions * prices.stepFunctions.standardPerTransitionUsd,
    stepFunctionsExpress:
      usage.expressRequests * prices.stepFunctions.expressPerRequestUsd +
      usage.expressGbSeconds * prices.stepFunctions.expressPerGbSecondUsd,
    lambda:
      usage.lambdaInvocations * prices.lambda.perRequestUsd + usage.lambdaGbSeconds * prices.lambda.arm64PerGbSecondUsd,
    logsInsights: (usage.logsBytesScanned / BYTES_PER_GB) * prices.logsInsights.perGbScannedUsd,
    dynamodb:
      (usage.dynamodbWriteUnits / 1e6) * prices.dynamodb.perMillionWriteUnitsUsd +
      (usage.dynamodbReadUnits / 1e6) * prices.dynamodb.perMillionReadUnitsUsd,
    s3: usage.s3Puts * prices.s3.perPutUsd + usage.s3Gets * prices.s3.perGetUsd,
    sns: usage.snsRequests * prices.sns.perPublishUsd,
  };
  const totalUsd = Object.values(items).reduce((sum, usd) => sum + usd, 0);
  return { totalUsd, items };
}

/** The night's cost for every 1,000 nodes audited; null for a fleet of no nodes. */
export function costPer1000Nodes(usage: NightUsage, nodes: number, prices: Prices): number | null {
  if (nodes <= 0) return null;
  return (nightCost(usage, prices).totalUsd / nodes) * 1000;
}

/**
 * DynamoDB's request units for one item: a standard write is one WRU per started 1 KB of item size, a strongly
 * consistent read one RRU per started 4 KB, an eventually consistent read half of that
 * (https://aws.amazon.com/dynamodb/pricing/on-demand/, "Read request unit" and "Write request unit").
 */
export function writeUnits(itemBytes: number): number {
  return Math.max(1, Math.ceil(itemBytes / 1024));
}

export function readUnits(itemBytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(itemBytes / 4096));
  return consistent ? units : units / 2;
}

/** SNS requests of one published message: one per started 64 KB (https://aws.amazon.com/sns/pricing/). */
export function snsRequests(messageBytes: number): number {
  return Math.max(1, Math.ceil(messageBytes / (64 * 1024)));
}
