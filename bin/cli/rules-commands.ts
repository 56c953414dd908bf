import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { adhocEvidence, clusterResultOf, type ReportSource } from '#audit/adhoc.js';
import { assessCluster } from '#audit/assess.js';
import type { RunResult } from '#audit/model.js';
import { COLLECTOR_MAX_BYTES, parseNodeReport, tooLarge } from '#audit/node-report.js';
import { safeJson, visibleText } from '#audit/render/escape.js';
import { renderRulesMarkdown, renderRuleText, ruleDoc } from '#audit/render/rules-doc.js';
import { fitText, renderClusterText } from '#audit/render/text.js';
import { CATALOGUE, findRule } from '#audit/rules/catalogue.js';
import { DEFAULT_THRESHOLDS, type Thresholds, ThresholdsError, thresholdsFromJson } from '#audit/thresholds.js';
import { EXIT_FINDINGS, EXIT_USAGE, UsageError } from '#cli/errors.js';
import { breaches, parseFailOn } from '#cli/fail-on.js';
import type { CliContext } from '#cli/terminal.js';

interface ScoreOptions {
  json?: boolean;
  name: string;
  failOn?: string;
  thresholds?: string;
}

/** `rules`, `explain` and `score`: the catalogue, one rule, and scoring collector reports. */
export function registerRulesCommands(program: Command, context: CliContext): void {
  program
    .command('rules')
    .description('list the rule catalogue')
    .option('--json', 'print the catalogue as JSON')
    .option('--markdown', 'print docs/rules.md')
    .action((options: { json?: boolean; markdown?: boolean }) => {
      if (options.json && options.markdown) throw new UsageError('choose one of --json and --markdown');
      if (options.markdown) {
        process.stdout.write(renderRulesMarkdown());
      } else if (options.json) {
        process.stdout.write(
          `${JSON.stringify(
            CATALOGUE.map((r) => ruleDoc(r)),
            null,
            2,
          )}\n`,
        );
      } else {
        const width = Math.max(...CATALOGUE.map((r) => r.id.length));
        const lines = CATALOGUE.map((r) => `${r.id.padEnd(width)}  ${r.severities.join('/').padEnd(18)}  ${r.title}`);
        process.stdout.write(`${fitText(lines.join('\n'), context.terminal().width)}\n`);
      }
    });

  program
    .command('explain')
    .description('explain one rule: why, what it judges, thresholds, remediation, sources')
    .argument('<rule-id>', 'a rule id, e.g. KP-IPTABLES-SCALE')
    .action((id: string) => {
      const rule = findRule(id);
      if (!rule) {
        throw new UsageError(`unknown rule ${JSON.stringify(id)}; known: ${CATALOGUE.map((r) => r.id).join(', ')}`);
      }
      process.stdout.write(fitText(renderRuleText(rule), context.terminal().width));
    });

  program
    .command('score')
    .description('score collector reports (one JSON object a file) as one cluster')
    .argument('<files...>', 'collector output files')
    .option('--json', 'print one JSON object: { runId, status, clusters: [the one cluster] }')
    .option('--name <name>', 'the cluster name to report', 'adhoc')
    .option('--fail-on <severity>', 'exit 1 when a finding is at or above this severity')
    .option('--thresholds <file>', 'a JSON object of thresholds; keys left out keep their defaults')
    .action(async (files: string[], options: ScoreOptions) => {
      const terminal = context.terminal();
      const failOn = parseFailOn(options.failOn);
      const thresholds = options.thresholds ? await readThresholds(options.thresholds) : DEFAULT_THRESHOLDS;
      const { sources, problems } = await readReports(files);
      if (problems.length > 0) {
        for (const line of problems) process.stderr.write(`fleet-audit: ${visibleText(line)}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      const startedAt = new Date().toISOString();
      const evidence = adhocEvidence(options.name, sources, startedAt);
      const result = clusterResultOf(evidence, assessCluster(evidence, thresholds), 'NEW');
      if (options.json) {
        const run: RunResult = {
          runId: `score-${startedAt}`,
          status: result.status,
          startedAt,
          finishedAt: new Date().toISOString(),
          clusters: [result],
        };
        process.stdout.write(`${safeJson(run, 2)}\n`);
      } else {
        process.stdout.write(renderClusterText(result, { width: terminal.width, color: terminal.color }));
      }
      if (breaches(result.findings, failOn)) process.exitCode = EXIT_FINDINGS;
    });
}

async function readThresholds(file: string): Promise<Thresholds> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${file}: ${readProblem(error)}`);
  }
  try {
    return thresholdsFromJson(text);
  } catch (error) {
    if (error instanceof ThresholdsError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
}

/** Reads every file; each bad one gives a line `FILE: problem`. */
async function readReports(files: ReadonlyArray<string>): Promise<{ sources: ReportSource[]; problems: string[] }> {
  const sources: ReportSource[] = [];
  const problems: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      // The size first: an oversized file is refused without reading it all into memory.
      const { size } = await stat(file);
      if (size > COLLECTOR_MAX_BYTES + 1) {
        problems.push(`${file}: ${tooLarge(size)}`);
        continue;
      }
      text = await readFile(file, 'utf8');
    } catch (error) {
      problems.push(`${file}: ${readProblem(error)}`);
      continue;
    }
    const parsed = parseNodeReport(text);
    if (parsed.ok) sources.push({ name: basename(file), report: parsed.report });
    else problems.push(`${file}: ${parsed.problem}`);
  }
  return { sources, problems };
}

function readProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'cannot read: no such file';
  if (code === 'EISDIR') return 'cannot read: is a directory';
  if (code === 'EACCES') return 'cannot read: permission denied';
  return `cannot read: ${error instanceof Error ? error.message : String(error)}`;
}
