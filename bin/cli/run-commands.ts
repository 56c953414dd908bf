import type { Command } from 'commander';
import { UsageError } from '#cli/errors.js';

/** Placeholder until this command lands: says so and exits 2. */
export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('the run command is not built yet');
    });
}
