import { largeFleet } from '#bench/fleet-scenario.js';
import type { RecordedCall } from '#sim/call-log.js';
import { loadScenario, parseScenario, type Scenario } from '#sim/scenario.js';
import { type RecordedRun, recordAuditRun } from './recorded-run.js';
import { type StackTemplate, synthesizeFor, synthesizeForOrganization } from './stack-policies.js';

export interface ProofInputs {
  /** the end-to-end run of the default scenario (what `npm start` audits) */
  run: RecordedRun;
  /**
   * That run's calls, and those of a second run of the same fleet in which EKS fails every DescribeCluster in
   * us-east-1, so that a cluster always fails and the recordFailure function always runs, and in which every log
   * query outlasts its cluster's deadline, so that the assess function stops it (logs:StopQuery), and EKS fails every
   * ListClusters of 222222222222 in eu-west-1, so that the plan function reads that target's stored cluster list
   * (dynamodb:GetItem); a run in which other teams hold the Logs Insights quota of one region (the queries put
   * off and retried by the polls); and a run of the
   * fleet benchmark's fleet (`npm run bench:fleet`, here 18 clusters of about 60 nodes: several ListClusters and
   * DescribeInstances pages, SendCommand batches of 50 and more than one per cluster).
   */
  calls: RecordedCall[];
  /** the app synthesized for the run's accounts and regions, hub where the alerts topic is, with the Slack notifier */
  templates: StackTemplate[];
  /** the organization-shaped run ({@link organizationRun}) and its app: its calls are proven against its own stacks */
  organization: OrganizationProof;
}

export interface OrganizationProof {
  run: RecordedRun;
  organization: { id: string; managementAccount: string };
  templates: StackTemplate[];
}

/** The organization of the proof's organization-shaped run (the default scenario's accounts in nested OUs). */
export const PROOF_ORGANIZATION = {
  id: 'o-a1b2c3d4e5',
  managementAccount: '999999999999',
  regions: ['eu-west-1', 'us-east-1'],
  organizationalUnits: ['ou-ab12-workload'],
} as const;

/**
 * The default fleet audited as an organization: its two accounts in an OU and an OU nested in it, next to an
 * account without the audit role (AUDIT-FAILED) and a suspended one; the plan function lists them through the reader
 * role in the management account (ListAccountsForParent, ListOrganizationalUnitsForParent), and every function
 * assumes the audit roles itself through the simulator's STS.
 */
async function organizationRun(scenario: Scenario): Promise<OrganizationProof> {
  const { id, managementAccount, regions, organizationalUnits } = PROOF_ORGANIZATION;
  const [workloads = ''] = organizationalUnits;
  const run = await recordAuditRun(
    parseScenario(
      {
        ...scenario,
        organization: {
          id,
          managementAccount,
          rootId: 'r-ab12',
          units: [
            { id: workloads, name: 'Workloads', parent: 'r-ab12' },
            { id: 'ou-ab12-nested01', name: 'Payments', parent: workloads },
          ],
          members: [
            { id: managementAccount, name: 'management', parent: 'r-ab12' },
            { id: '111111111111', name: 'shop', parent: 'ou-ab12-nested01' },
            { id: '222222222222', name: 'platform', parent: workloads },
            { id: '333333333333', name: 'no-audit-role', parent: workloads },
            { id: '444444444444', name: 'suspended', parent: workloads, state: 'SUSPENDED' },
          ],
        },
      },
      'default scenario as an organization',
    ),
    {
      organization: {
        readerRoleArn: `arn:aws:iam::${managementAccount}:role/FleetAuditOrganizationReader`,
        regions: [...regions],
        organizationalUnits: [...organizationalUnits],
      },
    },
  );
  const members = [...new Set(run.targets.map((t) => t.account))];
  const templates = synthesizeForOrganization(
    { id, managementAccount, regions: [...regions], organizationalUnits: [...organizationalUnits] },
    run.hub,
    members,
  );
  return { run, organization: { id, managementAccount }, templates };
}

/** The Slack webhook secret the proof's stack is configured with (slackWebhookSecretName). */
export const PROOF_SLACK_SECRET = 'fleet-audit/slack-webhook';

/** The scenario with the Slack webhook secret in the hub's account and region (where the alerts topic is). */
function withSlackSecret(scenario: Scenario): Scenario {
  return {
    ...scenario,
    accounts: scenario.accounts.map((account) => ({
      ...account,
      regions: account.regions.map((region) =>
        region.topics.length > 0
          ? {
              ...region,
              secrets: { ...region.secrets, [PROOF_SLACK_SECRET]: 'https://hooks.slack.com/services/T0/B0/x' },
            }
          : region,
      ),
    })),
  };
}

/** What the IAM proof and the generated permissions section of docs/operations.md are made from. */
export async function proofInputs(): Promise<ProofInputs> {
  const scenario = withSlackSecret(loadScenario('default'));
  // the Slack notifier and the nightly Security Hub import on, so that their calls are proven too
  const slack = { slackSecretName: PROOF_SLACK_SECRET, securityHubImport: true };
  const run = await recordAuditRun(scenario, slack);
  const failing = await recordAuditRun(
    parseScenario(
      {
        ...scenario,
        // a simulated hour: past the recorded run's cluster deadline (600 simulated seconds)
        timing: { ...scenario.timing, queryMs: 3_600_000 },
        faults: [
          ...scenario.faults,
          { api: 'eks:DescribeCluster', account: '111111111111', region: 'us-east-1', serverError: 1 },
          // a target that cannot be listed: the plan function reads its last stored cluster list (GetItem)
          { api: 'eks:ListClusters', account: '222222222222', region: 'eu-west-1', serverError: 1 },
          // the first Publish fails past the SDK's six attempts: the retried report step (reportRetried) reads the
          // digest record it left (GetItem) and sends it
          { api: 'sns:Publish', serverErrorFirst: 6 },
        ],
      },
      'default scenario with a failing cluster',
    ),
    { ...slack, reportRetried: true },
  );
  const fleet = await recordAuditRun(largeFleet(scenario, 18, 60));
  // A region whose Logs Insights quota other teams hold: Discover puts the queries off, each poll tries again
  // (taking a slot of the budget, looking for a query started late, freeing the slot when StartQuery is refused),
  // and Assess finds none started.
  const busy = await recordAuditRun(
    parseScenario(
      {
        ...scenario,
        accounts: scenario.accounts.map((a) => ({
          ...a,
          regions: a.regions.map((r) =>
            a.id === '111111111111' && r.name === 'us-east-1' ? { ...r, insightsQueriesInUse: 100 } : r,
          ),
        })),
      },
      'default scenario with a busy Logs Insights quota',
    ),
  );
  return {
    run,
    calls: [...run.calls, ...failing.calls, ...fleet.calls, ...busy.calls],
    templates: synthesizeFor(run.targets, run.hub, {
      slackWebhookSecretName: PROOF_SLACK_SECRET,
      securityHubImport: true,
    }),
    organization: await organizationRun(loadScenario('default')),
  };
}

/** Placeholders for the run's account ids, regions, table and topic in the generated documentation. */
export function documentationNames(inputs: ProofInputs): Record<string, string> {
  const names: Record<string, string> = {
    [inputs.run.topicArn]: '<alerts topic>',
    [`table/${inputs.run.tableName}`]: 'table/<findings table>',
    [inputs.run.hub.account]: '<hub account>',
  };
  for (const target of inputs.run.targets) {
    if (!(target.account in names)) names[target.account] = '<audited account>';
    names[target.region] = '<region>';
  }
  return names;
}
