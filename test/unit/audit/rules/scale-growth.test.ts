import { describe, expect, it } from 'vitest';
import { scaleGrowth } from '#audit/rules/scale-growth.js';
import { clusterEvidence, evaluate, fired, historyPoint, reached, verdict } from '../evidence-builders.js';

/** Runs 30, 20 and 10 days ago and now, growing 10 Services a day from `start`. */
const growing = (start: number, perDay = 10) =>
  clusterEvidence({
    history: [historyPoint(30, start), historyPoint(20, start + 10 * perDay), historyPoint(10, start + 20 * perDay)],
    nodes: [reached('i-01', { iptables: { kubeServiceChains: start + 30 * perDay } })],
  });

describe('SCALE-GROWTH', () => {
  it.each([
    // now 400, +10/day: in 10 days exactly 500 (not above)
    [100, 10, 10, 'passed'],
    [101, 10, 10, 'LOW'],
    // now 400, +10/day over 30 days: 700
    [100, 10, 30, 'LOW'],
    // now 401, +10/day over 60 days: 1001, past both thresholds
    [101, 10, 60, 'MEDIUM'],
    // now 700 (above 500 already), 1000 in 30 days: not above 1000
    [400, 10, 30, 'passed'],
    // now 1000 (not above 1000), 1300 in 30 days
    [700, 10, 30, 'MEDIUM'],
    // now 1001: KP-IPTABLES-SCALE reports it
    [701, 10, 30, 'passed'],
    // shrinking
    [700, -10, 30, 'passed'],
  ])('with history from %i growing %i a day, projected %i days ahead: %s', (start, perDay, horizon, expected) => {
    expect(verdict(evaluate(scaleGrowth, growing(start, perDay), { growthHorizonDays: horizon }))).toBe(expected);
  });

  it.each([
    [
      'two earlier runs',
      [historyPoint(20, 100), historyPoint(10, 200)],
      '2 earlier runs with a Service count; 3 needed',
    ],
    [
      'three runs, one with an unknown count',
      [historyPoint(30, 100), historyPoint(20, null), historyPoint(10, 200)],
      '2 earlier runs with a Service count; 3 needed',
    ],
    ['no history', [], '0 earlier runs with a Service count; 3 needed'],
  ])('is not evaluated with %s', (_case, history, reason) => {
    const evidence = clusterEvidence({ history, nodes: [reached('i-01', { iptables: { kubeServiceChains: 450 } })] });
    expect(evaluate(scaleGrowth, evidence)).toEqual({ kind: 'not-evaluated', reason });
  });

  it('is not evaluated when no iptables-mode node reports a Service count now', () => {
    const evidence = growing(100);
    evidence.nodes = [reached('i-01', { kubeProxy: { mode: 'ipvs' } })];
    expect(evaluate(scaleGrowth, evidence)).toEqual({
      kind: 'not-evaluated',
      reason: 'no iptables-mode node reports a Service count now',
    });
  });

  it('is not pulled by one outlying snapshot', () => {
    // Arrange: steady 300 Services, except one night that counted 5000
    const evidence = clusterEvidence({
      history: [historyPoint(40, 300), historyPoint(30, 300), historyPoint(20, 5000), historyPoint(10, 300)],
      nodes: [reached('i-01', { iptables: { kubeServiceChains: 300 } })],
    });

    // Act / Assert
    expect(verdict(evaluate(scaleGrowth, evidence))).toBe('passed');
  });

  it('gives the fit, the projection and the crossing date', () => {
    // Act
    const outcome = fired(evaluate(scaleGrowth, growing(100)));

    // Assert
    expect(outcome.severity).toBe('LOW');
    expect(outcome.evidence.values).toEqual({
      servicesNow: 400,
      slopePerDay: 10,
      projectedServices: 700,
      horizonDays: 30,
      threshold: 500,
      daysToCross: 10,
      crossingDate: '2026-06-11',
      snapshots: 4,
    });
    expect(outcome.evidence.summary).toBe(
      '400 Services now, growing 10 a day over 4 snapshots: about 700 in 30 days, above 500 from about 2026-06-11.',
    );
    expect(outcome.remediation.summary).toContain('passes 500 Services around 2026-06-11');
  });
});
