/** Bad input from the user: printed as one line on stderr, exit status 2 (ARCHITECTURE §6). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit status for findings at or above --fail-on. */
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
