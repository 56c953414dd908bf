import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { auditCoverage, EXPECTED_ERRORS } from '#audit/rules/audit-coverage.js';
import {
  clusterEvidence,
  evaluate,
  failedNode,
  fired,
  type ReportPatch,
  reached,
  reachedNodes,
  unreachable,
  verdict,
} from '../evidence-builders.js';

/** collect.sh's lines for a missing lock file and for a node whose iptables hold no kube-proxy rules. */
const NO_LOCK_FILE = 'lock: no lock file at /run/xtables.lock';
const NO_BACKEND = 'iptables: no backend holds kube-proxy rules';

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
    // Arrange: collect.sh's own lines; HEALTHY is an iptables-legacy node, where no lock file is a real gap
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', { errors: [NO_LOCK_FILE] }),
        reached('i-02', {
          errors: [
            NO_LOCK_FILE,
            'kube-proxy: /metrics not reachable',
            'restarts: no aws-node pod logs under /var/log/pods',
            'awsNode: ipamd environment not readable',
          ],
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
    expect(outcome.evidence.values.errors).toBe(
      'lock: no lock file at /run/xtables.lock (2); awsNode: ipamd environment not readable (1); ' +
        'kube-proxy: /metrics not reachable (1); 1 more',
    );
  });

  describe('expected lines are not read errors', () => {
    const NFT_NODE = { iptables: { backend: 'nft' as const, legacyRules: null, nftRules: 2466 } };
    const NFTABLES_MODE_NODE = {
      iptables: { backend: 'none' as const, rules: null, chains: null, kubeServiceChains: null, saveMs: null },
      kubeProxy: { mode: 'nftables' as const },
    };

    it.each<[string, ReportPatch]>([
      ['no lock file, backend nft (AL2023)', { ...NFT_NODE, errors: [NO_LOCK_FILE] }],
      ['no lock file at a moved path, backend nft', { ...NFT_NODE, errors: ['lock: no lock file at /var/run/x.lock'] }],
      [
        'no lock file and no kube-proxy rules, kube-proxy in nftables mode',
        { ...NFTABLES_MODE_NODE, errors: [NO_LOCK_FILE, NO_BACKEND] },
      ],
      [
        'no lock file, backend none',
        { iptables: { backend: 'none' }, kubeProxy: { mode: 'ipvs' }, errors: [NO_LOCK_FILE] },
      ],
    ])('%s: passes with only those lines, and with a real error beside them names only that', (_case, patch) => {
      // Arrange
      const real = 'kube-proxy: /metrics timed out';
      const benignOnly = clusterEvidence({ nodes: [reached('i-01', patch), reached('i-02')] });
      const withReal = clusterEvidence({
        nodes: [reached('i-01', { ...patch, errors: [...(patch.errors ?? []), real] }), reached('i-02')],
      });

      // Act
      const quiet = evaluate(auditCoverage, benignOnly);
      const outcome = fired(evaluate(auditCoverage, withReal));

      // Assert
      expect(verdict(quiet)).toBe('passed');
      expect(outcome.severity).toBe('INFO');
      expect(outcome.evidence.nodes).toEqual(['i-01']);
      expect(outcome.evidence.values.errors).toBe(`${real} (1)`);
      expect(outcome.evidence.summary).toBe(`1 of 2 reports list read errors: ${real} (1).`);
    });

    it.each<[string, ReportPatch, string]>([
      ['no lock file, backend legacy', { errors: [NO_LOCK_FILE] }, NO_LOCK_FILE],
      ['no lock file, backend mixed', { iptables: { backend: 'mixed' }, errors: [NO_LOCK_FILE] }, NO_LOCK_FILE],
      ['no lock file, backend unknown', { iptables: null, errors: [NO_LOCK_FILE] }, NO_LOCK_FILE],
      [
        'no kube-proxy rules, kube-proxy mode unknown',
        { iptables: { backend: 'none' }, kubeProxy: { mode: null }, errors: [NO_BACKEND] },
        NO_BACKEND,
      ],
      [
        'no kube-proxy rules, kube-proxy in iptables mode',
        { iptables: { backend: 'none' }, errors: [NO_BACKEND] },
        NO_BACKEND,
      ],
      [
        'lock file not stat-able, backend nft',
        { ...NFT_NODE, errors: ['lock: cannot stat /run/xtables.lock'] },
        'lock: cannot stat /run/xtables.lock',
      ],
    ])('%s: is INFO, the same line meaning a gap there', (_case, patch, line) => {
      const outcome = fired(evaluate(auditCoverage, clusterEvidence({ nodes: [reached('i-01', patch)] })));
      expect(outcome.severity).toBe('INFO');
      expect(outcome.evidence.values.errors).toBe(`${line} (1)`);
    });

    it('names only the real errors and the nodes that have them', () => {
      // Arrange: two nft nodes without a lock file, one of which could not reach kube-proxy's metrics
      const evidence = clusterEvidence({
        nodes: [
          reached('i-01', { ...NFT_NODE, errors: [NO_LOCK_FILE] }),
          reached('i-02', { ...NFT_NODE, errors: [NO_LOCK_FILE, 'kube-proxy: /proxyMode timed out'] }),
          reached('i-03', {
            ...NFTABLES_MODE_NODE,
            errors: [NO_BACKEND, 'logs: no ipamd.log under /var/log/aws-routed-eni'],
          }),
        ],
      });

      // Act
      const outcome = fired(evaluate(auditCoverage, evidence));

      // Assert
      expect(outcome.severity).toBe('INFO');
      expect(outcome.evidence.nodes).toEqual(['i-02', 'i-03']);
      expect(outcome.evidence.values).toMatchObject({
        partialNodes: 2,
        errors: 'kube-proxy: /proxyMode timed out (1); logs: no ipamd.log under /var/log/aws-routed-eni (1)',
      });
      expect(outcome.evidence.summary).not.toContain('lock');
    });

    it('lists only what collect.sh can print, each with its reason', () => {
      // every `err '…'` / `err "…"` line of the collector, its ${…} expansions as a placeholder
      const script = readFileSync(new URL('../../../../collector/collect.sh', import.meta.url), 'utf8');
      const lines = [...script.matchAll(/\berr (['"])(.+?)\1/g)].map((m) =>
        (m[2] ?? '').replace(/\$\{[^}]*\}|\$\w+/g, 'X'),
      );
      expect(lines.length).toBeGreaterThan(20);
      for (const expected of EXPECTED_ERRORS) {
        expect(
          lines.some((line) => expected.pattern.test(line)),
          String(expected.pattern),
        ).toBe(true);
        expect(expected.why.length).toBeGreaterThan(20);
      }
    });
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
