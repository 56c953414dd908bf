import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertPublisher, createOrganizationReader, createTargetClientsFactory } from '#aws/clients.js';
import { AuditStore } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import { loadScenario, type Scenario, ScenarioSchema } from '#sim/scenario.js';
import { type Simulator, startSimulator } from '#sim/server.js';
import { runAudit } from '#workflow/audit-run.js';
import { AuditSettingsSchema } from '#workflow/settings.js';

/**
 * Auditing an organization instead of a list of accounts, against the real product: the Organizations and STS
 * calls go through the real SDK to the simulator, the store is dynalite. The organization (management account
 * 999999999999, not audited itself) holds the default scenario's two accounts in nested OUs, an account without
 * the audit role, a suspended account and an excluded one.
 */

const MANAGEMENT = '999999999999';
const READER = `arn:aws:iam::${MANAGEMENT}:role/FleetAuditOrganizationReader`;
const WORKLOADS = 'ou-ab12-workload';
const NESTED = 'ou-ab12-nested01';

function organizationScenario(): Scenario {
  const scenario = structuredClone(loadScenario('default'));
  return ScenarioSchema.parse({
    ...scenario,
    timeScale: 0.005,
    faults: [],
    clock: { at: '2026-11-01T02:00:00Z' },
    // ListAccounts and ListAccountsForParent answer 2 a page, after an empty first page with a NextToken
    maxPageSize: {
      'organizations:ListAccounts': 2,
      'organizations:ListAccountsForParent': 1,
      'organizations:ListOrganizationalUnitsForParent': 1,
    },
    organization: {
      id: 'o-a1b2c3d4e5',
      managementAccount: MANAGEMENT,
      delegatedAdministrators: ['222222222222'],
      rootId: 'r-ab12',
      emptyFirstPages: true,
      units: [
        { id: WORKLOADS, name: 'Workloads', parent: 'r-ab12' },
        { id: NESTED, name: 'Payments', parent: WORKLOADS },
        { id: 'ou-ab12-sandbox1', name: 'Sandbox', parent: 'r-ab12' },
      ],
      members: [
        { id: MANAGEMENT, name: 'management', parent: 'r-ab12' },
        { id: '111111111111', name: 'payments-prod', parent: NESTED },
        { id: '222222222222', name: 'platform', parent: WORKLOADS },
        { id: '333333333333', name: 'no-audit-role', parent: WORKLOADS },
        { id: '444444444444', name: 'suspended', parent: WORKLOADS, state: 'SUSPENDED' },
        { id: '555555555555', name: 'sandbox', parent: 'ou-ab12-sandbox1' },
      ],
    },
  });
}

