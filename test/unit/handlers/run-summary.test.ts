import type { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import type { ClusterResult, Finding, FindingState, Severity } from '#audit/model.js';
import { publishRunMetrics, RUN_METRICS } from '#handlers/observability.js';
import { summarizeRun } from '#handlers/run-summary.js';

const finding = (severity: Severity, state: FindingState): Finding => ({
  ruleId: 'XT-LOCK-CONTENTION',
  severity,
  title: 'xtables lock contention',
  state,
  evidence: { summary: '', values: {}, nodes: [], moreNodes: 0 },
  remediation: { summary: '', configurationValues: null, command: null, links: [] },
  fingerprint: `a/r/c/${severity}/${state}`,
});

const cluster = (name: string, status: ClusterResult['status'], findings: Finding[]): ClusterResult => ({
  account: '111111111111',
  region: 'eu-west-1',
  name,
  status,
  score: status === 'FAILED' ? null : 70,
  nodes: { expected: 1, reached: 1, unreachable: 0, failed: 0 },
  findings,
  notEvaluated: [],
});

describe('run summary', () => {
  it('counts clusters by status, findings by state, and open findings by severity', () => {
    // Act
    const summary = summarizeRun({
      result: {
        runId: 'run-1',
        status: 'PARTIAL',
        startedAt: '2026-11-30T02:00:00.000Z',
        finishedAt: '2026-11-30T02:17:30.000Z',
        clusters: [
          cluster('a', 'COMPLETE', [finding('HIGH', 'NEW'), finding('HIGH', 'ONGOING'), finding('LOW', 'RESOLVED')]),
          cluster('b', 'PARTIAL', [finding('CRITICAL', 'WORSENED'), finding('MEDIUM', 'UNKNOWN')]),
          cluster('c', 'FAILED', [finding('HIGH', 'SUPPRESSED')]),
        ],
      },
      alertMessageId: 'm-1',
      alertProblem: null,
    });

    // Assert
    expect(summary).toEqual({
      runId: 'run-1',
      status: 'PARTIAL',
      startedAt: '2026-11-30T02:00:00.000Z',
      finishedAt: '2026-11-30T02:17:30.000Z',
      durationSeconds: 1050,
      clusters: 3,
      clustersByStatus: { COMPLETE: 1, PARTIAL: 1, FAILED: 1 },
      findingsByState: { NEW: 1, ONGOING: 1, WORSENED: 1, RESOLVED: 1, UNKNOWN: 1, SUPPRESSED: 1 },
      openFindingsBySeverity: { CRITICAL: 1, HIGH: 2, MEDIUM: 0, LOW: 0, INFO: 0 },
      alertMessageId: 'm-1',
      alertProblem: null,
    });
  });
});

describe('run metrics', () => {
  it('are emitted as one blob: clusters, duration and open findings for every severity', () => {
    // Arrange
    const addMetric = vi.fn();
    const publishStoredMetrics = vi.fn();
    const sink = { addMetric, publishStoredMetrics } as unknown as Metrics;

    // Act
    publishRunMetrics(
      {
        clustersAudited: 5,
        clustersFailed: 1,
        durationSeconds: 1050,
        openFindingsBySeverity: { CRITICAL: 1, HIGH: 2, MEDIUM: 0, LOW: 0, INFO: 3 },
      },
      sink,
    );

    // Assert
    expect(addMetric.mock.calls).toEqual([
      [RUN_METRICS.clustersAudited, 'Count', 5],
      [RUN_METRICS.clustersFailed, 'Count', 1],
      [RUN_METRICS.runDurationSeconds, 'Seconds', 1050],
      ['OpenFindingsCritical', 'Count', 1],
      ['OpenFindingsHigh', 'Count', 2],
      ['OpenFindingsMedium', 'Count', 0],
      ['OpenFindingsLow', 'Count', 0],
      ['OpenFindingsInfo', 'Count', 3],
    ]);
    expect(publishStoredMetrics).toHaveBeenCalledOnce();
  });
});
