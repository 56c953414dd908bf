import { describe, expect, it } from 'vitest';
import type { ClusterResult, Finding } from '#audit/model.js';
import { scoreCluster, scoreFleet } from '#audit/scoring.js';

describe('scoreCluster', () => {
  it.each([
    [[], 100],
    [['INFO'], 100],
    [['LOW'], 97],
    [['MEDIUM'], 90],
    [['MEDIUM', 'MEDIUM'], 84],
    [['HIGH'], 70],
    [['HIGH', 'LOW'], 70],
    [['HIGH', 'MEDIUM', 'MEDIUM'], 64],
    [['CRITICAL'], 40],
    [['CRITICAL', 'HIGH', 'HIGH', 'HIGH'], 0],
  ] as const)('scores %j as %i', (severities, score) => {
    expect(scoreCluster(severities, true)).toBe(score);
  });

  it('is null for a cluster that could not be audited', () => {
    expect(scoreCluster(['HIGH'], false)).toBeNull();
  });

  it('counts a rule once, at its worst severity', () => {
    expect(
      scoreCluster(
        [
          { ruleId: 'XT-LOCK-CONTENTION', severity: 'MEDIUM' },
          { ruleId: 'XT-LOCK-CONTENTION', severity: 'HIGH' },
        ],
        true,
      ),
    ).toBe(70);
  });

  it.each([['RESOLVED'], ['SUPPRESSED'], ['UNKNOWN']] as const)('lets a %s finding cost nothing', (state) => {
    expect(scoreCluster([{ severity: 'CRITICAL', state }], true)).toBe(100);
  });

  it.each([['NEW'], ['ONGOING'], ['WORSENED']] as const)('charges a %s finding', (state) => {
    expect(scoreCluster([{ severity: 'HIGH', state }], true)).toBe(70);
  });
});

const finding = (severity: Finding['severity'], state: Finding['state'] = 'NEW') => ({ severity, state });
const cluster = (name: string, score: number | null, expected: number, findings = [finding('LOW')]) =>
  ({
    account: '1',
    region: 'r',
    name,
    status: score === null ? 'FAILED' : 'COMPLETE',
    score,
    nodes: { expected, reached: score === null ? 0 : expected, unreachable: score === null ? expected : 0, failed: 0 },
    findings,
    notEvaluated: [],
  }) as unknown as ClusterResult;

describe('scoreFleet', () => {
  it('weights cluster scores by node count, rounds down, and names the worst cluster', () => {
    // Act
    const fleet = scoreFleet([
      cluster('big', 90, 30),
      cluster('small', 40, 10),
      cluster('down', null, 5, [finding('HIGH')]),
    ]);

    // Assert: (90 × 30 + 40 × 10) / 40 = 77.5
    expect(fleet).toEqual({
      score: 77,
      worst: { account: '1', region: 'r', name: 'small', score: 40 },
      clusters: 3,
      audited: 2,
      unaudited: 1,
      byStatus: { COMPLETE: 2, PARTIAL: 0, FAILED: 1 },
      findingsBySeverity: { CRITICAL: 0, HIGH: 1, MEDIUM: 0, LOW: 2, INFO: 0 },
      unknownFindings: 0,
      suppressedFindings: 0,
      nodes: { expected: 45, reached: 40, unreachable: 5, failed: 0 },
    });
  });

  it('counts an empty cluster with weight 1 and separates UNKNOWN and SUPPRESSED findings', () => {
    const fleet = scoreFleet([
      cluster('empty', 100, 0, [finding('HIGH', 'UNKNOWN'), finding('LOW', 'SUPPRESSED'), finding('LOW', 'RESOLVED')]),
      cluster('one', 97, 1),
    ]);
    expect(fleet.score).toBe(98);
    expect(fleet.unknownFindings).toBe(1);
    expect(fleet.suppressedFindings).toBe(1);
    expect(fleet.findingsBySeverity.LOW).toBe(1);
  });

  it('has no score when no cluster was audited, and 100 only when every audited one is 100', () => {
    expect(scoreFleet([cluster('down', null, 3)]).score).toBeNull();
    expect(scoreFleet([]).score).toBeNull();
    expect(scoreFleet([cluster('a', 100, 500), cluster('b', 99, 1)]).score).toBe(99);
  });
});
