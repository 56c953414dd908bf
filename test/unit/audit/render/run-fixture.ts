import { chartLimits } from '#audit/measures.js';
import {
  type ClusterMeasures,
  type ClusterResult,
  type Finding,
  fingerprintOf,
  type RuleId,
  type RunResult,
  RunResultSchema,
} from '#audit/model.js';
import { DEFAULT_THRESHOLDS } from '#audit/thresholds.js';

/** A cluster name a hostile tag could choose: markup, both quote kinds and an ampersand. */
export const HOSTILE_NAME = `prod-<script>alert(1)</script>"x"&'y'`;
/** Evidence text with an event-handler attribute. */
export const HOSTILE_EVIDENCE = 'lock held by "<img src=x onerror=alert(1)>" & friends';
export const HOSTILE_COMMAND = `aws eks update-addon --cluster-name '${HOSTILE_NAME}' --configuration-values '{"mode":"ipvs"}'`;

type ClusterPlace = Pick<ClusterResult, 'account' | 'region' | 'name'>;

/** A finding with plain defaults; `patch` replaces whole fields. */
export function finding(place: ClusterPlace, ruleId: RuleId, patch: Partial<Finding> = {}): Finding {
  return {
    ruleId,
    severity: 'MEDIUM',
    title: `${ruleId} title`,
    state: 'NEW',
    evidence: { summary: `${ruleId} evidence.`, values: {}, nodes: [], moreNodes: 0 },
    remediation: { summary: `${ruleId} remediation.`, configurationValues: null, command: null, links: [] },
    fingerprint: fingerprintOf(place, ruleId),
    ...patch,
  };
}

const hostile: ClusterPlace = { account: '111111111111', region: 'eu-west-1', name: HOSTILE_NAME };
const healthy: ClusterPlace = { account: '222222222222', region: 'us-east-1', name: 'healthy' };
const unaudited: ClusterPlace = { account: '222222222222', region: 'eu-west-1', name: 'edge' };
const adhoc: ClusterPlace = { account: null, region: null, name: 'adhoc' };

export const TWELVE_NODES = Array.from({ length: 12 }, (_, i) => `i-${String(i + 1).padStart(17, '0')}`);

/**
 * Four clusters, in this order: one with every finding state and hostile strings (score 37), a healthy one (100),
 * one that could not be audited (null), and an ad-hoc one without account/region (97).
 */
export function runFixture(patch: Partial<RunResult> = {}): RunResult {
  const run: RunResult = {
    runId: '20261130T020000-abcdef12',
    status: 'PARTIAL',
    startedAt: '2026-11-30T02:00:00.000Z',
    finishedAt: '2026-11-30T02:04:12.500Z',
    clusters: [
      {
        ...hostile,
        status: 'PARTIAL',
        score: 37,
        nodes: { expected: 12, reached: 10, unreachable: 1, failed: 1 },
        findings: [
          finding(hostile, 'XT-LOCK-CONTENTION', {
            severity: 'HIGH',
            title: 'The xtables lock is contended',
            evidence: {
              summary: HOSTILE_EVIDENCE,
              values: { busyNodes: 3, maxBusyShare: 0.45, holders: '<b>iptables</b>', lockErrorsCloudWatch: null },
              nodes: TWELVE_NODES.slice(0, 10),
              moreNodes: 2,
            },
            remediation: {
              summary: 'Switch kube-proxy to IPVS, then run `kubectl -n kube-system rollout restart ds/kube-proxy`.',
              configurationValues: { mode: 'ipvs', ipvs: { scheduler: 'rr' } },
              command: HOSTILE_COMMAND,
              links: ['https://docs.aws.amazon.com/eks/latest/best-practices/ipvs.html', 'javascript:alert(1)'],
            },
          }),
          finding(hostile, 'AUDIT-COVERAGE', { severity: 'LOW', state: 'ONGOING' }),
          finding(hostile, 'KP-SYNC-FAILING', { severity: 'CRITICAL', state: 'WORSENED' }),
          finding(hostile, 'CNI-RESTARTS', { severity: 'HIGH', state: 'RESOLVED' }),
          finding(hostile, 'IPT-SLOW-SYNC', { severity: 'MEDIUM', state: 'UNKNOWN' }),
          finding(hostile, 'ADDON-VERSION-RISK', { severity: 'LOW', state: 'SUPPRESSED' }),
        ],
        notEvaluated: [{ ruleId: 'SCALE-GROWTH', reason: '0 earlier runs with a Service count; 3 needed' }],
      },
      {
        ...healthy,
        status: 'COMPLETE',
        score: 100,
        nodes: { expected: 3, reached: 3, unreachable: 0, failed: 0 },
        findings: [],
        notEvaluated: [],
      },
      {
        ...unaudited,
        status: 'FAILED',
        score: null,
        nodes: { expected: 2, reached: 0, unreachable: 2, failed: 0 },
        findings: [
          finding(unaudited, 'AUDIT-FAILED', {
            severity: 'HIGH',
            title: 'The cluster could not be audited',
            evidence: { summary: 'no node of 2 could be read', values: {}, nodes: [], moreNodes: 0 },
          }),
        ],
        notEvaluated: [
          { ruleId: 'KP-IPTABLES-SCALE', reason: 'the cluster could not be audited' },
          { ruleId: 'XT-LOCK-CONTENTION', reason: 'the cluster could not be audited' },
        ],
      },
      {
        ...adhoc,
        status: 'COMPLETE',
        score: 97,
        nodes: { expected: 2, reached: 2, unreachable: 0, failed: 0 },
        findings: [finding(adhoc, 'AUDIT-COVERAGE', { severity: 'INFO' })],
        notEvaluated: [],
      },
    ],
    ...patch,
  };
  return RunResultSchema.parse(run);
}

/** Chart measures of a cluster: 600 Services growing over four earlier days, legacy saves, quick syncs, idle lock. */
export function measures(patch: Partial<ClusterMeasures> = {}): ClusterMeasures {
  return {
    services: 600,
    saveMsP95: { legacy: 1200, nft: null },
    syncP99: { buckets: [{ atLeastSeconds: 0.064, nodes: 3 }], unknown: 0 },
    lockWaits: { none: 3, deciles: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], notApplicable: 0, unknown: 0 },
    serviceHistory: [
      { at: '2026-05-28T02:00:00.000Z', services: 400 },
      { at: '2026-05-29T02:00:00.000Z', services: 450 },
      { at: '2026-05-30T02:00:00.000Z', services: 500 },
      { at: '2026-05-31T02:00:00.000Z', services: 550 },
      { at: '2026-06-01T02:00:00.000Z', services: 600 },
    ],
    limits: chartLimits(DEFAULT_THRESHOLDS),
    ...patch,
  };
}
