import { Command, CommanderError } from 'commander';
import { registerCollectorCommand } from '#cli/collector-command.js';
import { EXIT_USAGE } from '#cli/errors.js';
import { registerRulesCommands } from '#cli/rules-commands.js';
import { registerRunCommands } from '#cli/run-commands.js';

const program = new Command('fleet-audit')
  .description('Audit EKS clusters for xtables-lock contention between kube-proxy and the VPC CNI')
  .showHelpAfterError()
  .exitOverride();

registerRunCommands(program);
registerRulesCommands(program);
registerCollectorCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    // Bad input (UsageError) and anything else that stops the command: one line, exit 2 (ARCHITECTURE §6 has
    // no other failure status).
    process.stderr.write(`fleet-audit: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT_USAGE;
  }
}
