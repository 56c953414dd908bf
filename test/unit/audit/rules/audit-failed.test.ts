import { describe, expect, it } from 'vitest';
import { auditFailed } from '#audit/rules/audit-failed.js';
import { clusterEvidence, evaluate, failedNode, fired, reached, unreachable } from '../evidence-builders.js';

describe('AUDIT-FAILED', () => {
  it('passes when a node was read', () => {
    expect(evaluate(auditFailed, clusterEvidence({ nodes: [reached('i-01'), unreachable('i-02')] }))).toEqual({
      kind: 'passed',
    });
  });

  it.each([
    [
      'discovery failed',
      { auditError: 'AccessDenied assuming the audit role', nodes: [reached('i-01')] },
      'AccessDenied assuming the audit role',
    ],
    [
      'no node was read',
      { nodes: [unreachable('i-01'), failedNode('i-02')] },
      'no node of 2 could be read (1 unreachable, 1 failed): command timed out (1); SSM agent offline (1)',
    ],
    ['the cluster has no nodes', { nodes: [] }, 'no running node of the cluster was found'],
  ])('fires HIGH when %s', (_case, overrides, summary) => {
    const outcome = fired(evaluate(auditFailed, clusterEvidence(overrides)));
    expect(outcome.severity).toBe('HIGH');
    expect(outcome.evidence.summary).toBe(summary);
  });

  it('names the nodes it could not read, sorted', () => {
    const outcome = fired(evaluate(auditFailed, clusterEvidence({ nodes: [failedNode('i-02'), unreachable('i-01')] })));
    expect(outcome.evidence.nodes).toEqual(['i-01', 'i-02']);
    expect(outcome.evidence.moreNodes).toBe(0);
  });
});
