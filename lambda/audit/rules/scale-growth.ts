import { crossingOf, projectAt, serviceTrend } from '../trend.js';
import { plural, round2, serviceCount } from './facts.js';
import { LINKS } from './links.js';
import { proxyModeRemediation } from './remediation.js';
import type { Rule } from './rule.js';

/** The Service count trend from earlier runs crosses a KP-IPTABLES-SCALE threshold soon. */
export const scaleGrowth: Rule = {
  id: 'SCALE-GROWTH',
  title: 'The Service count is growing towards the iptables-mode limits',
  why:
    'Leaving iptables mode is disruptive and best planned, not done during an incident. When the Service count ' +
    'seen by iptables-mode nodes keeps growing, the cluster will cross the KP-IPTABLES-SCALE thresholds; this rule ' +
    'says so while there is still time to plan the move to nftables or IPVS mode.',
  severities: ['MEDIUM', 'LOW'],
  judges:
    'The Service count of earlier runs (`history[].serviceCount`, the same p50 as KP-IPTABLES-SCALE) plus the ' +
    'current one, as (days before now, Services). A Theil–Sen line (median of pairwise slopes, median intercept) ' +
    'is projected `growthHorizonDays` ahead; only a growing line (slope > 0) counts. LOW when the current count is at most `servicesMedium` and the ' +
    'projection is above it; MEDIUM when the current count is at most `servicesHigh` and the projection is above ' +
    'it. Never when the count is already above `servicesHigh` (KP-IPTABLES-SCALE reports that).',
  thresholds: ['growthMinSnapshots', 'growthHorizonDays', 'servicesMedium', 'servicesHigh'],
  notEvaluatedWhen:
    'fewer than `growthMinSnapshots` earlier runs with a Service count (runs with a null count or an unparsable ' +
    'time are skipped), or no iptables-mode node reports a Service count now',
  remediation: 'Plan the move off iptables mode before the crossing date (the same choice as KP-IPTABLES-SCALE).',
  links: [LINKS.eksLargeClusters, LINKS.eksNftables, LINKS.eksIpvs],
  evaluate(context) {
    const { evidence, thresholds: t } = context;
    const { services } = serviceCount(context);
    if (services === null) {
      return { kind: 'not-evaluated', reason: 'no iptables-mode node reports a Service count now' };
    }
    const trend = serviceTrend(
      evidence.history.map((p) => ({ at: p.at, services: p.serviceCount })),
      services,
      evidence.observedAt,
    );
    if (trend === null) {
      return { kind: 'not-evaluated', reason: `observedAt ${JSON.stringify(evidence.observedAt)} is not a time` };
    }
    const { earlier, fit, now } = trend;
    if (earlier.length < t.growthMinSnapshots) {
      return {
        kind: 'not-evaluated',
        reason: `${plural(earlier.length, 'earlier run')} with a Service count; ${t.growthMinSnapshots} needed`,
      };
    }
    if (fit === null) return { kind: 'not-evaluated', reason: 'no two snapshots at different times' };
    const projected = projectAt(fit, t.growthHorizonDays);
    const level =
      fit.slope <= 0
        ? null
        : services <= t.servicesHigh && projected > t.servicesHigh
          ? { severity: 'MEDIUM' as const, threshold: t.servicesHigh }
          : services <= t.servicesMedium && projected > t.servicesMedium
            ? { severity: 'LOW' as const, threshold: t.servicesMedium }
            : null;
    const crossingAt = level === null ? null : crossingOf(fit, level.threshold, now);
    if (level === null || crossingAt === null) return { kind: 'passed' };
    const { days: daysToCross, date: crossing } = crossingAt;
    return {
      kind: 'fired',
      severity: level.severity,
      evidence: {
        summary:
          `${services} Services now, growing ${round2(fit.slope)} a day over ${earlier.length + 1} snapshots: ` +
          `about ${Math.round(projected)} in ${t.growthHorizonDays} days, above ${level.threshold} from about ${crossing}.`,
        values: {
          servicesNow: services,
          slopePerDay: round2(fit.slope),
          projectedServices: Math.round(projected),
          horizonDays: t.growthHorizonDays,
          threshold: level.threshold,
          daysToCross,
          crossingDate: crossing,
          snapshots: earlier.length + 1,
        },
        nodes: [],
        moreNodes: 0,
      },
      remediation: proxyModeRemediation(
        context,
        `At the current trend the cluster passes ${level.threshold} Services around ${crossing}; plan the change before then.`,
      ),
    };
  },
};
