import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { RunResult } from '#audit/model.js';
import { renderRunAsff } from '#audit/render/asff.js';
import { safeJson, visibleText } from '#audit/render/escape.js';
import { renderRunHtml } from '#audit/render/html.js';
import { renderRunMarkdown } from '#audit/render/markdown.js';
import { renderRunText, type TextLayout } from '#audit/render/text.js';
import type { AuditTarget } from '#aws/ports.js';
import { sdkClientConfig } from '#aws/sdk-config.js';
import { SecurityHubImportError, SecurityHubImporter } from '#aws/security-hub.js';
import { AuditStore, type RunSummary } from '#aws/store.js';
import {
  awsFailure,
  CLI_REQUEST_HANDLER,
  callerAccount,
  checkRegion,
  codeOf,
  resolveAwsAccess,
} from '#cli/aws-access.js';
import { EXIT_FINDINGS, EXIT_USAGE, FlagError, UsageError } from '#cli/errors.js';
import { breaches, parseFailOn } from '#cli/fail-on.js';
import { ensureWritableDir, writeProblem } from '#cli/paths.js';
import { runReporter } from '#cli/progress.js';
import type { CliContext, Terminal } from '#cli/terminal.js';
import {
  type FleetSession,
  NoOrganizationError,
  type OrganizationRun,
  openLocalFleet,
  openLocalStore,
  openRealFleet,
} from '#sim/local-fleet.js';
import { ScenarioError } from '#sim/scenario.js';
import { lockStateDir, type StateLock, StateLockedError } from '#sim/state-lock.js';
import { runAudit } from '#workflow/audit-run.js';
import { OrganizationTargetsSchema } from '#workflow/settings.js';
import { messageOf, targetsOf } from '#workflow/steps.js';

export const DEFAULT_STATE_DIR = '.fleet-audit';

interface RunFlags {
  local?: boolean;
  scenario: string;
  json?: boolean;
  out?: string;
  fresh?: boolean;
  stateDir: string;
  failOn?: string;
  profile?: string;
  regions?: string[];
  clusters?: string[];
  dryRun?: boolean;
  organization?: boolean;
  ou?: string[];
  excludeAccounts?: string[];
  roleName?: string;
  readerRole?: string;
}

export interface StoreFlags {
  local?: boolean;
  stateDir: string;
  table?: string;
  region?: string;
  profile?: string;
}

interface ReportFlags extends StoreFlags {
  run?: string;
  format: ReportFormat;
  toSecurityHub?: boolean;
}

interface RunsFlags extends StoreFlags {
  limit: number;
  json?: boolean;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const positiveInteger = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
};

