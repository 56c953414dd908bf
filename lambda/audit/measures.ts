import type { ChartLimits, ClusterEvidence, ClusterMeasures } from './model.js';
import { KUBE_PROXY_SYNC_BUCKETS, lockApplicable, lockWaitedShare, syncP99Lower } from './rules/facts.js';
import type { RuleContext } from './rules/rule.js';
import type { Thresholds } from './thresholds.js';

/**
 * What the report's charts draw of one cluster (see ClusterMeasuresSchema), from the same aggregates and facts the
 * rules judge, so a chart never disagrees with a finding. Every part is bounded: a histogram of kube-proxy's
 * 15 buckets (plus 0), ten lock-wait deciles, and one Service count a stored day.
 */
export function clusterMeasures(evidence: ClusterEvidence, context: RuleContext): ClusterMeasures {
  const { nodes, metrics, thresholds } = context;
  const services = metrics.services.cluster.p50;
  const sync = new Map<number, number>();
  let syncUnknown = 0;
  const lockWaits = { none: 0, deciles: Array.from({ length: 10 }, () => 0), notApplicable: 0, unknown: 0 };
  for (const { report } of nodes) {
    const lower = syncP99Lower(report);
    if (lower === null) syncUnknown++;
    else {
      const bucket = syncBucketOf(lower);
      sync.set(bucket, (sync.get(bucket) ?? 0) + 1);
    }
    const share = lockApplicable(report) ? lockWaitedShare(report) : null;
    if (!lockApplicable(report)) lockWaits.notApplicable++;
    else if (share === null) lockWaits.unknown++;
    else if (share <= 0) lockWaits.none++;
    else {
      const decile = Math.min(9, Math.floor(share * 10));
      lockWaits.deciles[decile] = (lockWaits.deciles[decile] ?? 0) + 1;
    }
  }
  const earlier = evidence.history.flatMap((p) =>
    p.serviceCount === null ? [] : [{ at: p.at, services: p.serviceCount }],
  );
  return {
    services,
    saveMsP95: { legacy: metrics.saveMsLegacy.cluster.p95, nft: metrics.saveMsNft.cluster.p95 },
    syncP99: {
      buckets: [...sync].sort(([a], [b]) => a - b).map(([atLeastSeconds, count]) => ({ atLeastSeconds, nodes: count })),
      unknown: syncUnknown,
    },
    lockWaits,
    serviceHistory: services === null ? earlier : [...earlier, { at: evidence.observedAt, services }],
    limits: chartLimits(thresholds),
  };
}

/**
 * The kube-proxy bucket bound at or below a sync p99's lower bound (0 below the first): collectors report bucket
 * bounds, so this only keeps an odd value from adding a histogram entry of its own.
 */
function syncBucketOf(lowerSeconds: number): number {
  let bucket = 0;
  for (const bound of KUBE_PROXY_SYNC_BUCKETS) if (bound <= lowerSeconds + 1e-9) bucket = bound;
  return bucket;
}

/** The thresholds the charts draw, taken from those the rules judged with. */
export function chartLimits(t: Thresholds): ChartLimits {
  return {
    servicesMedium: t.servicesMedium,
    servicesHigh: t.servicesHigh,
    saveMsMedium: t.saveMsMedium,
    saveMsHigh: t.saveMsHigh,
    saveMsNftMedium: t.saveMsNftMedium,
    saveMsNftHigh: t.saveMsNftHigh,
    syncP99SecondsMedium: t.syncP99SecondsMedium,
    syncP99SecondsHigh: t.syncP99SecondsHigh,
    lockWaitedShareHigh: t.lockWaitedShareHigh,
    uncoveredShareMedium: t.uncoveredShareMedium,
    growthMinSnapshots: t.growthMinSnapshots,
    growthHorizonDays: t.growthHorizonDays,
  };
}
