import { z } from 'zod';
import { describeIssue } from './node-report.js';

const count = (value: number) => z.number().int().nonnegative().default(value);
const positive = (value: number) => z.number().positive().default(value);
const share = (value: number) => z.number().gt(0).lte(1).default(value);
const atLeastOne = (value: number) => z.number().int().positive().default(value);

/**
 * Rule thresholds (docs/rules.md), defaults as there. A partial object is filled with the defaults; an unknown
 * key is an error, so a misspelt threshold never silently keeps its default.
 *
 * Comparisons are strict (`value > threshold`) except the ones marked "inclusive" (≥). Each
 * threshold's description (`.describe`) is what docs/rules.md lists.
 */
export const ThresholdsSchema = z
  .object({
    servicesMedium: atLeastOne(500).describe(
      'Services (p50 of KUBE-SVC chains on iptables-mode nodes) above which KP-IPTABLES-SCALE is MEDIUM, CNI-API-DEPENDENCY applies and SCALE-GROWTH warns LOW',
    ),
    servicesHigh: atLeastOne(1000).describe(
      'Services above which KP-IPTABLES-SCALE is HIGH and SCALE-GROWTH warns MEDIUM',
    ),
    lockWaitedMedium: count(0).describe(
      'samples with a writer queued for the xtables lock (`lock.waited`) on a node above which XT-LOCK-CONTENTION is MEDIUM',
    ),
    lockWaitedShareHigh: share(0.1).describe(
      'a node’s waited share (waited / samples) at or above which XT-LOCK-CONTENTION is HIGH (inclusive)',
    ),
    lockWaitersHigh: atLeastOne(2).describe(
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
      'p95 of iptables.saveMs (ms) on iptables-nft nodes above which IPT-SLOW-SYNC is MEDIUM (an nft save of the same ruleset is slower: 2.5–2.6× in CPU as measured in docs/benchmarks.md)',
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
    awsNodeRestartsHigh: atLeastOne(3).describe(
      'aws-node restarts on a node at or above which CNI-RESTARTS is HIGH (inclusive)',
    ),
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

const KP_IPTABLES = 'kubernetes pkg/util/iptables/iptables.go';
const JUDGEMENT = 'our judgement';

/**
 * Where each default comes from: the upstream file or issue it rests on, or "our judgement" with the reason.
 * docs/rules.md prints it beside the threshold.
 */
export const THRESHOLD_SOURCES: Readonly<Record<keyof Thresholds, string>> = {
  servicesMedium:
    `${JUDGEMENT}: the VPC CNI maintainers see aws-node start-up and lock problems from several hundred Services in ` +
    'iptables mode (aws/amazon-vpc-cni-k8s#2948)',
  servicesHigh:
    'EKS best practices (best-practices/ipvs.html): the latency issue "often seen when running large clusters ' +
    'with over 1,000 services" in iptables mode',
  lockWaitedMedium: `any queued writer lost time: kube-proxy waits at most 5 s (\`iptables-restore -w 5\`, ${KP_IPTABLES})`,
  lockWaitedShareHigh: `${JUDGEMENT}: a writer queued in one probe sample of ten means waits on most syncs`,
  lockWaitersHigh: `${JUDGEMENT}: two writers queued at once means kube-proxy and aws-node both wait (aws/amazon-vpc-cni-k8s#2948)`,
  lockErrorsHigh:
    'a lock time-out fails the whole kube-proxy sync (kubernetes/kubernetes#85771, "Another app is currently ' +
    'holding the xtables lock")',
  saveMsMedium: `${JUDGEMENT}: a one-second save means restores of the same ruleset hold the lock about as long`,
  saveMsHigh: `kube-proxy gives up on the lock after 5 s (\`-w 5\`, ${KP_IPTABLES})`,
  saveMsNftMedium:
    'saveMsMedium × 4, for an nft save being slower than a legacy save of the same ruleset; measured here ' +
    '2.5–2.6× in CPU (docs/benchmarks.md, `npm run bench`), so this default errs on the quiet side',
  saveMsNftHigh: 'saveMsHigh × 4, as saveMsNftMedium (measured ratio 2.5–2.6×, docs/benchmarks.md)',
  syncP99SecondsMedium:
    `${JUDGEMENT} on kube-proxy's buckets (0.001 × 2^k s, kubernetes pkg/proxy/metrics/metrics.go): a p99 of at ` +
    'least 1.024 s',
  syncP99SecondsHigh: `kube-proxy's 5 s lock wait (${KP_IPTABLES}): p99 syncs of at least 8.192 s exceed it`,
  slowRestoresMedium: `kube-proxy traces a restore only when it takes over 2 s (\`trace.LogIfLong(2 * time.Second)\`, ${KP_IPTABLES})`,
  restoreFailuresHigh:
    'a failed restore leaves the node on stale rules until the next try (kubernetes/kubernetes#85771)',
  staleSyncFactor:
    'kube-proxy’s healthz reports unhealthy when a queued change waits longer than 2 × syncPeriod ' +
    '(kubernetes cmd/kube-proxy/app/server.go, `NewProxierHealthServer(..., 2*config.SyncPeriod.Duration)`)',
  staleSyncFloorSeconds:
    'the healthz limit with the default syncPeriod of 30 s (2 × 30 s; kubernetes pkg/proxy/apis/config/v1alpha1/defaults.go)',
  staleSyncGraceSeconds: `${JUDGEMENT}: one more minute for a sync that is merely slow, not stuck`,
  awsNodeRestartsMedium: `${JUDGEMENT}: any restart in the window costs a node its pod networking for a while`,
  awsNodeRestartsHigh: `${JUDGEMENT}: three restarts in a day is a crash loop, not an accident`,
  ipamdApiUnreachableMedium:
    'ipamd logs it when it cannot reach the API server at start (aws/amazon-vpc-cni-k8s cmd/aws-k8s-agent, #3243)',
  uncoveredShareMedium: `${JUDGEMENT}: with a quarter of the nodes unseen the cluster's verdict is not representative`,
  growthMinSnapshots: `${JUDGEMENT}: the fewest points a line can be fitted through with a residual`,
  growthHorizonDays: `${JUDGEMENT}: a month gives time to plan a proxy-mode change`,
};

/**
 * Thresholds of earlier releases whose rule changed meaning: a configuration that still sets one is told what
 * replaced it, rather than only that the name is unknown.
 */
const RETIRED_THRESHOLDS: Readonly<Record<string, string>> = {
  lockBusyMedium:
    'retired: XT-LOCK-CONTENTION now judges writers waiting for the lock, not the lock being held; use lockWaitedMedium',
  lockBusyShareHigh:
    'retired: XT-LOCK-CONTENTION now judges writers waiting for the lock, not the lock being held; use lockWaitedShareHigh (default 0.1) or lockWaitersHigh',
};

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
    const retired = issue.keys.find((key) => Object.hasOwn(RETIRED_THRESHOLDS, key));
    if (retired) throw new ThresholdsError(`field ${retired}: ${RETIRED_THRESHOLDS[retired]}`);
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
