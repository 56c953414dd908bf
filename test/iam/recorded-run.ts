import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSEvent } from 'aws-lambda';
import {
  createAlertPublisher,
  createOrganizationReader,
  createRunLists,
  createTargetClientsFactory,
  simulatorCredentials,
} from '#aws/clients.js';
import { AuditStore } from '#aws/store.js';
import { createSlackNotifier } from '#handlers/slack-notify.js';
import type { RecordedCall } from '#sim/call-log.js';
import { startDynalite } from '#sim/dynalite.js';
import { LOCAL_TABLE } from '#sim/local-fleet.js';
import type { Scenario } from '#sim/scenario.js';
import { type Simulator, startSimulator } from '#sim/server.js';
import { report } from '#workflow/report.js';
import { runWorkflow } from '#workflow/runner.js';
import { AuditSettingsSchema, type OrganizationTargets } from '#workflow/settings.js';
import { assess, discover, plan, poll, recordFailure, type StepDeps } from '#workflow/steps.js';
import { LAMBDA_ENV } from '../unit/handlers/env.js';

// The plan and report handler modules build their dependencies at import (cold start) from the functions'
// environment; the proof uses the functions' run-list steps with its own clients.
Object.assign(process.env, LAMBDA_ENV, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
const { storeRunList } = await import('#handlers/plan.js');
const { runPlanOf } = await import('#handlers/report.js');

/** The run-list bucket of the recorded run (the hub stack's RunListBucket, in the hub account). */
export const RUN_LIST_BUCKET = 'fleet-audit-run-lists';

/** The hub's six step functions, by the step each runs (the names lib/fleet-auditor-stack.ts gives them). */
export const FUNCTIONS = ['plan', 'discover', 'poll', 'assess', 'recordFailure', 'report'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];
/** The Slack notifier (lib/constructs/slack-notifier.ts), subscribed to the alerts topic when Slack is set up. */
export const SLACK_NOTIFIER = 'slackNotifier';

export interface RecordedRun {
  /** the simulator's calls and dynalite's, each with the function that made it */
  calls: RecordedCall[];
  hub: { account: string; region: string };
  topicArn: string;
  tableName: string;
  bucketName: string;
  targets: Array<{ account: string; region: string }>;
}

/**
 * One whole audit of `scenario` as the deployed functions make it: each step runs with dependencies built for its
 * own function (its own clients, store and publisher, as each Lambda builds them at cold start), so every call the
 * simulator and dynalite record names the function that made it. The hub is the account and region of the
 * scenario's alerts topic.
 */
export async function recordAuditRun(
  scenario: Scenario,
  options: {
    slackSecretName?: string;
    /** the report step imports the findings into Security Hub through the audit roles (securityHubImport) */
    securityHubImport?: boolean;
    /**
     * the report step runs a second time after the first finished, as the state machine retries a Report whose
     * answer was lost (a Lambda time-out or process exit after its writes): it finds its run recorded, and reads the
     * record of a digest it could not publish (GetItem) to send it
     */
    reportRetried?: boolean;
    /**
     * Audit this organization instead of the scenario's accounts: the plan function lists them through the reader
     * role, and every function reaches the accounts by assuming their audit role through the simulator's STS.
     */
    organization?: Omit<OrganizationTargets, 'organizationalUnits' | 'excludeAccounts'> &
      Partial<Pick<OrganizationTargets, 'organizationalUnits' | 'excludeAccounts'>>;
  } = {},
): Promise<RecordedRun> {
  const sim = await startSimulator(scenario);
  const dynamo = await startDynalite({ record: true });
  try {
    const topicArn = sim.topicArns[0];
    if (!topicArn) throw new Error('the scenario has no alerts topic: it names the hub');
    const [, , , region = '', account = ''] = topicArn.split(':');
    const hub = { account, region };
    sim.buckets.create(RUN_LIST_BUCKET, account);
    const runListsOf = (caller: FunctionName) =>
      createRunLists({ ...hub, bucket: RUN_LIST_BUCKET, endpoint: sim.endpoint, caller });
    const setUp = new AuditStore({ tableName: LOCAL_TABLE }, dynamo.client);
    await setUp.ensureTable();
    // A suppression that ended yesterday: the report step gives its notice to the digest and settles it, calls the
    // proof must cover like every other.
    await setUp.putSuppression({
      account: '*',
      region: '*',
      cluster: '*',
      ruleId: 'AUDIT-COVERAGE',
      reason: 'coverage work tracked elsewhere',
      owner: 'iam-proof',
      expiresAt: new Date(Date.now() - 86_400_000).toISOString(),
    });
    const { organization } = options;
    const settings = AuditSettingsSchema.parse({
      ...(organization ? { organization } : { targets: sim.targets }),
      ...(options.securityHubImport && { securityHubImport: true }),
      pollIntervalSeconds: Math.max(0.05, 15 * scenario.timeScale),
      clusterDeadlineSeconds: Math.max(5, 600 * scenario.timeScale),
    });
    const depsOf = (caller: FunctionName): StepDeps => ({
      clientsFor: createTargetClientsFactory({
        endpoint: sim.endpoint,
        caller,
        ...(organization && { roleName: 'FleetAuditReadOnly', hubAccount: hub.account }),
      }),
      ...(organization && {
        organization: createOrganizationReader({
          readerRoleArn: organization.readerRoleArn,
          endpoint: sim.endpoint,
          hubAccount: hub.account,
          caller,
        }),
      }),
      store: new AuditStore({ tableName: LOCAL_TABLE }, dynamo.clientFor(caller, hub.account, hub.region)),
      publisher: createAlertPublisher({ region, topicArn, endpoint: sim.endpoint, caller }),
      settings,
      now: () => new Date(),
    });
    const deps = Object.fromEntries(FUNCTIONS.map((name) => [name, depsOf(name)])) as Record<FunctionName, StepDeps>;
    // Plan writes the run's list and Report reads it back, as the deployed functions do (lambda/handlers/plan.ts,
    // report.ts); the state machine's own read of it (the ItemReader) is proven from the definition (proof.ts).
    let planned: Awaited<ReturnType<typeof storeRunList>> | undefined;
    await runWorkflow(
      {
        plan: async () => {
          const runPlan = await plan(deps.plan);
          planned = await storeRunList(runPlan, runListsOf('plan'));
          return runPlan;
        },
        discover: (task) => discover(task, deps.discover),
        poll: (state) => poll(state, deps.poll),
        assess: (state) => assess(state, deps.assess),
        recordFailure: (task, error) => recordFailure(task, error, deps.recordFailure),
        report: async (runPlan) => {
          if (!planned) throw new Error('report before plan');
          const read = await runPlanOf(planned, runListsOf('report'));
          if (read.clusters.length !== runPlan.clusters.length) throw new Error('the run list lost clusters');
          const first = await report(read, deps.report);
          return options.reportRetried ? report(read, deps.report) : first;
        },
      },
      {
        clusterConcurrency: settings.clusterConcurrency,
        pollIntervalMs: settings.pollIntervalSeconds * 1000,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      },
    );
    if (options.slackSecretName) await deliverToSlack(sim, region, account, options.slackSecretName);
    // dynalite's table set-up above is the local store's, not a function's: CloudFormation creates the table.
    // An AssumeRole STS refused is an account without the audit role (deployed nowhere, so nothing to prove): the run
    // reports it AUDIT-FAILED, and no call is made as that role.
    const simulated = sim.calls.filter((call) => !(call.service === 'sts' && call.status === 403));
    const calls = [...simulated, ...dynamo.calls.filter((call) => call.caller !== null)];
    const targets = organization ? auditedTargets(sim) : sim.targets;
    return { calls, hub, topicArn, tableName: LOCAL_TABLE, bucketName: RUN_LIST_BUCKET, targets };
  } finally {
    await sim.close();
    await dynamo.close();
  }
}

/** The account × region pairs a run reached: those whose EKS ListClusters was answered. */
function auditedTargets(sim: Simulator): Array<{ account: string; region: string }> {
  const reached = sim.calls.filter((c) => c.service === 'eks' && c.status === 200 && c.account && c.region);
  return [
    ...new Map(
      reached.map((c) => [`${c.account}/${c.region}`, { account: c.account ?? '', region: c.region ?? '' }]),
    ).values(),
  ];
}

/**
 * What SNS does with each published message for the Slack notifier's subscription: invokes it with the message's
 * `lambda` part (or `default`), as the notifier's own Lambda would run, its Secrets Manager client acting for it
 * against the simulator. The webhook itself is not the proof's concern: its answer is a plain 200.
 */
async function deliverToSlack(sim: Simulator, region: string, account: string, secretName: string): Promise<void> {
  const notify = createSlackNotifier({
    secretId: secretName,
    secrets: new SecretsManagerClient({
      region,
      endpoint: sim.endpoint,
      credentials: simulatorCredentials(account, SLACK_NOTIFIER),
    }),
    fetch: async () => new Response('ok', { status: 200 }),
  });
  for (const message of sim.outbox) {
    const body = message.parts?.lambda ?? message.parts?.default ?? message.message;
    const outcome = await notify({
      Records: [{ Sns: { MessageId: message.messageId, Message: body, Subject: message.subject } }],
    } as unknown as SNSEvent);
    if (outcome.failed > 0) throw new Error(`the Slack notifier failed on ${message.messageId}`);
  }
}
