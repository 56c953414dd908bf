import { describe, expect, it } from 'vitest';
import type { Detection } from '#audit/assess.js';
import { allSourcesFailed, type SourceStates } from '#audit/evidence-sources.js';
import { alertable, applyLifecycle, type CurrentAudit } from '#audit/lifecycle.js';
import type { Finding, RuleId, Severity } from '#audit/model.js';
import type { Suppression } from '#audit/suppressions.js';

const cluster = { account: '111111111111', region: 'eu-west-1', name: 'payments' };
const NOW = '2026-11-30T02:00:00.000Z';

function detection(ruleId: RuleId, severity: Severity, nodes: string[] = ['i-1']): Detection {
  return {
    ruleId,
    severity,
    title: ruleId,
    evidence: { summary: `${ruleId} fired`, values: {}, nodes, moreNodes: 0 },
    remediation: { summary: 'fix it', configurationValues: null, command: null, links: [] },
    fingerprint: `111111111111/eu-west-1/payments/${ruleId}`,
  };
}
const finding = (d: Detection, state: Finding['state']): Finding => ({ ...d, state });

const PRESENT = { state: 'PRESENT', reason: null } as const;
const ALL_PRESENT: SourceStates = { nodes: PRESENT, logs: PRESENT, addons: PRESENT, history: PRESENT };

function audit(detections: Detection[], extra: Partial<CurrentAudit> = {}): CurrentAudit {
  return {
    cluster,
    status: 'COMPLETE',
    detections,
    notEvaluated: [],
    sources: ALL_PRESENT,
    auditError: null,
    ...extra,
  };
}

