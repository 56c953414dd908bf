import type { Command } from 'commander';
import { visibleText as visible } from '#audit/render/escape.js';
import { textTable } from '#audit/render/text.js';
import {
  isActive,
  type Suppression,
  SuppressionInputError,
  type SuppressionRequest,
  suppressionFrom,
  suppressionId,
} from '#audit/suppressions.js';
import { FlagError, UsageError } from '#cli/errors.js';
import { openStore, type StoreFlags, storeOptions } from '#cli/run-commands.js';
import type { CliContext, Terminal } from '#cli/terminal.js';

interface SuppressStoreFlags {
  local?: boolean;
  stateDir: string;
  table?: string;
  tableRegion?: string;
  profile?: string;
}

interface AddFlags extends SuppressStoreFlags, SuppressionRequest {}

interface ListFlags extends SuppressStoreFlags {
  expired?: boolean;
  json?: boolean;
}

/** Where suppressions live; `--region` belongs to the suppression's scope here, so the table's is `--table-region`. */
const suppressStoreOptions = (command: Command) => storeOptions(command, '--table-region');

const storeFlags = (flags: SuppressStoreFlags): StoreFlags => ({
  stateDir: flags.stateDir,
  ...(flags.local && { local: true }),
  ...(flags.table && { table: flags.table }),
  ...(flags.tableRegion && { region: flags.tableRegion }),
  ...(flags.profile && { profile: flags.profile }),
});

/** `suppress add|list|remove`: a team silences a finding it knows about, with a reason, an owner and an end. */
export function registerSuppressCommands(program: Command, context: CliContext): void {
  const suppress = program
    .command('suppress')
    .description('silence a rule on part of the fleet until a date, with a reason and an owner');

  suppressStoreOptions(
    suppress
      .command('add')
      .description('add a suppression (or replace the one with the same scope and rule)')
      .requiredOption('--rule <id>', 'the rule id (fleet-audit rules lists them), or * for every rule')
      .option('--account <id>', 'only this account (default: every account)')
      .option('--region <region>', 'only this region (default: every region)')
      .option('--cluster <name>', 'only this cluster (default: every cluster)')
      .requiredOption('--reason <text>', 'why the finding is accepted for now')
      .requiredOption('--owner <who>', 'who answers for it')
      .requiredOption(
        '--expires <date>',
        'when it ends: a date (2027-03-31, through the end of that day UTC) or an ISO 8601 time; at most a year',
      ),
  ).action(async (flags: AddFlags) => {
    const terminal = context.terminal();
    let suppression: Suppression;
    try {
      suppression = suppressionFrom(flags, new Date());
    } catch (error) {
      if (error instanceof SuppressionInputError) throw new FlagError(error.message);
      throw error;
    }
    const opened = await openStore(storeFlags(flags), terminal, 'suppress add', '--table-region');
    try {
      const replaced = await opened.call(() => opened.store.putSuppression(suppression));
      const id = suppressionId(suppression);
      const until = suppression.expiresAt.replace('.000Z', 'Z');
      process.stdout.write(
        `${replaced ? 'Replaced' : 'Added'} suppression ${id} until ${until} (owner ${visible(suppression.owner)}).\n`,
      );
    } finally {
      await opened.close();
    }
  });

  suppressStoreOptions(
    suppress
      .command('list')
      .description('list the suppressions in force (with --expired: the ones that have ended)')
      .option('--expired', 'list the expired suppressions instead')
      .option('--json', 'print a JSON array'),
  ).action(async (flags: ListFlags) => {
    const terminal = context.terminal();
    const opened = await openStore(storeFlags(flags), terminal, 'suppress list', '--table-region');
    try {
      const now = new Date().toISOString();
      const all = await opened.call(() => opened.store.suppressions());
      const shown = all
        .filter((s) => isActive(s, now) !== Boolean(flags.expired))
        .sort((a, b) => a.expiresAt.localeCompare(b.expiresAt) || suppressionId(a).localeCompare(suppressionId(b)));
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify(
            shown.map((s) => ({ id: suppressionId(s), ...s })),
            null,
            2,
          )}\n`,
        );
      } else if (shown.length === 0) {
        process.stdout.write(`No ${flags.expired ? 'expired' : 'active'} suppression in ${opened.source}.\n`);
      } else {
        process.stdout.write(suppressionTable(shown, terminal));
      }
    } finally {
      await opened.close();
    }
  });

  suppressStoreOptions(
    suppress
      .command('remove')
      .description('remove a suppression by its id (as `suppress list` shows it)')
      .argument('<id>', 'the suppression id: <account>/<region>/<cluster>/<rule>'),
  ).action(async (id: string, flags: SuppressStoreFlags) => {
    const terminal = context.terminal();
    if (id.split('/').length !== 4) {
      throw new FlagError(`${JSON.stringify(id)} is not a suppression id (<account>/<region>/<cluster>/<rule>)`);
    }
    const opened = await openStore(storeFlags(flags), terminal, 'suppress remove', '--table-region');
    try {
      const removed = await opened.call(() => opened.store.deleteSuppression(id));
      if (!removed) {
        throw new UsageError(
          `no suppression ${id} in ${opened.source}; \`fleet-audit suppress list\` (and --expired) shows them`,
        );
      }
      process.stdout.write(`Removed suppression ${id}.\n`);
    } finally {
      await opened.close();
    }
  });

  for (const command of suppress.commands) command.configureOutput({ outputError: () => {} }).exitOverride();
}

function suppressionTable(shown: ReadonlyArray<Suppression>, terminal: Terminal): string {
  const rows = shown.map((s) => [
    suppressionId(s),
    s.expiresAt.slice(0, 16).replace('T', ' '),
    visible(s.owner),
    visible(s.reason),
  ]);
  return `${textTable(['ID', 'EXPIRES (UTC)', 'OWNER', 'REASON'], rows, { width: terminal.width }).join('\n')}\n`;
}
