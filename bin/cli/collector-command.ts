import type { Command } from 'commander';
import { readCollectorScript } from '../../collector/script.js';

/** `fleet-audit collector`: prints the node collector script, byte for byte, to run or review by hand. */
export function registerCollectorCommand(program: Command): void {
  program
    .command('collector')
    .description('print the node collector script (collector/collect.sh)')
    .action(() => {
      process.stdout.write(readCollectorScript());
    });
}
