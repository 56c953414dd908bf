import type { Logger } from '@smithy/types';
import { visibleText } from '#audit/render/escape.js';

/** How much the CLI says on stderr besides results and errors. */
export type Verbosity = 'quiet' | 'normal' | 'verbose';

/** The streams the CLI writes to, as far as layout goes. */
export interface OutputStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** Where output goes and how it is laid out, decided once from the flags, the environment and the streams. */
export interface Terminal {
  /** columns stdout text fits in */
  width: number;
  /** ANSI colour on stdout */
  color: boolean;
  /** a progress line on stderr (a TTY, not quiet, not verbose: verbose logs lines instead) */
  progress: boolean;
  verbosity: Verbosity;
  stderr: OutputStream;
  /** a line on stderr unless quiet: something the user should know that is not an error */
  warn(line: string): void;
  /** a line on stderr in verbose mode only */
  debug(line: string): void;
  /** the AWS SDK clients' logger: their calls in verbose mode, nothing otherwise */
  sdkLogger: Logger | undefined;
}

/** Wider text is hard to read; a wider terminal still gets lines of at most this many columns. */
export const MAX_WIDTH = 120;
/** The width of a terminal that does not say, and of output that is not a terminal. */
export const DEFAULT_WIDTH = 80;

/**
 * The columns text should fit: `COLUMNS` when it is a positive number (set on purpose: shells do not export it),
 * else the terminal's width when stdout is one, else 80; at most {@link MAX_WIDTH}.
 */
export function widthOf(env: NodeJS.ProcessEnv, stdout: OutputStream): number {
  const fromEnv = Number(env.COLUMNS);
  const columns =
    Number.isInteger(fromEnv) && fromEnv > 0
      ? fromEnv
      : stdout.isTTY && (stdout.columns ?? 0) > 0
        ? (stdout.columns ?? DEFAULT_WIDTH)
        : DEFAULT_WIDTH;
  return Math.min(MAX_WIDTH, columns);
}

/**
 * Whether to colour a stream. FORCE_COLOR decides first, as Node's own `tty.WriteStream#getColorDepth()` does
 * (`0` or `false` turns colour off, any other value on, even when the stream is not a terminal); then NO_COLOR
 * (https://no-color.org: present and not empty turns it off) and TERM=dumb; else colour exactly on a terminal.
 * https://nodejs.org/docs/latest-v20.x/api/tty.html#writestreamgetcolordepthenv
 */
export function colorOf(env: NodeJS.ProcessEnv, stream: OutputStream): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR) return false;
  if (env.TERM === 'dumb') return false;
  return Boolean(stream.isTTY);
}

/** One line per SDK call (service, operation, status, attempts) — never the request or response bodies. */
function sdkLineLogger(write: (line: string) => void): Logger {
  const describe = (entry: unknown) => {
    const e = (entry ?? {}) as {
      clientName?: string;
      commandName?: string;
      error?: { name?: string; message?: string };
      metadata?: { httpStatusCode?: number; attempts?: number };
    };
    const client = (e.clientName ?? 'AWS').replace(/Client$/, '');
    const command = (e.commandName ?? '?').replace(/Command$/, '');
    const attempts = e.metadata?.attempts && e.metadata.attempts > 1 ? `, ${e.metadata.attempts} attempts` : '';
    if (e.error) {
      const message = (e.error.message ?? '').split('\n')[0];
      return `aws: ${client} ${command} failed${attempts}: ${e.error.name ?? 'Error'}: ${message}`;
    }
    return `aws: ${client} ${command} ${e.metadata?.httpStatusCode ?? ''}${attempts}`.trimEnd();
  };
  const line = (entry: unknown) => write(typeof entry === 'string' ? `aws: ${entry}` : describe(entry));
  return { debug: () => {}, trace: () => {}, info: line, warn: line, error: line };
}

/** The terminal of this process for the given -q/-v flags. */
export function terminalOf(
  verbosity: Verbosity,
  env: NodeJS.ProcessEnv = process.env,
  streams: { stdout: OutputStream; stderr: OutputStream } = { stdout: process.stdout, stderr: process.stderr },
): Terminal {
  const { stdout, stderr } = streams;
  // lines carry AWS error messages and cluster names: data, so it adds no line and no escape sequence
  const writeLine = (line: string) => stderr.write(`${visibleText(line)}\n`);
  return {
    width: widthOf(env, stdout),
    color: colorOf(env, stdout),
    progress: verbosity === 'normal' && Boolean(stderr.isTTY),
    verbosity,
    stderr,
    warn: (line) => {
      if (verbosity !== 'quiet') writeLine(`fleet-audit: ${line}`);
    },
    debug: (line) => {
      if (verbosity === 'verbose') writeLine(line);
    },
    sdkLogger: verbosity === 'verbose' ? sdkLineLogger(writeLine) : undefined,
  };
}

/** What the commands get from the program: the terminal, decided once the global -q/-v flags are parsed. */
export interface CliContext {
  terminal(): Terminal;
}
