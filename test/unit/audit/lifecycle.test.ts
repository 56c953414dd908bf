import { describe, expect, it } from 'vitest';
import type { Detection } from '#audit/assess.js';
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

function audit(detections: Detection[], extra: Partial<CurrentAudit> = {}): CurrentAudit {
  return { cluster, status: 'COMPLETE', detections, notEvaluated: [], uncoveredNodes: [], ...extra };
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
    expect(applyLifecycle(audit([], { status: 'FAILED' }), previous, [], NOW)[0]?.state).toBe('UNKNOWN');
    expect(
      applyLifecycle(audit([], { notEvaluated: [{ ruleId: 'CNI-RESTARTS', reason: 'no data' }] }), previous, [], NOW)[0]
        ?.state,
    ).toBe('UNKNOWN');
    expect(applyLifecycle(audit([], { status: 'PARTIAL', uncoveredNodes: ['i-1'] }), previous, [], NOW)[0]?.state).toBe(
      'UNKNOWN',
    );
    expect(applyLifecycle(audit([], { status: 'PARTIAL', uncoveredNodes: ['i-9'] }), previous, [], NOW)[0]?.state).toBe(
      'RESOLVED',
    );
  });

  it('keeps an UNKNOWN finding UNKNOWN with its last evidence until it can be judged, and drops RESOLVED ones', () => {
    const unknown = finding(detection('CNI-RESTARTS', 'HIGH'), 'UNKNOWN');
    const resolved = finding(detection('IPT-MIXED-BACKEND', 'HIGH'), 'RESOLVED');
    const out = applyLifecycle(audit([], { status: 'FAILED' }), [unknown, resolved], [], NOW);
    expect(out).toEqual([unknown]);
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
