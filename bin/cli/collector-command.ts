import type { Command } from 'commander';
import { UsageError } from '#cli/errors.js';

/** Placeholder until this command lands: says so and exits 2. */
export function registerCollectorCommand(program: Command): void {
  program
    .command('collector')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('the collector command is not built yet');
    });
}