describe('an organization as the audit targets', () => {
  let dynamo: LocalDynamo;

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  /** What the hub's functions build: clients that assume each account's audit role, the reader, a fresh table. */
  async function hubDeps(sim: Simulator, tableName: string) {
    const store = new AuditStore({ tableName }, dynamo.client);
    await store.ensureTable();
    return {
      clientsFor: createTargetClientsFactory({
        endpoint: sim.endpoint,
        roleName: 'FleetAuditReadOnly',
        hubAccount: '111111111111',
      }),
      organization: createOrganizationReader({
        readerRoleArn: READER,
        endpoint: sim.endpoint,
        hubAccount: '111111111111',
      }),
      store,
    };
  }

  it('lists every account with its state, and an OU with the OUs nested in it, through pages that start empty', async () => {
    // Arrange
    const sim = await startSimulator(organizationScenario());
    try {
      const reader = createOrganizationReader({
        readerRoleArn: READER,
        endpoint: sim.endpoint,
        hubAccount: '111111111111',
      });

      // Act
      const all = await reader.listAccounts();
      const workloads = await reader.listAccounts([WORKLOADS]);

      // Assert
      expect(all.map((a) => `${a.id} ${a.state}`)).toEqual([
        `${MANAGEMENT} ACTIVE`,
        '111111111111 ACTIVE',
        '222222222222 ACTIVE',
        '333333333333 ACTIVE',
        '444444444444 SUSPENDED',
        '555555555555 ACTIVE',
      ]);
      expect(workloads.map((a) => a.id).sort()).toEqual([
        '111111111111',
        '222222222222',
        '333333333333',
        '444444444444',
      ]);
      // the reader role was assumed in the management account, and the lists were called from there
      const orgCalls = sim.calls.filter((c) => c.service === 'organizations');
      expect(new Set(orgCalls.map((c) => c.account))).toEqual(new Set([MANAGEMENT]));
      expect(orgCalls.filter((c) => c.action === 'ListAccountsForParent').map((c) => c.input.ParentId)).toContain(
        NESTED,
      );
    } finally {
      await sim.close();
    }
  });

  it('rides out Organizations throttling with the SDK’s retries (TooManyRequestsException)', async () => {
    // Arrange: the first two ListAccountsForParent calls throttled
    const sim = await startSimulator({
      ...organizationScenario(),
      faults: [{ api: 'organizations:ListAccountsForParent', throttleFirst: 2 }],
    });
    try {
      const reader = createOrganizationReader({
        readerRoleArn: READER,
        endpoint: sim.endpoint,
        hubAccount: '111111111111',
      });

      // Act
      const accounts = await reader.listAccounts([NESTED]);

      // Assert
      expect(accounts.map((a) => a.id)).toEqual(['111111111111']);
      expect(sim.calls.filter((c) => c.fault === 'throttle').map((c) => c.action)).toEqual([
        'ListAccountsForParent',
        'ListAccountsForParent',
      ]);
    } finally {
      await sim.close();
    }
  });

  it('denies the Organizations API to a member that is no delegated administrator, in one line', async () => {
    const sim = await startSimulator(organizationScenario());
    try {
      const reader = createOrganizationReader({
        readerRoleArn: 'arn:aws:iam::111111111111:role/FleetAuditReadOnly',
        endpoint: sim.endpoint,
        hubAccount: '111111111111',
      });
      await expect(reader.listAccounts()).rejects.toThrow(
        'organizations:ListAccounts the organization failed: AccessDeniedException: You don’t have permissions to access this resource.',
      );
    } finally {
      await sim.close();
    }
  });

  it('audits the ACTIVE accounts of the OU in the configured region; the one without the audit role is one AUDIT-FAILED target with the reason', async () => {
    // Arrange
    const sim = await startSimulator(organizationScenario());
    try {
      const deps = {
        ...(await hubDeps(sim, 'organization')),
        publisher: createAlertPublisher({
          region: 'eu-west-1',
          topicArn: sim.topicArns[0] ?? '',
          endpoint: sim.endpoint,
        }),
        settings: AuditSettingsSchema.parse({
          organization: {
            readerRoleArn: READER,
            regions: ['eu-west-1'],
            organizationalUnits: [WORKLOADS],
            excludeAccounts: ['222222222222'],
          },
          pollIntervalSeconds: 0.05,
          clusterDeadlineSeconds: 5,
        }),
        now: sim.auditorNow,
      };

      // Act
      const { result } = await runAudit(deps, { runId: 'org-1' });

      // Assert: 111111111111's eu-west-1 clusters audited, 222222222222 excluded, 444444444444 suspended (not asked)
      const byTarget = result.clusters.map((c) => `${c.account}/${c.region}/${c.name} ${c.status}`).sort();
      expect(byTarget).toEqual([
        '111111111111/eu-west-1/catalog-prod COMPLETE',
        '111111111111/eu-west-1/checkout-prod PARTIAL',
        '333333333333/eu-west-1/* FAILED',
      ]);
      const failed = result.clusters.find((c) => c.account === '333333333333');
      expect(failed?.findings.map((f) => f.ruleId)).toEqual(['AUDIT-FAILED']);
      expect(failed?.findings[0]?.evidence.summary).toMatch(
        /^could not assume the audit role in account 333333333333 \(is its member stack or StackSet instance deployed\?\): AwsCallError: eks:ListClusters all clusters failed: AccessDenied: .* is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::333333333333:role\/FleetAuditReadOnly$/,
      );
      const assumed = sim.calls.filter((c) => c.service === 'sts').map((c) => `${c.input.RoleArn} ${c.status}`);
      expect(new Set(assumed)).toEqual(
        new Set([
          `${READER} 200`,
          'arn:aws:iam::111111111111:role/FleetAuditReadOnly 200',
          'arn:aws:iam::333333333333:role/FleetAuditReadOnly 403',
        ]),
      );
    } finally {
      await sim.close();
    }
  });

  it('fails the run in one line when the organization cannot be listed, rather than audit an unknown set of accounts', async () => {
    // Arrange: the reader role does not exist in the management account
    const scenario = organizationScenario();
    if (!scenario.organization) throw new Error('the scenario lost its organization');
    const sim = await startSimulator({ ...scenario, organization: { ...scenario.organization, managementRoles: [] } });
    try {
      const deps = {
        ...(await hubDeps(sim, 'organization-unlisted')),
        publisher: null,
        settings: AuditSettingsSchema.parse({ organization: { readerRoleArn: READER, regions: ['eu-west-1'] } }),
        now: sim.auditorNow,
      };

      // Act / Assert
      await expect(runAudit(deps, { runId: 'org-unlisted' })).rejects.toThrow(
        /^organizations:ListAccounts the organization failed: AccessDenied: .* sts:AssumeRole on resource: arn:aws:iam::999999999999:role\/FleetAuditOrganizationReader$/,
      );
      expect(sim.calls.filter((c) => c.service === 'eks')).toEqual([]);
    } finally {
      await sim.close();
    }
  });

  it('keeps the clusters of an account whose audit role is gone the next night: FAILED, their findings UNKNOWN, none RESOLVED', async () => {
    // Arrange: night 1 audits 111111111111; on night 2 its audit role has been deleted
    const settings = AuditSettingsSchema.parse({
      organization: { readerRoleArn: READER, regions: ['eu-west-1'], organizationalUnits: [NESTED] },
      pollIntervalSeconds: 0.05,
      clusterDeadlineSeconds: 5,
    });
    const night = async (scenario: Scenario, runId: string) => {
      const sim = await startSimulator(scenario);
      try {
        return (
          await runAudit(
            { ...(await hubDeps(sim, 'organization-nights')), publisher: null, settings, now: sim.auditorNow },
            { runId },
          )
        ).result;
      } finally {
        await sim.close();
      }
    };
    const first = organizationScenario();
    const second = ScenarioSchema.parse({
      ...first,
      clock: { at: '2026-11-02T02:00:00Z' },
      accounts: first.accounts.map((a) => (a.id === '111111111111' ? { ...a, roles: [] } : a)),
    });

    // Act
    const day1 = await night(first, 'org-night-1');
    const day2 = await night(second, 'org-night-2');

    // Assert
    const opened = day1.clusters.find((c) => c.name === 'checkout-prod')?.findings ?? [];
    expect(opened.length).toBeGreaterThan(0);
    expect(day2.clusters.map((c) => `${c.account}/${c.name} ${c.status}`).sort()).toEqual([
      '111111111111/catalog-prod FAILED',
      '111111111111/checkout-prod FAILED',
    ]);
    const checkout = day2.clusters.find((c) => c.name === 'checkout-prod');
    const earlier = checkout?.findings.filter((f) => opened.some((o) => o.fingerprint === f.fingerprint)) ?? [];
    expect(earlier.map((f) => f.state)).toEqual(opened.map(() => 'UNKNOWN'));
    expect(checkout?.findings.some((f) => f.state === 'RESOLVED')).toBe(false);
    expect(checkout?.findings.find((f) => f.ruleId === 'AUDIT-FAILED')?.evidence.summary).toMatch(
      /^could not assume the audit role in account 111111111111 .*\(clusters as last listed 2026-11-01\)$/,
    );
  });
});
