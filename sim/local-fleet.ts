import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AwsCredentialIdentityProvider, Logger } from '@smithy/types';
import { suppressionId } from '#audit/suppressions.js';
import { createAlertPublisher, createOrganizationReader, createTargetClientsFactory } from '#aws/clients.js';
import { AuditStore } from '#aws/store.js';
import { type AuditSettingsInput, AuditSettingsSchema } from '#workflow/settings.js';
import type { StepDeps } from '#workflow/steps.js';
import type { RecordedCall } from './call-log.js';
import { startDynalite } from './dynalite.js';
import { loadScenario, type Scenario } from './scenario.js';
import { type Simulator, startSimulator } from './server.js';

/** The table name local runs use inside their dynalite state folder. */
export const LOCAL_TABLE = 'fleet-audit';

/**
 * Local runs take another run's OPEN digest over at once: the state folder's lock (state-lock.ts) lets one process
 * in at a time, so a digest left OPEN is one whose process died, and a rerun right after a kill sends its changes.
 */
export const LOCAL_DIGEST_LEASE_MS = 0;

export interface LocalFleetOptions {
  /** folder for the dynalite database (`db/`) and the alert outbox (`outbox.jsonl`) */
  stateDir: string;
  /** forget stored history first */
  fresh: boolean;
  clusters: string[];
  /** where the SDK clients log their calls (the CLI's --verbose) */
  logger?: Logger;
  /** audit an organization's accounts instead of the caller's (the scenario's) */
  organization?: OrganizationRun;
  /** record every DynamoDB request and its answer's size (the fleet benchmark counts them) */
  recordDynamo?: boolean;
}

/**
 * `fleet-audit run --organization`: the organization's ACTIVE accounts (optionally only some OUs, minus some
 * accounts), listed with the caller's credentials or through a reader role, each audited through its audit role;
 * the caller's own account with its own credentials. An account whose role cannot be assumed is one AUDIT-FAILED
 * target, as in the deployed hub.
 */
export interface OrganizationRun {
  organizationalUnits: string[];
  excludeAccounts: string[];
  /** the audit role the member stack (or StackSet) deploys in each account */
  roleName: string;
  /** the reader role to list the accounts through; unset: the caller's own credentials list them */
  readerRoleArn?: string;
}

/** Thrown when `--organization` is asked of a scenario that defines no organization. */
export class NoOrganizationError extends Error {}

/** Everything a CLI run needs, and how to put it away. */
export interface FleetSession {
  deps: StepDeps;
  /** the runner's Wait between polls */
  pollIntervalMs: number;
  close(): Promise<void>;
}

/**
 * Opens the local state folder's store (for `report`); a scenario's `dynamodb:` faults put the fault front
 * (sim/dynamo-faults.ts) between the store and dynalite.
 */
export async function openLocalStore(stateDir: string, scenario?: Scenario, record = false) {
  await mkdir(stateDir, { recursive: true });
  const dynamo = await startDynalite({
    path: join(stateDir, 'db'),
    ...(scenario && { faults: scenario.faults, seed: scenario.seed }),
    record,
  });
  const store = new AuditStore({ tableName: LOCAL_TABLE }, dynamo.client);
  await store.ensureTable();
  return { store, calls: dynamo.calls, close: () => dynamo.close() };
}

async function prepareState(options: LocalFleetOptions, scenario?: Scenario) {
  if (options.fresh) {
    await rm(join(options.stateDir, 'db'), { recursive: true, force: true });
    await rm(join(options.stateDir, 'outbox.jsonl'), { force: true });
  }
  return openLocalStore(options.stateDir, scenario, options.recordDynamo);
}

/**
 * The simulated fleet: the scenario served by the loopback simulator, reached by the real adapters through the
 * real SDK, with dynalite keeping state in the folder so consecutive runs see history. Time runs on the scenario's
 * time scale: the Wait between polls and the per-cluster deadline shrink with it.
 */
export async function openLocalFleet(
  options: LocalFleetOptions & { scenario: string | Scenario },
): Promise<FleetSession & { simulator: Simulator; dynamoCalls: RecordedCall[]; environmentDeps: () => StepDeps }> {
  const scenario = typeof options.scenario === 'string' ? loadScenario(options.scenario) : options.scenario;
  const org = options.organization;
  if (org && !scenario.organization) {
    throw new NoOrganizationError(
      'the scenario defines no organization for --organization: use --scenario default-org, or add an `organization` to yours',
    );
  }
  const local = await prepareState(options, scenario);
  const sim = await startSimulator(scenario, { outboxFile: join(options.stateDir, 'outbox.jsonl') });
  await seedHistory(local.store, scenario, sim.auditorNow());
  await seedSuppressions(local.store, scenario, sim.auditorNow());
  const topic = sim.topicArns[0];
  const scaled = (seconds: number, floor: number) => Math.max(floor, seconds * scenario.timeScale);
  // --organization: the laptop's credentials are the management account's (sim/scenario.ts OrganizationSchema)
  const caller = org && scenario.organization ? scenario.organization.managementAccount : undefined;
  const settings: AuditSettingsInput = {
    targets: org ? [] : sim.targets,
    ...(org && {
      organization: {
        ...organizationSettings(org),
        // every region the scenario has
        regions: [...new Set(sim.targets.map((t) => t.region))].sort(),
      },
    }),
    clusters: options.clusters,
    pollIntervalSeconds: scaled(15, 0.05),
    clusterDeadlineSeconds: scaled(600, 5),
  };
  const newClients = () =>
    createTargetClientsFactory({
      endpoint: sim.endpoint,
      ...(org && caller && { roleName: org.roleName, hubAccount: caller, ownAccount: caller }),
      ...(options.logger && { logger: options.logger }),
    });
  const deps: StepDeps = {
    clientsFor: newClients(),
    ...(org &&
      caller && {
        organization: createOrganizationReader({
          endpoint: sim.endpoint,
          hubAccount: caller,
          ...(org.readerRoleArn && { readerRoleArn: org.readerRoleArn }),
          ...(options.logger && { logger: options.logger }),
        }),
      }),
    store: local.store,
    publisher: topic
      ? createAlertPublisher({ region: topic.split(':')[3] ?? '', topicArn: topic, endpoint: sim.endpoint })
      : null,
    settings: AuditSettingsSchema.parse(settings),
    // the scenario's clock: days between runs and the auditor's skew (sim/scenario.ts ClockSchema)
    now: sim.auditorNow,
    digestLeaseMs: LOCAL_DIGEST_LEASE_MS,
  };
  return {
    deps,
    // a Lambda execution environment's own: its SDK clients (and their rate limiters) built afresh; the state store
    // is the same table
    environmentDeps: () => ({ ...deps, clientsFor: newClients() }),
    simulator: sim,
    dynamoCalls: local.calls,
    pollIntervalMs: deps.settings.pollIntervalSeconds * 1000,
    close: async () => {
      await sim.close();
      await local.close();
    },
  };
}

