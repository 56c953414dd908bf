import { z } from 'zod';

/**
 * Rule thresholds (ARCHITECTURE §7). Every comparison is strict; every value is configurable through a config
 * file or cdk.json context, validated here.
 */
export const ThresholdsSchema = z
  .object({
    /** KP-IPTABLES-SCALE / CNI-API-DEPENDENCY: Service count (p50 of KUBE-SVC chains) above which to warn */
    servicesMedium: z.number().int().positive().default(500),
    servicesHigh: z.number().int().positive().default(1000),
  })
  .strict();

export type Thresholds = z.infer<typeof ThresholdsSchema>;

export const DEFAULT_THRESHOLDS: Thresholds = ThresholdsSchema.parse({});
