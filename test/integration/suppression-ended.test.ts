import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detection } from '#audit/assess.js';
import type { AlertMessage } from '#audit/render/digest.js';
import type { Suppression } from '#audit/suppressions.js';
import { AuditStore, type ClusterSnapshot } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import { report } from '#workflow/report.js';
import { AuditSettingsSchema } from '#workflow/settings.js';
import type { StepDeps } from '#workflow/steps.js';

/**
 * An ended suppression through the real report step and store (dynalite): its finding is alerted again, and the
 * end is told once, in the next digest that is delivered, whatever else happens to that digest.
 */
const cluster = { account: '111111111111', region: 'eu-west-1', name: 'payments' };

const scale: Detection = {
  ruleId: 'KP-IPTABLES-SCALE',
  severity: 'HIGH',
  title: 'kube-proxy iptables rule scale',
  evidence: { summary: '9000 Services', values: {}, nodes: ['i-1'], moreNodes: 0 },
  remediation: { summary: 'move kube-proxy to nftables mode', configurationValues: null, command: null, links: [] },
  fingerprint: '111111111111/eu-west-1/payments/KP-IPTABLES-SCALE',
};

const suppression = (extra: Partial<Suppression> = {}): Suppression => ({
  ...cluster,
  cluster: 'payments',
  ruleId: 'KP-IPTABLES-SCALE',
  reason: 'nftables migration in January',
  owner: 'platform-team@example.com',
  expiresAt: '2026-11-12T00:00:00.000Z',
  ...extra,
});

