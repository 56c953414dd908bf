import { describe, expect, it } from 'vitest';
import { iptMixedBackend } from '#audit/rules/ipt-mixed-backend.js';
import { clusterEvidence, evaluate, fired, reached, verdict } from '../evidence-builders.js';

describe('IPT-MIXED-BACKEND', () => {
  it.each([
    [['legacy', 'legacy'], 'passed'],
    [['nft', 'none'], 'passed'],
    [['legacy', 'mixed'], 'HIGH'],
    [['mixed', null], 'HIGH'],
  ] as const)('judges backends %j as %s', (backends, expected) => {
    const evidence = clusterEvidence({
      nodes: backends.map((backend, i) => reached(`i-0${i}`, { iptables: { backend } })),
    });
    expect(verdict(evaluate(iptMixedBackend, evidence))).toBe(expected);
  });

  it('is not evaluated when no node reported its backend', () => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { iptables: { backend: null } }), reached('i-02', { iptables: null })],
    });
    expect(evaluate(iptMixedBackend, evidence)).toEqual({
      kind: 'not-evaluated',
      reason: 'no reached node reported its iptables backend',
    });
  });

  it('names the mixed nodes and counts backends', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [
        reached('i-03', { iptables: { backend: 'mixed', legacyRules: 40, nftRules: 9000 } }),
        reached('i-01', { iptables: { backend: 'nft' } }),
        reached('i-02', { iptables: { backend: 'nft' } }),
      ],
    });

    // Act
    const outcome = fired(evaluate(iptMixedBackend, evidence));

    // Assert
    expect(outcome.evidence.nodes).toEqual(['i-03']);
    expect(outcome.evidence.values).toEqual({
      mixedNodes: 1,
      nodesWithBackend: 3,
      backends: 'mixed 1, nft 2',
      maxLegacyRules: 40,
      maxNftRules: 9000,
    });
    expect(outcome.remediation.configurationValues).toBeNull();
  });
});