/** Stores the scenario's suppressions that the state does not hold yet (by id: scope and rule). */
async function seedSuppressions(store: AuditStore, scenario: Scenario, now: Date): Promise<void> {
  if (scenario.suppressions.length === 0) return;
  const held = new Set((await store.suppressions()).map(suppressionId));
  for (const { expiresInDays, ...s } of scenario.suppressions) {
    if (held.has(suppressionId(s))) continue;
    await store.putSuppression({
      ...s,
      expiresAt: new Date(now.getTime() + expiresInDays * 86_400_000).toISOString(),
      createdAt: now.toISOString(),
    });
  }
}

/**
 * Stores the scenario's earlier audits for each cluster that has no stored snapshot yet (an empty or fresh state
 * folder), as completed runs with nothing but their Service count, each its day's history point.
 */
async function seedHistory(store: AuditStore, scenario: Scenario, now: Date): Promise<void> {
  for (const account of scenario.accounts) {
    for (const region of account.regions) {
      for (const cluster of region.clusters) {
        const ref = { account: account.id, region: region.name, name: cluster.name };
        if (cluster.history.length === 0) continue;
        if ((await store.snapshotsBefore(ref, now.toISOString(), 1)).length > 0) continue;
        for (const point of cluster.history) {
          const startedAt = new Date(now.getTime() - point.daysAgo * 86_400_000).toISOString();
          await store.putSnapshot({
            runId: `seeded-${startedAt.slice(0, 10)}`,
            startedAt,
            cluster: ref,
            status: 'COMPLETE',
            score: null,
            nodes: { expected: 0, reached: 0, unreachable: 0, failed: 0 },
            uncoveredNodes: [],
            kubernetesVersion: cluster.version,
            serviceCount: point.serviceCount,
            restoreFailures: null,
            detections: [],
            notEvaluated: [],
            findings: [],
            auditError: null,
          });
          await store.putHistoryPoint(ref, {
            runId: `seeded-${startedAt.slice(0, 10)}`,
            at: startedAt,
            serviceCount: point.serviceCount,
            restoreFailures: null,
          });
        }
      }
    }
  }
}

/**
 * Real AWS from a laptop: the caller's account in the given regions, history kept in the local state folder,
 * no alerts sent (the report is the output). The caller has checked the profile, region and credentials already
 * (the CLI does, so each failure gets its own line before anything is stored).
 */
export async function openRealFleet(
  options: LocalFleetOptions & { account: string; regions: string[]; credentials: AwsCredentialIdentityProvider },
): Promise<FleetSession> {
  const local = await prepareState(options);
  const org = options.organization;
  const deps: StepDeps = {
    clientsFor: createTargetClientsFactory({
      credentials: options.credentials,
      // the caller's own account with its credentials, every other one through its audit role
      ...(org && { roleName: org.roleName, hubAccount: options.account }),
      ...(options.logger && { logger: options.logger }),
    }),
    ...(org && {
      organization: createOrganizationReader({
        credentials: options.credentials,
        ...(org.readerRoleArn && { readerRoleArn: org.readerRoleArn }),
        ...(options.logger && { logger: options.logger }),
      }),
    }),
    store: local.store,
    publisher: null,
    settings: AuditSettingsSchema.parse({
      targets: org ? [] : options.regions.map((region) => ({ account: options.account, region })),
      ...(org && { organization: { ...organizationSettings(org), regions: options.regions } }),
      clusters: options.clusters,
    }),
    now: () => new Date(),
  };
  return {
    deps,
    pollIntervalMs: deps.settings.pollIntervalSeconds * 1000,
    close: () => local.close(),
  };
}

/** The organization settings of `--organization` (its regions are the run's). */
function organizationSettings(org: OrganizationRun) {
  return {
    organizationalUnits: org.organizationalUnits,
    excludeAccounts: org.excludeAccounts,
    ...(org.readerRoleArn && { readerRoleArn: org.readerRoleArn }),
  };
}