/** `run` (simulated or real fleet), `report` (a stored run) and `runs` (the stored runs). */
export function registerRunCommands(program: Command, context: CliContext): void {
  program
    .command('run')
    .description('audit the simulated fleet (--local) or the EKS clusters your AWS credentials reach')
    .option('--local', 'audit the built-in simulated fleet (no AWS account needed)')
    .option('--scenario <name|file>', 'simulated fleet: a built-in scenario name or a scenario JSON file', 'default')
    .option('--json', 'print one JSON object instead of the readable report')
    .option('--out <dir>', 'also write run.json, report.txt, report.md and report.html to this folder')
    .option('--fresh', 'forget the stored history before running')
    .option('--state-dir <dir>', 'where local runs keep their DynamoDB state and alert outbox', DEFAULT_STATE_DIR)
    .option('--fail-on <severity>', 'exit 1 when an open finding is at or above this severity (any case)')
    .option('--profile <profile>', 'real AWS: the named profile to use')
    .option('--regions <a,b>', 'real AWS: regions to audit (default: the profile region)', list)
    .option('--clusters <x,y>', 'only these clusters', list)
    .option('--dry-run', 'real AWS: list the clusters that would be audited, send nothing')
    .option(
      '--organization',
      "every ACTIVE account of your AWS organization, each through its audit role (from the management account or a delegated administrator; --local: the scenario's organization)",
    )
    .option('--ou <ou-…,ou-…>', 'with --organization: only the accounts of these OUs and the OUs nested in them', list)
    .option('--exclude-accounts <id,id>', 'with --organization: accounts not to audit', list)
    .option(
      '--role-name <name>',
      `with --organization: the role to assume in each account (--local: default ${DEFAULT_AUDIT_ROLE})`,
    )
    .option('--reader-role <arn>', 'with --organization: list the accounts through this role, not your credentials')
    .action(async (flags: RunFlags) => {
      const terminal = context.terminal();
      const failOn = parseFailOn(flags.failOn);
      const organization = organizationRun(flags);
      if (!flags.local && flags.scenario !== 'default') throw new FlagError('--scenario needs --local');
      if (flags.local && (flags.profile || flags.regions || flags.dryRun)) {
        throw new FlagError('--profile, --regions and --dry-run are for real AWS runs; drop them or drop --local');
      }
      if (flags.regions?.length === 0) throw new FlagError('--regions names no region');
      for (const region of flags.regions ?? []) checkRegion('--regions', region);
      // Every path is checked before AWS is asked anything and before anything is stored.
      const outDir = flags.out ? await ensureWritableDir('--out', flags.out) : null;
      const stateDir = await ensureWritableDir('--state-dir', flags.stateDir);
      const session = await openSession(flags, stateDir, terminal, organization);
      try {
        const { targets, unlisted } = await checkClusters(session, flags);
        if (flags.dryRun) {
          for (const t of targets)
            for (const name of t.names) process.stdout.write(`${visibleText(`${t.account}/${t.region}/${name}`)}\n`);
          for (const line of unlisted) terminal.warn(line);
          return;
        }
        const reporter = flags.json
          ? { note: (line: string) => terminal.warn(line), stop: () => {} }
          : runReporter(terminal);
        let output: Awaited<ReturnType<typeof runAudit>>;
        try {
          output = await runAudit(session.fleet.deps, {
            pollIntervalMs: session.fleet.pollIntervalMs,
            observer: reporter,
            warn: (line) => reporter.note(line),
          });
        } finally {
          reporter.stop();
        }
        process.stdout.write(
          flags.json ? `${safeJson(output.result)}\n` : renderRunText(output.result, layout(terminal)),
        );
        if (outDir) await writeOut(outDir, output.result);
        if (output.alertProblem) terminal.warn(output.alertProblem);
        if (
          breaches(
            output.result.clusters.flatMap((c) => c.findings),
            failOn,
          )
        )
          process.exitCode = EXIT_FINDINGS;
      } finally {
        await session.close();
      }
    });

  storeOptions(
    program
      .command('report')
      .description('print a stored run (default: the newest)')
      .option('--run <id>', 'the run id')
      .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('text'))
      .option(
        '--to-security-hub',
        "with --format asff: import the findings into Security Hub (the caller's account, each finding's region)",
      ),
  ).action(async (flags: ReportFlags) => {
    const terminal = context.terminal();
    if (flags.toSecurityHub && flags.format !== 'asff') {
      throw new FlagError('--to-security-hub sends ASFF findings: pass --format asff with it');
    }
    const opened = await openStore(flags, terminal, 'report');
    try {
      const result = flags.run
        ? await chosenRun(opened, flags.run)
        : await newestFinishedRun(opened, (line) => terminal.warn(line));
      if (flags.toSecurityHub) {
        const imported = await importToSecurityHub(result, flags, terminal);
        process.stdout.write(imported.summary);
        if (imported.failed) process.exitCode = EXIT_USAGE;
        return;
      }
      process.stdout.write(renderReport(result, flags.format, layout(terminal)));
    } finally {
      await opened.close();
    }
  });

  storeOptions(
    program
      .command('runs')
      .description('list the stored runs, newest first')
      .option('--limit <n>', 'how many runs', positiveInteger, 20)
      .option('--json', 'print a JSON array'),
  ).action(async (flags: RunsFlags) => {
    const terminal = context.terminal();
    const opened = await openStore(flags, terminal, 'runs');
    try {
      const runs = await opened.call(() => opened.store.listRuns(flags.limit));
      if (flags.json) process.stdout.write(`${safeJson(runs, 2)}\n`);
      else if (runs.length === 0) process.stdout.write(`No run stored in ${opened.source}.\n`);
      else process.stdout.write(runsTable(runs));
    } finally {
      await opened.close();
    }
  });
}

