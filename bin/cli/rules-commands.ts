import type { Command } from 'commander';
import { UsageError } from '#cli/errors.js';

/** Placeholder until this command lands: says so and exits 2. */
export function registerRulesCommands(program: Command): void {
  program
    .command('rules')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('the rules command is not built yet');
    });
}