describe('applyLifecycle', () => {
  it('marks everything NEW on a cluster with no earlier run', () => {
    const states = applyLifecycle(audit([detection('KP-IPTABLES-SCALE', 'HIGH')]), null, [], NOW).map((f) => f.state);
    expect(states).toEqual(['NEW']);
  });

  it('tells ONGOING from WORSENED by severity, and a lower severity stays ONGOING', () => {
    const previous = [
      finding(detection('KP-IPTABLES-SCALE', 'MEDIUM'), 'NEW'),
      finding(detection('CNI-RESTARTS', 'HIGH'), 'ONGOING'),
      finding(detection('XT-LOCK-CONTENTION', 'MEDIUM'), 'UNKNOWN'),
    ];
    const current = audit([
      detection('KP-IPTABLES-SCALE', 'HIGH'),
      detection('CNI-RESTARTS', 'MEDIUM'),
      detection('XT-LOCK-CONTENTION', 'MEDIUM'),
    ]);

    const out = applyLifecycle(current, previous, [], NOW);

    expect(out.map((f) => [f.ruleId, f.state, f.severity])).toEqual([
      ['KP-IPTABLES-SCALE', 'WORSENED', 'HIGH'],
      ['CNI-RESTARTS', 'ONGOING', 'MEDIUM'],
      ['XT-LOCK-CONTENTION', 'ONGOING', 'MEDIUM'],
    ]);
  });

  it('resolves a finding only when the run could have seen it', () => {
    const previous = [finding(detection('CNI-RESTARTS', 'HIGH', ['i-1']), 'ONGOING')];
    expect(applyLifecycle(audit([]), previous, [], NOW)[0]?.state).toBe('RESOLVED');
    expect(
      applyLifecycle(audit([], { status: 'FAILED', sources: allSourcesFailed('AccessDenied') }), previous, [], NOW)[0]
        ?.state,
    ).toBe('UNKNOWN');
    expect(
      applyLifecycle(audit([], { notEvaluated: [{ ruleId: 'CNI-RESTARTS', reason: 'no data' }] }), previous, [], NOW)[0]
        ?.stateReason,
    ).toBe('the rule was not evaluated: no data');
  });

  it('resolves a lock finding once every node runs iptables-nft, which has no lock, and says why', () => {
    const previous = [finding(detection('XT-LOCK-CONTENTION', 'HIGH'), 'ONGOING')];
    const nft = { ruleId: 'XT-LOCK-CONTENTION' as const, reason: 'iptables-nft does not use the xtables lock' };
    const [resolved] = applyLifecycle(audit([], { notEvaluated: [nft] }), previous, [], NOW);
    expect(resolved).toMatchObject({
      state: 'RESOLVED',
      stateReason: 'no longer applies: iptables-nft does not use the xtables lock',
    });
    // the same rule not evaluated for want of evidence stays UNKNOWN
    const missing = { ruleId: 'XT-LOCK-CONTENTION' as const, reason: 'no iptables-legacy node counted lock waiters' };
    expect(applyLifecycle(audit([], { notEvaluated: [missing] }), previous, [], NOW)[0]?.state).toBe('UNKNOWN');
    // and the node reports it would read must still be there
    const partial = { ...ALL_PRESENT, nodes: { state: 'PARTIAL', reason: '2 of 5 nodes read' } } as const;
    expect(applyLifecycle(audit([], { notEvaluated: [nft], sources: partial }), previous, [], NOW)[0]?.state).toBe(
      'UNKNOWN',
    );
  });

  it('keeps a finding UNKNOWN, with the reason, when a source its rule reads failed, even on a COMPLETE cluster', () => {
    const previous = [
      finding(detection('XT-LOCK-CONTENTION', 'HIGH'), 'NEW'),
      finding(detection('CNI-RESTARTS', 'MEDIUM'), 'NEW'),
      finding(detection('KP-IPTABLES-SCALE', 'HIGH'), 'NEW'),
    ];
    const logsFailed: SourceStates = {
      ...ALL_PRESENT,
      logs: { state: 'FAILED', reason: 'log query on /aws/eks/payments/cluster ended Failed' },
    };

    const out = applyLifecycle(audit([], { sources: logsFailed }), previous, [], NOW);

    expect(out.map((f) => [f.ruleId, f.state, f.stateReason])).toEqual([
      [
        'XT-LOCK-CONTENTION',
        'UNKNOWN',
        'the CloudWatch log query failed: log query on /aws/eks/payments/cluster ended Failed',
      ],
      [
        'CNI-RESTARTS',
        'UNKNOWN',
        'the CloudWatch log query failed: log query on /aws/eks/payments/cluster ended Failed',
      ],
      // KP-IPTABLES-SCALE reads node reports only: the failed log query cannot hide it.
      ['KP-IPTABLES-SCALE', 'RESOLVED', undefined],
    ]);
    expect(out[0]?.sources).toEqual(['nodes', 'logs']);
  });

  it('keeps a finding UNKNOWN when its node reports were partial, and resolves it once they are all read', () => {
    const previous = [finding(detection('IPT-MIXED-BACKEND', 'HIGH'), 'NEW')];
    const partial: SourceStates = { ...ALL_PRESENT, nodes: { state: 'PARTIAL', reason: '1 of 3 nodes not read' } };

    expect(applyLifecycle(audit([], { status: 'PARTIAL', sources: partial }), previous, [], NOW)[0]).toMatchObject({
      state: 'UNKNOWN',
      stateReason: 'node reports partial: 1 of 3 nodes not read',
    });
    expect(applyLifecycle(audit([]), previous, [], NOW)[0]?.state).toBe('RESOLVED');
  });

  it('keeps an UNKNOWN finding UNKNOWN with its last evidence until it can be judged, and drops RESOLVED ones', () => {
    const unknown = finding(detection('CNI-RESTARTS', 'HIGH'), 'UNKNOWN');
    const resolved = finding(detection('IPT-MIXED-BACKEND', 'HIGH'), 'RESOLVED');
    const out = applyLifecycle(
      audit([], {
        status: 'FAILED',
        sources: allSourcesFailed('timeout'),
        auditError: 'could not list clusters: timeout',
      }),
      [unknown, resolved],
      [],
      NOW,
    );
    expect(out).toEqual([
      {
        ...unknown,
        sources: ['nodes', 'logs'],
        stateReason: 'the cluster was not audited: could not list clusters: timeout',
      },
    ]);
  });

  it('suppresses a fired finding while the suppression lasts', () => {
    const suppression: Suppression = {
      ...cluster,
      cluster: '*',
      ruleId: 'KP-IPTABLES-SCALE',
      reason: 'migration planned',
      owner: 'platform',
      expiresAt: '2026-12-31T00:00:00Z',
    };
    const current = audit([detection('KP-IPTABLES-SCALE', 'HIGH')]);
    expect(applyLifecycle(current, null, [suppression], NOW)[0]?.state).toBe('SUPPRESSED');
    expect(applyLifecycle(current, null, [{ ...suppression, expiresAt: '2026-11-01T00:00:00Z' }], NOW)[0]?.state).toBe(
      'NEW',
    );
  });

  it('tells a finding SUPPRESSED before as NEW once its suppression ended or was removed, with the reason', () => {
    const scale = detection('KP-IPTABLES-SCALE', 'HIGH');
    const ended: Suppression = {
      ...cluster,
      cluster: '*',
      ruleId: 'KP-IPTABLES-SCALE',
      reason: 'migration planned',
      owner: 'platform',
      expiresAt: '2026-11-29T00:00:00Z',
    };
    const before = [finding(scale, 'SUPPRESSED')];
    expect(applyLifecycle(audit([scale]), before, [ended], NOW)[0]).toMatchObject({
      state: 'NEW',
      stateReason: 'its suppression ended: 2026-11-29 (platform: migration planned)',
    });
    expect(applyLifecycle(audit([scale]), before, [], NOW)[0]).toMatchObject({
      state: 'NEW',
      stateReason: 'no longer suppressed',
    });
    expect(alertable(applyLifecycle(audit([scale]), before, [], NOW), 'MEDIUM')).toHaveLength(1);
    // still suppressed: stays SUPPRESSED; open before and not suppressed: ONGOING as ever
    expect(
      applyLifecycle(audit([scale]), before, [{ ...ended, expiresAt: '2026-12-31T00:00:00Z' }], NOW)[0]?.state,
    ).toBe('SUPPRESSED');
    expect(applyLifecycle(audit([scale]), [finding(scale, 'NEW')], [ended], NOW)[0]?.state).toBe('ONGOING');
  });
});

describe('alertable', () => {
  it('alerts NEW and WORSENED at or above the minimum severity and every RESOLVED', () => {
    const findings = [
      finding(detection('KP-IPTABLES-SCALE', 'HIGH'), 'NEW'),
      finding(detection('CNI-RESTARTS', 'LOW'), 'NEW'),
      finding(detection('XT-LOCK-CONTENTION', 'MEDIUM'), 'WORSENED'),
      finding(detection('IPT-SLOW-SYNC', 'HIGH'), 'ONGOING'),
      finding(detection('IPT-MIXED-BACKEND', 'HIGH'), 'RESOLVED'),
      finding(detection('AUDIT-COVERAGE', 'LOW'), 'RESOLVED'),
      finding(detection('KP-SYNC-FAILING', 'CRITICAL'), 'SUPPRESSED'),
      finding(detection('SCALE-GROWTH', 'MEDIUM'), 'UNKNOWN'),
    ];
    expect(alertable(findings, 'MEDIUM').map((f) => f.ruleId)).toEqual([
      'KP-IPTABLES-SCALE',
      'XT-LOCK-CONTENTION',
      'IPT-MIXED-BACKEND',
      'AUDIT-COVERAGE',
    ]);
  });
});
