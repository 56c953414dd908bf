/** Bad input from the user: printed as one line on stderr, exit status 2. */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
}

/** A usage error in the flags themselves: its line ends with "see fleet-audit <command> --help". */
export class FlagError extends UsageError {
  override readonly name: string = 'FlagError';
}

/** Exit status for findings at or above --fail-on. */
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