/** The result of the run `--run` names; one line when it is not stored or has no result. */
async function chosenRun(opened: OpenedStore, runId: string): Promise<RunResult> {
  const record = await opened.call(() => opened.store.getRun(runId));
  if (!record) throw new UsageError(`run ${runId} is not in ${opened.source}; \`fleet-audit runs\` lists them`);
  if (!record.result) {
    throw new UsageError(
      `run ${runId} did not finish (${unfinishedStatus(record.status, record.failure ?? null)}); ` +
        '`fleet-audit report` without --run shows the newest run that finished',
    );
  }
  return record.result;
}

/**
 * The newest run that finished. Runs started after it that did not finish (killed, still running, or failed before
 * storing their result) are named in one line on stderr, so the report is never taken for the latest night's.
 */
async function newestFinishedRun(opened: OpenedStore, warn: (line: string) => void): Promise<RunResult> {
  const { run, unfinished } = await opened.call(() => opened.store.newestFinishedRun());
  const [newest] = unfinished;
  const newer = newest
    ? `${unfinished.length === 1 ? 'run' : `${unfinished.length} newer runs did not finish, the newest`} ` +
      `${newest.runId} (started ${newest.startedAt})${unfinished.length === 1 ? ' did not finish' : ''} ` +
      `(${unfinishedStatus(newest.status, newest.failure)})`
    : null;
  if (!run?.result) {
    if (newer) throw new UsageError(`no run in ${opened.source} has finished: ${newer}`);
    throw new UsageError(`no run stored in ${opened.source}; run \`fleet-audit run --local\` first`);
  }
  if (newer) warn(`${newer}; showing run ${run.runId}, the newest that finished`);
  return run.result;
}

function unfinishedStatus(status: string, failure: string | null): string {
  if (failure) return `${status}: ${failure}`;
  return status === 'RUNNING' ? 'RUNNING: stopped before its report step, or still running' : status;
}

/**
 * The options of the commands that read or write the store: which store. `regionFlag` names the region of
 * `--table` (`suppress` has a `--region` of its own, the suppression's scope).
 */
export function storeOptions(command: Command, regionFlag = '--region'): Command {
  return command
    .option('--local', 'the local state folder (runs of `fleet-audit run --local`)')
    .option('--state-dir <dir>', 'the local state folder', DEFAULT_STATE_DIR)
    .option('--table <name>', 'the deployed findings table instead (the hub stack output TableName)')
    .option(`${regionFlag} <region>`, 'the hub region of --table (default: the profile region)')
    .option('--profile <profile>', 'the named profile for --table');
}

const layout = (terminal: Terminal): TextLayout => ({ width: terminal.width, color: terminal.color });

/** A run's fleet, the lock on its state folder, and how to put both away. */
interface Session {
  fleet: FleetSession;
  /** the AWS service and region the cluster listing talks to, for messages (null: the simulator) */
  aws: { region: string; who: string } | null;
  close(): Promise<void>;
}

/** Takes the state folder's lock, or says in one line who holds it. */
async function lock(stateDir: string, command: string): Promise<StateLock> {
  try {
    return await lockStateDir(stateDir, command);
  } catch (error) {
    if (error instanceof StateLockedError) throw new UsageError(error.message);
    throw error;
  }
}

async function openSession(
  flags: RunFlags,
  stateDir: string,
  terminal: Terminal,
  organization: OrganizationRun | undefined,
): Promise<Session> {
  const logger = terminal.sdkLogger;
  const base = {
    stateDir,
    fresh: Boolean(flags.fresh),
    clusters: flags.clusters ?? [],
    ...(logger && { logger }),
    ...(organization && { organization }),
  };
  if (flags.local) {
    const held = await lock(stateDir, 'run --local');
    try {
      const fleet = await openLocalFleet({ ...base, scenario: flags.scenario });
      return { fleet, aws: null, close: () => fleet.close().finally(() => held.release()) };
    } catch (error) {
      await held.release();
      if (error instanceof ScenarioError || error instanceof NoOrganizationError) throw new UsageError(error.message);
      throw error;
    }
  }
  const access = await resolveAwsAccess({
    ...(flags.profile && { profile: flags.profile }),
    ...(flags.regions?.[0] && { region: flags.regions[0] }),
    regionFlag: '--regions',
    ...(logger && { logger }),
  });
  const account = await callerAccount(access);
  const held = await lock(stateDir, 'run');
  try {
    const fleet = await openRealFleet({
      ...base,
      account,
      regions: flags.regions ?? [access.region],
      credentials: access.credentials,
    });
    return {
      fleet,
      aws: { region: access.region, who: access.who },
      close: () => fleet.close().finally(() => held.release()),
    };
  } catch (error) {
    await held.release();
    throw error;
  }
}

