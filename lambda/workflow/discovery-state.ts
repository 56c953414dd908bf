import { z } from 'zod';
import { AddonSchema } from '#audit/model.js';
import { LogQueryRefSchema, StoredDiscoverySchema } from '#aws/store.js';

/**
 * Discover's output, the input of Poll and Assess: one schema, and the steps' type is inferred from it. It carries
 * counts and the keys of what Discover stored (the nodes and command ids are DynamoDB items, lambda/aws/store.ts),
 * so its size does not depend on the cluster's: a cluster of 5,000 nodes travels as one of 5 does, under Step
 * Functions' 256 KiB per state. Beyond it the cluster's execution fails with States.DataLimitExceeded, a terminal
 * error States.ALL cannot catch (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html),
 * so such a cluster could never be audited however often it ran.
 */

/** How many nodes Discover found, and what it did with them. */
export const DiscoveredNodeCountsSchema = z.object({
  /** every instance of the cluster */
  expected: z.number().int().nonnegative(),
  /** the collector was sent to them */
  pending: z.number().int().nonnegative(),
  unreachable: z.number().int().nonnegative(),
  /** of the unreachable ones: on a platform the collector cannot run on (Windows, Bottlerocket) */
  unsupported: z.number().int().nonnegative(),
});
export type DiscoveredNodeCounts = z.infer<typeof DiscoveredNodeCountsSchema>;

export const DiscoveryStateSchema = z.object({
  runId: z.string().min(1),
  startedAt: z.iso.datetime(),
  account: z.string().min(1),
  region: z.string().min(1),
  name: z.string().min(1),
  listError: z.string().optional(),
  kubernetesVersion: z.string().nullable(),
  endpoint: z.string().nullable(),
  addons: z.object({ vpcCni: AddonSchema.nullable(), kubeProxy: AddonSchema.nullable() }),
  nodes: DiscoveredNodeCountsSchema,
  /** SSM commands sent (one per batch of nodes) */
  commandCount: z.number().int().nonnegative(),
  /** where the nodes and command ids are stored, and which Discover attempt stored them */
  stored: StoredDiscoverySchema,
  query: LogQueryRefSchema.nullable(),
  queryProblem: z.string().nullable(),
  /**
   * the query could not start yet: the audit's Logs Insights budget (logsInsightsBudget) or the account's quota was
   * in use; a later poll starts it (and stores it, lambda/aws/store.ts putLateLogQuery)
   */
  queryDeferred: z.boolean().optional(),
  /** the log group does not exist (StartQuery: ResourceNotFoundException), as opposed to a query that failed */
  logGroupMissing: z.boolean().optional(),
  /** set when the add-ons could not be read; the audit goes on without them */
  addonProblem: z.string().optional(),
  /** ISO 8601: after it, the cluster is assessed with whatever has arrived */
  deadline: z.iso.datetime(),
});
export type DiscoveryState = z.infer<typeof DiscoveryStateSchema>;
