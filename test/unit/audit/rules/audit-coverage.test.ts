import { describe, expect, it } from 'vitest';
import { auditCoverage } from '#audit/rules/audit-coverage.js';
import {
  clusterEvidence,
  evaluate,
  failedNode,
  fired,
  reached,
  reachedNodes,
  unreachable,
  verdict,
} from '../evidence-builders.js';

describe('AUDIT-COVERAGE', () => {
  it.each([
    [4, 0, 0, 'passed'],
    [7, 1, 0, 'LOW'],
    [4, 0, 1, 'LOW'],
    [3, 1, 0, 'MEDIUM'],
    [6, 1, 1, 'MEDIUM'],
    [1, 2, 1, 'MEDIUM'],
  ])('with %i reached, %i unreachable and %i failed nodes is %s (25 %% inclusive)', (ok, unreach, fail, expected) => {
    const evidence = clusterEvidence({
      nodes: [
        ...reachedNodes(ok),
        ...Array.from({ length: unreach }, (_, i) => unreachable(`i-u${i}`)),
        ...Array.from({ length: fail }, (_, i) => failedNode(`i-f${i}`)),
      ],
    });
    expect(verdict(evaluate(auditCoverage, evidence))).toBe(expected);
  });

  it('is INFO when every node was reached but some reports list read errors', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', { errors: ['lock: no lock file at /run/xtables.lock'] }),
        reached('i-02', {
          errors: ['lock: no lock file at /run/xtables.lock', 'kube-proxy metrics: connection refused', 'b', 'a'],
        }),
        reached('i-03'),
      ],
    });

    // Act
    const outcome = fired(evaluate(auditCoverage, evidence));

    // Assert
    expect(outcome.severity).toBe('INFO');
    expect(outcome.title).toBe('Some node reports are incomplete');
    expect(outcome.evidence.nodes).toEqual(['i-01', 'i-02']);
    expect(outcome.evidence.values.errors).toBe('lock: no lock file at /run/xtables.lock (2); a (1); b (1); 1 more');
  });

  it('groups the reasons and lists the SSM status of the uncovered nodes', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [
        ...reachedNodes(6),
        unreachable('i-b1', 'Bottlerocket'),
        unreachable('i-b2', 'Bottlerocket'),
        failedNode('i-f1', null),
      ],
    });

    // Act
    const outcome = fired(evaluate(auditCoverage, evidence));

    // Assert
    expect(outcome.severity).toBe('MEDIUM');
    expect(outcome.evidence.summary).toBe(
      '3 of 9 nodes were not audited (2 unreachable, 1 failed): Bottlerocket (2); collection failed (1).',
    );
    expect(outcome.evidence.values).toMatchObject({ expectedNodes: 9, reachedNodes: 6, uncoveredShare: 0.33 });
    expect(outcome.remediation.command).toBe(
      "aws ssm describe-instance-information --filters Key=InstanceIds,Values=i-b1,i-b2,i-f1 --region eu-west-1 --query 'InstanceInformationList[].[InstanceId,PingStatus,PlatformName,AgentVersion]' --output table",
    );
  });

  it('reads the MEDIUM share from the thresholds', () => {
    const evidence = clusterEvidence({ nodes: [...reachedNodes(9), unreachable('i-u1')] });
    expect(verdict(evaluate(auditCoverage, evidence, { uncoveredShareMedium: 0.1 }))).toBe('MEDIUM');
  });
});
