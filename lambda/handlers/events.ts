import { z } from 'zod';
import type { ClusterTask } from '#workflow/steps.js';

/**
 * The payloads the AuditRun state machine passes between the functions (lib/constructs/audit-workflow.ts), one
 * schema each. The plan's cluster list travels in S3 (account/region/name only); the Map's ItemReader reads it and
 * its ItemSelector adds the run id and start time to each item. Poll's and Assess's input, Discover's output, is
 * DiscoveryStateSchema (lambda/workflow/discovery-state.ts), beside the steps that build it: it carries counts and
 * store keys only.
 */

/** One Step Functions error: the Catch puts it at `$.error`. */
export const StatesErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() });
export type StatesError = z.infer<typeof StatesErrorSchema>;

/** A cluster of the plan; `listError` when its account/region could not be listed. */
export const PlannedClusterSchema = z.object({
  account: z.string().min(1),
  region: z.string().min(1),
  name: z.string().min(1),
  listError: z.string().optional(),
});
export type PlannedCluster = z.infer<typeof PlannedClusterSchema>;

/** A run's cluster list as the Plan function writes it to S3 (the Distributed Map's items). */
export const RunListSchema = z.array(PlannedClusterSchema);

/**
 * The plan as the state machine carries it (Plan's output, Report's input): where the cluster list is and how many
 * clusters it holds, never the list itself, so the payload is the same for 5 clusters or 10,000.
 */
export const PlanPayloadSchema = z.object({
  runId: z.string().min(1),
  startedAt: z.iso.datetime(),
  clusterCount: z.number().int().min(0),
  runList: z.object({ bucket: z.string().min(3), key: z.string().min(1) }),
});
export type PlanPayload = z.infer<typeof PlanPayloadSchema>;

/** Plan's input: the execution name becomes the run id. */
export const PlanEventSchema = z.object({ runId: z.string().min(1).max(80).optional() });

/** One Map item, as the ItemSelector builds it (Discover's input). */
export const ClusterItemSchema = z.object({
  runId: z.string().min(1),
  startedAt: z.iso.datetime(),
  cluster: PlannedClusterSchema,
});
export type ClusterItem = z.infer<typeof ClusterItemSchema>;

/** What RecordRunFailure returns: the execution failed with this reason. */
export interface RunFailure {
  runId: string;
  status: 'FAILED';
  failure: string;
  /**
   * FAILED: the run is stored as FAILED with the reason; KEPT: the report step had stored the finished run before
   * it failed (e.g. while sending the digest), so that record stays
   */
  runRecord: 'FAILED' | 'KEPT';
}

/** RecordFailure's input: the Map item plus the error the iteration's Catch caught. */
export const FailedClusterEventSchema = ClusterItemSchema.extend({ error: StatesErrorSchema });

/** The workflow's cluster task, rebuilt from a Map item. */
export function taskOf(item: ClusterItem): ClusterTask {
  return {
    runId: item.runId,
    startedAt: item.startedAt,
    account: item.cluster.account,
    region: item.cluster.region,
    name: item.cluster.name,
    ...(item.cluster.listError !== undefined && { listError: item.cluster.listError }),
  };
}
