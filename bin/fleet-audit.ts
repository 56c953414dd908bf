import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { visibleText } from '#audit/render/escape.js';
import { registerCollectorCommand } from '#cli/collector-command.js';
import { EXIT_USAGE, FlagError, UsageError } from '#cli/errors.js';
import { registerRulesCommands } from '#cli/rules-commands.js';
import { registerRunCommands } from '#cli/run-commands.js';
import { registerSuppressCommands } from '#cli/suppress-commands.js';
import { type CliContext, terminalOf, type Verbosity } from '#cli/terminal.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The command being run, for the "see fleet-audit <cmd> --help" hint of a usage error. */
let active: Command | null = null;
const helpHint = (command: Command | null) => {
  const names: string[] = [];
  for (let c = command; c?.parent; c = c.parent) names.unshift(c.name());
  return `see ${['fleet-audit', ...names, '--help'].join(' ')}`;
};

const program = new Command('fleet-audit')
  .description('Audit EKS clusters for xtables-lock contention between kube-proxy and the VPC CNI')
  .version(version, '--version', 'print the version')
  .option('-q, --quiet', 'print results and errors only: no progress, no warnings')
  .option('-v, --verbose', 'also log each step and each AWS SDK call on stderr')
  // Commander's own messages ("error: unknown option '--x'") are rewritten into one line in the catch below.
  .configureOutput({ outputError: () => {} })
  .exitOverride();

const context: CliContext = {
  terminal: () => {
    const { quiet, verbose } = program.opts<{ quiet?: boolean; verbose?: boolean }>();
    if (quiet && verbose) throw new FlagError('--quiet and --verbose contradict each other; pass one');
    const verbosity: Verbosity = quiet ? 'quiet' : verbose ? 'verbose' : 'normal';
    return terminalOf(verbosity);
  },
};

registerRunCommands(program, context);
registerRulesCommands(program, context);
registerSuppressCommands(program, context);
registerCollectorCommand(program);

for (const command of program.commands) {
  command.configureOutput({ outputError: () => {} }).exitOverride();
  command.hook('preAction', (_, actionCommand) => {
    active = actionCommand;
  });
}

/** The command a commander error came from: the arguments that name one, and its subcommand if any. */
function commandOf(argv: ReadonlyArray<string>): Command | null {
  let found: Command | null = null;
  for (const arg of argv) {
    const next: Command | undefined = (found ?? program).commands.find(
      (c) => c.name() === arg || c.aliases().includes(arg),
    );
    if (next) found = next;
    else if (found) break;
  }
  return found;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') {
      process.exitCode = error.exitCode;
    } else {
      // "error: unknown option '--x'" → "fleet-audit: unknown option '--x' (see fleet-audit run --help)"
      const message = error.message.replace(/^error: /, '').split('\n')[0] ?? '';
      process.stderr.write(`fleet-audit: ${visibleText(message)} (${helpHint(commandOf(process.argv.slice(2)))})\n`);
      process.exitCode = EXIT_USAGE;
    }
  } else {
    // Bad input and anything else that stops the command: one line, exit 2 (the CLI has no other failure status).
    // A usage error is one line by design, so a line break in it came from data (a run id, an AWS message): it is
    // shown escaped. Anything else shows its first line.
    const text = error instanceof Error ? error.message : String(error);
    const message = error instanceof UsageError ? text : text.split('\n')[0];
    const hint = error instanceof FlagError ? ` (${helpHint(active ?? commandOf(process.argv.slice(2)))})` : '';
    process.stderr.write(`fleet-audit: ${visibleText(message ?? '')}${hint}\n`);
    if (!(error instanceof UsageError) && process.argv.includes('--verbose') && error instanceof Error) {
      process.stderr.write(`${error.stack ?? ''}\n`);
    }
    process.exitCode = EXIT_USAGE;
  }
}