/**
 * Lists each target's clusters before the run is stored: a target that cannot be listed (network, credentials)
 * and `--clusters` names that match no cluster are usage errors, so a mistyped name is not a stored empty run.
 * With `--organization` the organization that cannot be listed is the usage error; one of its accounts that cannot
 * be listed (no audit role there) is not: the run reports it AUDIT-FAILED, and `unlisted` says why for --dry-run.
 */
async function checkClusters(
  session: Session,
  flags: RunFlags,
): Promise<{ targets: Array<AuditTarget & { names: string[] }>; unlisted: string[] }> {
  const { deps } = session.fleet;
  const wanted = new Set(flags.clusters ?? []);
  const fromOrganization = deps.settings.organization !== undefined;
  let targets: AuditTarget[];
  try {
    targets = await targetsOf(deps);
  } catch (error) {
    if (!session.aws) throw new UsageError(`cannot list the organization's accounts: ${messageOf(error)}`);
    throw new UsageError(organizationFailure(error, session.aws.who));
  }
  const unlisted: string[] = [];
  const attempts = await Promise.all(
    targets.map(async (target) => {
      try {
        const names = (await deps.clientsFor(target).directory.listClusters()).sort();
        return { ...target, all: names, names: names.filter((n) => wanted.size === 0 || wanted.has(n)) };
      } catch (error) {
        if (fromOrganization) {
          unlisted.push(`account ${target.account} in ${target.region} not listed: ${messageOf(error)}`);
          return null;
        }
        if (!session.aws) throw error;
        throw new UsageError(awsFailure(error, { service: 'EKS', region: target.region, who: session.aws.who }));
      }
    }),
  );
  const listed = attempts.filter((t) => t !== null);
  const found = new Set(listed.flatMap((t) => t.all));
  const missing = [...wanted].filter((name) => !found.has(name));
  if (missing.length > 0) {
    const where = listed.map((t) => `${t.account}/${t.region}`).join(', ');
    const known = [...found].sort();
    throw new UsageError(
      `--clusters: no cluster named ${missing.join(', ')} in ${where}` +
        (known.length > 0 ? ` (there: ${known.join(', ')})` : ' (no clusters there)'),
    );
  }
  return { targets: listed, unlisted: unlisted.sort() };
}

/** The audit role the member stack deploys (lib/config.ts `memberRoleName`), which the simulated accounts have. */
const DEFAULT_AUDIT_ROLE = 'FleetAuditReadOnly';

/** An IAM role name: 1–64 of letters, digits and `+=,.@_-` (IAM User Guide, "IAM object quotas" and CreateRole). */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** `--organization` and its flags, checked; undefined without `--organization`. */
function organizationRun(flags: RunFlags): OrganizationRun | undefined {
  const given = [
    flags.ou && '--ou',
    flags.excludeAccounts && '--exclude-accounts',
    flags.readerRole && '--reader-role',
    flags.roleName && '--role-name',
  ].filter(Boolean);
  if (!flags.organization) {
    if (given.length > 0) throw new FlagError(`${given.join(', ')} go with --organization`);
    return undefined;
  }
  // each value against the settings' own schema (the one the plan step's settings are parsed with)
  const field = OrganizationTargetsSchema.shape;
  const refuse = (flag: string, value: string, what: string) => {
    throw new FlagError(`${flag} ${JSON.stringify(value)} is not ${what}`);
  };
  for (const ou of flags.ou ?? []) {
    if (!field.organizationalUnits.safeParse([ou]).success) refuse('--ou', ou, 'an OU id (ou-…)');
  }
  for (const account of flags.excludeAccounts ?? []) {
    if (!field.excludeAccounts.safeParse([account]).success)
      refuse('--exclude-accounts', account, 'a 12-digit account id');
  }
  if (flags.readerRole && !field.readerRoleArn.safeParse(flags.readerRole).success) {
    refuse('--reader-role', flags.readerRole, 'an IAM role ARN');
  }
  // The member stack's role trusts only the hub's functions, so a laptop names a role it may assume. Accounts that
  // Organizations created have OrganizationAccountAccessRole, trusting the management account (invited ones do
  // not): https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html
  const roleName = flags.roleName ?? (flags.local ? DEFAULT_AUDIT_ROLE : undefined);
  if (roleName === undefined) {
    throw new FlagError(
      `--organization needs --role-name: a role your credentials may assume in every account (${DEFAULT_AUDIT_ROLE} trusts only the hub's functions)`,
    );
  }
  if (!ROLE_NAME.test(roleName)) refuse('--role-name', roleName, 'an IAM role name');
  return {
    organizationalUnits: flags.ou ?? [],
    excludeAccounts: flags.excludeAccounts ?? [],
    roleName,
    ...(flags.readerRole && { readerRoleArn: flags.readerRole }),
  };
}

