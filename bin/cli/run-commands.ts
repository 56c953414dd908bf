import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Command, Option } from 'commander';
import type { RunResult } from '#audit/model.js';
import { renderRunAsff } from '#audit/render/asff.js';
import { renderRunHtml } from '#audit/render/html.js';
import { renderRunMarkdown } from '#audit/render/markdown.js';
import { renderRunText } from '#audit/render/text.js';
import { sdkClientConfig } from '#aws/sdk-config.js';
import { AuditStore } from '#aws/store.js';
import { EXIT_FINDINGS, UsageError } from '#cli/errors.js';
import { breaches, parseFailOn } from '#cli/fail-on.js';
import {
  FleetSetupError,
  type LocalFleetOptions,
  openLocalFleet,
  openLocalStore,
  openRealFleet,
} from '#sim/local-fleet.js';
import { ScenarioError } from '#sim/scenario.js';
import { runAudit } from '#workflow/audit-run.js';
import { plan } from '#workflow/steps.js';

const DEFAULT_STATE_DIR = '.fleet-audit';

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
}

interface ReportFlags {
  run?: string;
  format: ReportFormat;
  local?: boolean;
  stateDir: string;
  table?: string;
  region?: string;
  profile?: string;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `run` (simulated or real fleet) and `report` (a stored run). */
export function registerRunCommands(program: Command): void {
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
    .action(async (flags: RunFlags) => {
      const failOn = parseFailOn(flags.failOn);
      if (!flags.local && flags.scenario !== 'default') throw new UsageError('--scenario needs --local');
      if (flags.local && (flags.profile || flags.regions || flags.dryRun)) {
        throw new UsageError('--profile, --regions and --dry-run are for real AWS runs; drop them or drop --local');
      }
      const options: LocalFleetOptions = {
        stateDir: resolve(flags.stateDir),
        fresh: Boolean(flags.fresh),
        clusters: flags.clusters ?? [],
      };
      const fleet = await openFleet(flags, options);
      try {
        if (flags.dryRun) {
          const runPlan = await plan(fleet.deps);
          for (const c of runPlan.clusters) process.stdout.write(`${c.account}/${c.region}/${c.name}\n`);
          return;
        }
        const output = await runAudit(fleet.deps, {
          pollIntervalMs: fleet.pollIntervalMs,
          warn: (line) => process.stderr.write(`fleet-audit: ${line}\n`),
        });
        await printRun(output.result, flags);
        if (output.alertProblem) process.stderr.write(`fleet-audit: ${output.alertProblem}\n`);
        if (
          breaches(
            output.result.clusters.flatMap((c) => c.findings),
            failOn,
          )
        )
          process.exitCode = EXIT_FINDINGS;
      } finally {
        await fleet.close();
      }
    });

  program
    .command('report')
    .description('print a stored run (default: the newest)')
    .option('--run <id>', 'the run id')
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('text'))
    .option('--local', 'read the local state folder (runs of `fleet-audit run`)')
    .option('--state-dir <dir>', 'the local state folder', DEFAULT_STATE_DIR)
    .option('--table <name>', 'read the deployed findings table instead (the hub stack output TableName)')
    .option('--region <region>', 'the hub region of --table (default: the profile region)')
    .option('--profile <profile>', 'the named profile for --table')
    .action(async (flags: ReportFlags) => {
      if (flags.local && flags.table) throw new UsageError('--local and --table name two stores; pass one');
      if (!flags.local && !flags.table) {
        throw new UsageError('pass --local for the local state folder or --table NAME for the deployed findings table');
      }
      const source = flags.table ? `table ${flags.table}` : flags.stateDir;
      const opened = flags.table ? openDeployedStore(flags) : await openLocalStore(resolve(flags.stateDir));
      try {
        const runId = flags.run ?? (await opened.store.latestRunId());
        if (!runId) throw new UsageError(`no run stored in ${source}; run \`fleet-audit run --local\` first`);
        const record = await opened.store.getRun(runId);
        if (!record) throw new UsageError(`run ${runId} is not in ${source}`);
        if (!record.result) throw new UsageError(`run ${runId} has not finished (status ${record.status})`);
        process.stdout.write(format(record.result, flags.format));
      } finally {
        await opened.close();
      }
    });
}

/** The deployed findings table, read with the caller's credentials. */
function openDeployedStore(flags: ReportFlags) {
  if (flags.profile) process.env.AWS_PROFILE = flags.profile;
  const client = new DynamoDBClient(sdkClientConfig(flags.region ? { region: flags.region } : {}));
  return {
    store: new AuditStore({ tableName: flags.table ?? '' }, client),
    close: async () => client.destroy(),
  };
}

async function openFleet(flags: RunFlags, options: LocalFleetOptions) {
  try {
    return flags.local
      ? await openLocalFleet({ ...options, scenario: flags.scenario })
      : await openRealFleet({ ...options, profile: flags.profile, regions: flags.regions ?? [] });
  } catch (error) {
    if (error instanceof ScenarioError || error instanceof FleetSetupError) throw new UsageError(error.message);
    throw error;
  }
}

const REPORT_FORMATS = ['text', 'markdown', 'html', 'json', 'asff'] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];

function format(result: RunResult, as: ReportFormat): string {
  switch (as) {
    case 'json':
      return `${JSON.stringify(result, null, 2)}\n`;
    case 'asff':
      // Security Hub BatchImportFindings takes at most 100 findings a call; this prints them all as one array.
      return `${JSON.stringify(renderRunAsff(result), null, 2)}\n`;
    case 'html':
      return renderRunHtml(result);
    case 'markdown':
      return renderRunMarkdown(result);
    case 'text':
      return renderRunText(result);
  }
}

async function printRun(result: RunResult, flags: RunFlags): Promise<void> {
  process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : renderRunText(result));
  if (flags.out) {
    const dir = resolve(flags.out);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'run.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(dir, 'report.txt'), renderRunText(result));
    await writeFile(join(dir, 'report.md'), renderRunMarkdown(result));
    await writeFile(join(dir, 'report.html'), renderRunHtml(result));
  }
}
