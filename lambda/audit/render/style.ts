import type { FindingState, Severity } from '../model.js';

/**
 * ANSI styling for the text renderers. The caller decides whether colour is wanted (a TTY, NO_COLOR, FORCE_COLOR):
 * this module only paints. Without colour every function returns its text unchanged, so widths are measured on
 * plain text and painting never changes where a line breaks.
 */
export interface TextStyle {
  readonly color: boolean;
  bold(text: string): string;
  dim(text: string): string;
  severity(severity: Severity, text?: string): string;
  state(state: FindingState, text?: string): string;
  /** a 0–100 health score (null: not audited) */
  score(score: number | null, text: string): string;
}

const SGR = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  magenta: [35, 39],
  cyan: [36, 39],
} as const;

const paint = (codes: ReadonlyArray<readonly [number, number]>, text: string) =>
  codes.reduce((t, [on, off]) => `\u001b[${on}m${t}\u001b[${off}m`, text);

const SEVERITY_PAINT: Record<Severity, ReadonlyArray<readonly [number, number]>> = {
  CRITICAL: [SGR.magenta, SGR.bold],
  HIGH: [SGR.red, SGR.bold],
  MEDIUM: [SGR.yellow],
  LOW: [SGR.cyan],
  INFO: [SGR.dim],
};

/** A style that paints with ANSI SGR codes when `color` is true, and returns text as it is otherwise. */
export function textStyle(color: boolean): TextStyle {
  if (!color) {
    const same = (_: unknown, text?: string) => text ?? String(_);
    return {
      color,
      bold: (t) => t,
      dim: (t) => t,
      severity: (s, t) => same(s, t),
      state: (s, t) => same(s, t),
      score: (_, t) => t,
    };
  }
  return {
    color,
    bold: (t) => paint([SGR.bold], t),
    dim: (t) => paint([SGR.dim], t),
    severity: (s, t = s) => paint(SEVERITY_PAINT[s], t),
    state: (s, t = s) =>
      s === 'RESOLVED'
        ? paint([SGR.green], t)
        : s === 'WORSENED' || s === 'NEW'
          ? paint([SGR.bold], t)
          : s === 'UNKNOWN' || s === 'SUPPRESSED'
            ? paint([SGR.dim], t)
            : t,
    score: (score, t) =>
      score === null ? paint([SGR.dim], t) : paint([score >= 90 ? SGR.green : score >= 70 ? SGR.yellow : SGR.red], t),
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
const ANSI = /\u001b\[[0-9;]*m/g;

/** Text without ANSI SGR sequences: what a terminal shows, for measuring widths. */
export function plainText(text: string): string {
  return text.replace(ANSI, '');
}