/** One line for an organization that could not be listed, naming who may list it. */
function organizationFailure(error: unknown, who: string): string {
  const line = awsFailure(error, { service: 'Organizations', region: 'us-east-1', who });
  const code = codeOf(error);
  if (code === 'AWSOrganizationsNotInUseException') {
    return `${line}; --organization needs credentials of an account in an organization`;
  }
  if (code === 'AccessDeniedException' || code === 'AccessDenied') {
    return `${line}; --organization lists accounts from the management account or a delegated administrator (or pass --reader-role)`;
  }
  return line;
}

/** A store the CLI reads or writes, each call's failure turned into one line naming the store. */
export interface OpenedStore {
  store: AuditStore;
  source: string;
  call<T>(read: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Opens the local state folder (locked while open) or the deployed table; `regionFlag` names the table's region. */
export async function openStore(
  flags: StoreFlags,
  terminal: Terminal,
  command: string,
  regionFlag = '--region',
): Promise<OpenedStore> {
  if (flags.local && flags.table) throw new FlagError('--local and --table name two stores; pass one');
  if (!flags.local && !flags.table) {
    throw new FlagError('pass --local for the local state folder or --table NAME for the deployed findings table');
  }
  if (flags.local && (flags.region || flags.profile))
    throw new FlagError(`${regionFlag} and --profile go with --table`);
  if (flags.table) return openDeployedStore(flags.table, flags, terminal, regionFlag);
  const stateDir = await ensureWritableDir('--state-dir', flags.stateDir);
  const held = await lock(stateDir, command);
  try {
    const opened = await openLocalStore(stateDir);
    return {
      store: opened.store,
      source: stateDir,
      call: (read) => read(),
      close: () => opened.close().finally(() => held.release()),
    };
  } catch (error) {
    await held.release();
    throw error;
  }
}

/** The deployed findings table, read with the caller's checked credentials. */
async function openDeployedStore(
  table: string,
  flags: StoreFlags,
  terminal: Terminal,
  regionFlag: string,
): Promise<OpenedStore> {
  const access = await resolveAwsAccess({
    ...(flags.profile && { profile: flags.profile }),
    ...(flags.region && { region: flags.region }),
    regionFlag,
    ...(terminal.sdkLogger && { logger: terminal.sdkLogger }),
  });
  const client = new DynamoDBClient({
    ...sdkClientConfig({ region: access.region, credentials: access.credentials, logger: access.logger }),
    maxAttempts: 2,
    requestHandler: CLI_REQUEST_HANDLER,
  });
  const source = `table ${table} in ${access.region}`;
  return {
    store: new AuditStore({ tableName: table }, client),
    source,
    call: async (read) => {
      try {
        return await read();
      } catch (error) {
        if ((error as Error | undefined)?.name === 'ResourceNotFoundException') {
          throw new UsageError(
            `no table ${table} in ${access.region} for ${access.who}: pass the hub stack's TableName output, ` +
              `and ${regionFlag} for the hub region`,
          );
        }
        throw new UsageError(awsFailure(error, { service: 'DynamoDB', region: access.region, who: access.who }));
      }
    },
    close: async () => client.destroy(),
  };
}

function runsTable(runs: ReadonlyArray<RunSummary>): string {
  const rows = [
    ['RUN', 'STARTED', 'STATUS', 'CLUSTERS'],
    ...runs.map((r) =>
      [r.runId, r.startedAt.slice(0, 19).replace('T', ' '), r.status, String(r.clusterCount)].map(visibleText),
    ),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * `report --format asff --to-security-hub`: the run's findings imported with the caller's credentials. Only the
 * caller's account's findings can be sent (BatchImportFindings must come from the finding's account); the others
 * are counted as skipped. Partial failures are listed one a line on stderr, and the command then exits 2.
 */
async function importToSecurityHub(
  result: RunResult,
  flags: ReportFlags,
  terminal: Terminal,
): Promise<{ summary: string; failed: boolean }> {
  const findings = renderRunAsff(result);
  const access = await resolveAwsAccess({
    ...(flags.profile && { profile: flags.profile }),
    ...(flags.region && { region: flags.region }),
    regionFlag: '--region',
    ...(terminal.sdkLogger && { logger: terminal.sdkLogger }),
  });
  const account = await callerAccount(access);
  const importer = new SecurityHubImporter({
    account,
    clientFor: (region) =>
      new SecurityHubClient({
        ...sdkClientConfig({ region, credentials: access.credentials, logger: access.logger }),
        requestHandler: CLI_REQUEST_HANDLER,
      }),
  });
  let outcome: Awaited<ReturnType<SecurityHubImporter['import']>>;
  try {
    outcome = await importer.import(findings);
  } catch (error) {
    if (!(error instanceof SecurityHubImportError)) throw error;
    throw new UsageError(awsFailure(error.cause, { service: 'Security Hub', region: error.region, who: access.who }));
  }
  for (const failure of outcome.failed) {
    process.stderr.write(
      `fleet-audit: Security Hub refused ${visibleText(failure.id)}: ${failure.code}: ${visibleText(failure.message)}\n`,
    );
  }
  const skippedAccounts = [...new Set(outcome.skipped.map((s) => s.account))].sort();
  const lines = [
    `Security Hub: ${outcome.imported} of ${findings.length} findings imported for account ${account}` +
      ` (${outcome.calls} BatchImportFindings ${outcome.calls === 1 ? 'call' : 'calls'})`,
    ...(outcome.failed.length > 0 ? [`${outcome.failed.length} refused (listed on stderr)`] : []),
    ...(outcome.skipped.length > 0
      ? [
          `${outcome.skipped.length} skipped: they belong to ${skippedAccounts.join(', ')}, and Security Hub takes ` +
            "a finding only from its own account; run this there, or import each account's with its credentials",
        ]
      : []),
  ];
  return { summary: `${lines.join('\n')}\n`, failed: outcome.failed.length > 0 };
}

const REPORT_FORMATS = ['text', 'markdown', 'html', 'json', 'asff'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** A stored run in one of the `report` formats, as `report` prints it. */
export function renderReport(result: RunResult, as: ReportFormat, text: TextLayout = {}): string {
  switch (as) {
    case 'json':
      return `${safeJson(result, 2)}\n`;
    case 'asff':
      // Security Hub BatchImportFindings takes at most 100 findings a call; this prints them all as one array.
      return `${safeJson(renderRunAsff(result), 2)}\n`;
    case 'html':
      return renderRunHtml(result);
    case 'markdown':
      return renderRunMarkdown(result);
    case 'text':
      return renderRunText(result, text);
  }
}

/** The --out files; report.txt is laid out for 80 columns without colour, as it is not read on this terminal. */
async function writeOut(dir: string, result: RunResult): Promise<void> {
  const files: Array<[string, string]> = [
    ['run.json', `${safeJson(result, 2)}\n`],
    ['report.txt', renderRunText(result)],
    ['report.md', renderRunMarkdown(result)],
    ['report.html', renderRunHtml(result)],
  ];
  for (const [name, text] of files) {
    const file = join(resolve(dir), name);
    await writeFile(file, text).catch((error: unknown) => {
      throw new UsageError(writeProblem(file, error));
    });
  }
}
