import { z } from 'zod';
import { type ClusterRef, type RuleId, RuleIdSchema } from './model.js';

/** A team's decision to silence one rule on one cluster (or all clusters) until a date. */
export const SuppressionSchema = z.object({
  account: z.string().min(1),
  region: z.string().min(1),
  /** cluster name, or `*` for every cluster of the account and region */
  cluster: z.string().min(1),
  /** a rule id, or `*` for every rule */
  ruleId: z.union([RuleIdSchema, z.literal('*')]),
  reason: z.string().min(1),
  owner: z.string().min(1),
  /** ISO 8601; from then on the suppression no longer applies */
  expiresAt: z.iso.datetime({ offset: true }),
});
export type Suppression = z.infer<typeof SuppressionSchema>;

/** The suppression that silences a rule on a cluster at `now`, if any. */
export function activeSuppression(
  cluster: ClusterRef,
  ruleId: RuleId,
  suppressions: ReadonlyArray<Suppression>,
  now: string,
): Suppression | undefined {
  return suppressions.find(
    (s) =>
      s.account === cluster.account &&
      s.region === cluster.region &&
      (s.cluster === '*' || s.cluster === cluster.name) &&
      (s.ruleId === '*' || s.ruleId === ruleId) &&
      Date.parse(s.expiresAt) > Date.parse(now),
  );
}
