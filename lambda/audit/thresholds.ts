import { z } from 'zod';
import { describeIssue } from './node-report.js';

const count = (value: number) => z.number().int().nonnegative().default(value);
const positive = (value: number) => z.number().positive().default(value);
const share = (value: number) => z.number().gt(0).lte(1).default(value);

/**
 * Rule thresholds (docs/rules.md), defaults as there. A partial object is filled with the defaults; an unknown
 * key is an error, so a misspelt threshold never silently keeps its default.
 *
 * Comparisons are strict (`value > threshold`) except the ones marked "inclusive" (≥). Each
 * threshold's description (`.describe`) is what docs/rules.md lists.
 */
export const ThresholdsSchema = z
  .object({
    servicesMedium: z
      .number()
      .int()
      .positive()
      .default(500)
      .describe(
        'Services (p50 of KUBE-SVC chains on iptables-mode nodes) above which KP-IPTABLES-SCALE is MEDIUM, CNI-API-DEPENDENCY applies and SCALE-GROWTH warns LOW',
      ),
    servicesHigh: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('Services above which KP-IPTABLES-SCALE is HIGH and SCALE-GROWTH warns MEDIUM'),
    lockWaitedMedium: count(0).describe(
      'samples with a writer queued for the xtables lock (`lock.waited`) on a node above which XT-LOCK-CONTENTION is MEDIUM',
    ),
    lockWaitedShareHigh: share(0.1).describe(
      'a node’s waited share (waited / samples) at or above which XT-LOCK-CONTENTION is HIGH (inclusive)',
    ),
    lockWaitersHigh: z
      .number()
      .int()
      .positive()
      .default(2)
      .describe(
        'writers queued for the lock in one sample (`lock.waitersMax`) at or above which XT-LOCK-CONTENTION is HIGH (inclusive)',
      ),
    lockErrorsHigh: count(0).describe(
      'kube-proxy xtables-lock error lines in the window above which XT-LOCK-CONTENTION is HIGH',
    ),
    saveMsMedium: count(1000).describe(
      'p95 of iptables.saveMs (ms) on iptables-legacy nodes above which IPT-SLOW-SYNC is MEDIUM',
    ),
    saveMsHigh: count(5000).describe(
      'p95 of iptables.saveMs (ms) on iptables-legacy nodes above which IPT-SLOW-SYNC is HIGH',
    ),
    saveMsNftMedium: count(4000).describe(
      'p95 of iptables.saveMs (ms) on iptables-nft nodes above which IPT-SLOW-SYNC is MEDIUM (an nft save of the same ruleset is about 4.5× slower)',
    ),
    saveMsNftHigh: count(20000).describe(
      'p95 of iptables.saveMs (ms) on iptables-nft nodes above which IPT-SLOW-SYNC is HIGH',
    ),
    syncP99SecondsMedium: positive(1).describe(
      'p95 of the sync p99’s lower bound (kubeProxy.syncP99LowerSeconds) above which IPT-SLOW-SYNC is MEDIUM',
    ),
    syncP99SecondsHigh: positive(5).describe(
      'p95 of the sync p99’s lower bound above which IPT-SLOW-SYNC is HIGH (a p99 beyond the top bucket is ≥ 16.384 s)',
    ),
    slowRestoresMedium: count(0).describe(
      'slow "iptables restore" trace lines in the window above which IPT-SLOW-SYNC is MEDIUM',
    ),
    restoreFailuresHigh: count(0).describe(
      'iptables-restore failure lines in the window above which KP-SYNC-FAILING is HIGH',
    ),
    staleSyncFactor: positive(2).describe(
      'KP-SYNC-FAILING is CRITICAL when a change waited for a sync (lastQueuedAgeSeconds) longer than max(staleSyncFactor × minSyncPeriod, staleSyncFloorSeconds) + staleSyncGraceSeconds, or in ipvs mode when lastSyncAgeSeconds > staleSyncFactor × syncPeriod + staleSyncGraceSeconds',
    ),
    staleSyncFloorSeconds: count(60).describe(
      'least seconds a queued change may wait before the grace starts (kube-proxy’s own healthz allows a minute and more)',
    ),
    staleSyncGraceSeconds: count(60).describe('seconds added to the limit before a sync is stuck'),
    awsNodeRestartsMedium: count(0).describe('aws-node restarts on a node above which CNI-RESTARTS is MEDIUM'),
    awsNodeRestartsHigh: z
      .number()
      .int()
      .positive()
      .default(3)
      .describe('aws-node restarts on a node at or above which CNI-RESTARTS is HIGH (inclusive)'),
    ipamdApiUnreachableMedium: count(0).describe(
      'ipamd "Unable to reach API Server" lines above which CNI-RESTARTS is MEDIUM',
    ),
    uncoveredShareMedium: share(0.25).describe(
      'share of expected nodes not audited at or above which AUDIT-COVERAGE is MEDIUM (inclusive)',
    ),
    growthMinSnapshots: z
      .number()
      .int()
      .min(2)
      .default(3)
      .describe('earlier runs with a Service count SCALE-GROWTH needs to fit a trend'),
    growthHorizonDays: positive(30).describe('days ahead SCALE-GROWTH projects the Service count'),
  })
  .strict()
  .superRefine((t, ctx) => {
    const ordered: Array<[keyof typeof t, keyof typeof t]> = [
      ['servicesMedium', 'servicesHigh'],
      ['saveMsMedium', 'saveMsHigh'],
      ['saveMsNftMedium', 'saveMsNftHigh'],
      ['syncP99SecondsMedium', 'syncP99SecondsHigh'],
      ['awsNodeRestartsMedium', 'awsNodeRestartsHigh'],
    ];
    for (const [low, high] of ordered) {
      if (t[high] < t[low]) {
        ctx.addIssue({ code: 'custom', path: [high], message: `must be at least ${low} (${t[low]}), is ${t[high]}` });
      }
    }
  });

export type Thresholds = z.output<typeof ThresholdsSchema>;
export type ThresholdsInput = z.input<typeof ThresholdsSchema>;
export type ThresholdName = keyof Thresholds;

export const DEFAULT_THRESHOLDS: Thresholds = ThresholdsSchema.parse({});

/** Thresholds that failed validation; the message is one line naming the field. */
export class ThresholdsError extends Error {
  override readonly name = 'ThresholdsError';
}

/**
 * Validates thresholds from a config file or cdk.json context: a partial object, the rest defaults.
 * `undefined`/`null` give the defaults. Throws ThresholdsError (`field servicesHigh: …`) on the first problem.
 */
export function loadThresholds(input: unknown): Thresholds {
  const parsed = ThresholdsSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue) throw new ThresholdsError('thresholds: invalid');
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(DEFAULT_THRESHOLDS).join(', ');
    throw new ThresholdsError(`field ${issue.keys.join(', ')}: not a threshold (known: ${known})`);
  }
  throw new ThresholdsError(describeIssue(parsed.error));
}

/** Reads thresholds from JSON text (a `--thresholds` file); throws ThresholdsError on bad JSON or values. */
export function thresholdsFromJson(text: string): Thresholds {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ThresholdsError('not JSON (expected an object of thresholds, e.g. {"servicesHigh": 1500})');
  }
  return loadThresholds(json);
}