describe('an ended suppression in the report step', () => {
  let dynamo: LocalDynamo;
  let store: AuditStore;
  let published: AlertMessage[];
  let refuse: boolean;
  let night = 0;

  /** Audits `payments` on day `day` of November (the detections given) and runs the report step. */
  async function nightOn(day: number, detections: Detection[]) {
    night += 1;
    const startedAt = `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`;
    const runId = `run-${night}`;
    const snapshot: ClusterSnapshot = {
      runId,
      startedAt,
      cluster,
      status: 'COMPLETE',
      score: 80,
      nodes: { expected: 1, reached: 1, unreachable: 0, failed: 0 },
      uncoveredNodes: [],
      kubernetesVersion: '1.31',
      serviceCount: 9000,
      restoreFailures: 0,
      detections,
      notEvaluated: [],
      findings: null,
      auditError: null,
    };
    await store.putSnapshot(snapshot);
    const before = published.length;
    const deps: StepDeps = {
      clientsFor: () => {
        throw new Error('the report step calls no AWS API but the store and SNS');
      },
      store,
      publisher: {
        publish: async (message) => {
          if (refuse) throw new Error('AuthorizationError: not allowed to publish');
          published.push(message);
          return `m-${published.length}`;
        },
      },
      settings: AuditSettingsSchema.parse({ targets: [{ account: cluster.account, region: cluster.region }] }),
      now: () => new Date(Date.parse(startedAt) + 600_000),
    };
    const output = await report({ runId, startedAt, clusters: [{ runId, startedAt, ...cluster }] }, deps);
    return { output, digests: published.slice(before), finding: output.result.clusters[0]?.findings[0] };
  }

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new AuditStore({ tableName: 'fleet-audit-suppressions' }, dynamo.client);
    await store.ensureTable();
    published = [];
    refuse = false;
  });
  afterAll(async () => dynamo.close());

  it('silences the finding while the suppression lasts: no digest', async () => {
    await store.putSuppression(suppression());
    const { finding, digests } = await nightOn(10, [scale]);
    expect(finding?.state).toBe('SUPPRESSED');
    expect(digests).toEqual([]);
  });

  it('alerts the finding again once the suppression ended, and tells of the end in that digest', async () => {
    const { finding, digests } = await nightOn(13, [scale]);
    expect(finding).toMatchObject({
      state: 'NEW',
      stateReason: 'its suppression ended: 2026-11-12 (platform-team@example.com: nftables migration in January)',
    });
    expect(digests).toHaveLength(1);
    const [digest] = digests;
    expect(digest?.subject).toBe('EKS fleet audit: 1 new, 1 suppression ended (1 cluster)');
    expect(digest?.text).toContain(
      'Suppression ended 2026-11-12: KP-IPTABLES-SCALE on 111111111111/eu-west-1/payments ' +
        '(owner platform-team@example.com: nftables migration in January); its findings are alerted again while ' +
        'they fire.',
    );
    expect(digest?.text).toContain('NEW HIGH KP-IPTABLES-SCALE');
    expect(JSON.stringify(digest?.chatbot)).toContain('Suppression ended 2026-11-12');
    expect(digest?.payload && 'notes' in digest.payload ? digest.payload.notes.join('\n') : '').toContain(
      'Suppression ended 2026-11-12: KP-IPTABLES-SCALE',
    );
    expect((await store.suppressions())[0]?.endNotice).toEqual({ digestId: 'run-2', sent: true });
  });

  it('tells of it once: the next night, with the finding ONGOING, publishes nothing', async () => {
    const { finding, digests } = await nightOn(14, [scale]);
    expect(finding?.state).toBe('ONGOING');
    expect(digests).toEqual([]);
  });

  it('sends a digest for an ended suppression alone, nothing else having changed', async () => {
    await store.putSuppression(
      suppression({
        cluster: '*',
        ruleId: 'CNI-RESTARTS',
        reason: 'known CNI upgrade',
        expiresAt: '2026-11-15T00:00:00Z',
      }),
    );
    const { digests } = await nightOn(16, [scale]);
    expect(digests.map((d) => d.subject)).toEqual(['EKS fleet audit: 1 suppression ended']);
    expect(digests[0]?.text).toContain(
      'Suppression ended 2026-11-15: CNI-RESTARTS on 111111111111/eu-west-1/every cluster',
    );
    expect(digests[0]?.text).not.toContain('KP-IPTABLES-SCALE on');
  });

  it('keeps the notice of a digest that could not be published for the next one', async () => {
    await store.putSuppression(
      suppression({
        cluster: '*',
        ruleId: 'XT-LOCK-CONTENTION',
        reason: 'lock probe noisy',
        expiresAt: '2026-11-17T00:00:00Z',
      }),
    );
    refuse = true;
    const refused = await nightOn(18, [scale]);
    expect(refused.output.alertProblem).toMatch(/^digest not sent: .*not allowed to publish/);
    refuse = false;
    const { digests } = await nightOn(19, [scale]);
    expect(digests).toHaveLength(1);
    expect(digests[0]?.text).toContain('Suppression ended 2026-11-17: XT-LOCK-CONTENTION');
    expect(digests[0]?.text).not.toContain('CNI-RESTARTS on');
  });

  it('tells nothing of a suppression renewed before it was told, and keeps its finding SUPPRESSED', async () => {
    await store.putSuppression(suppression({ ruleId: 'IPT-SLOW-SYNC', expiresAt: '2026-11-20T00:00:00Z' }));
    const slow = {
      ...scale,
      ruleId: 'IPT-SLOW-SYNC' as const,
      fingerprint: '111111111111/eu-west-1/payments/IPT-SLOW-SYNC',
    };
    await nightOn(19, [scale, slow]);
    // ended on the 20th, renewed on the 21st before the night's report step
    await store.putSuppression(suppression({ ruleId: 'IPT-SLOW-SYNC', expiresAt: '2027-01-31T00:00:00Z' }));
    const { output, digests } = await nightOn(21, [scale, slow]);
    expect(output.result.clusters[0]?.findings.find((f) => f.ruleId === 'IPT-SLOW-SYNC')?.state).toBe('SUPPRESSED');
    expect(digests).toEqual([]);
  });
});
