import type { RunObserver } from '#workflow/runner.js';
import type { Terminal } from './terminal.js';

/** A run observer that can be put away: it stops its clock and clears its line. */
export interface RunReporter extends RunObserver {
  /** one warning line on stderr; on a terminal the progress line is erased first and drawn again after it */
  note(line: string): void;
  stop(): void;
}

/** "0:07", "12:30": minutes and seconds since the run started. */
export function elapsedText(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** The progress line: clusters done of all, nodes read of those found so far, time since the start. */
export function progressLine(
  state: { done: number; total: number | null; reached: number; expected: number },
  ms: number,
) {
  const clusters = state.total === null ? 'planning' : `${state.done}/${state.total} clusters done`;
  return `fleet-audit: ${clusters} · ${state.reached}/${state.expected} nodes read · ${elapsedText(ms)}`;
}

/**
 * What `run` shows while it waits: on a terminal one progress line on stderr, redrawn in place (carriage return,
 * erase line) as clusters finish and every second for the clock, and erased at the end; with --verbose one line
 * per step instead; nothing otherwise (--quiet, --json, or stderr not a terminal).
 */
export function runReporter(terminal: Terminal, now: () => number = Date.now): RunReporter {
  const started = now();
  const state = { done: 0, total: null as number | null, reached: 0, expected: 0 };
  if (terminal.verbosity === 'verbose') {
    return {
      planned: (plan) => terminal.debug(`plan: run ${plan.runId}, ${plan.clusters.length} clusters`),
      discovered: (s) => {
        const query = s.query ? `log query on ${s.query.logGroup}` : (s.queryProblem ?? 'no log query');
        terminal.debug(`discover ${s.name}: ${s.nodes.expected} nodes, collector sent to ${s.nodes.pending}; ${query}`);
      },
      polled: (s, r) =>
        terminal.debug(
          `poll ${s.name}: commands ${r.commandsDone ? 'done' : 'running'}, query ${r.queryDone ? 'done' : 'running'}`,
        ),
      clusterDone: (o) =>
        terminal.debug(
          `assess ${o.name}: ${o.status}, score ${o.score ?? 'none'}, ${o.nodes.reached}/${o.nodes.expected} nodes read`,
        ),
      note: (line) => terminal.warn(line),
      stop: () => {},
    };
  }
  if (!terminal.progress) return { note: (line) => terminal.warn(line), stop: () => {} };
  const { stderr } = terminal;
  let shown = '';
  const draw = () => {
    const columns = stderr.columns && stderr.columns > 1 ? stderr.columns - 1 : 79;
    const line = progressLine(state, now() - started).slice(0, columns);
    if (line === shown) return;
    shown = line;
    stderr.write(`\r\u001b[2K${line}`);
  };
  const clock = setInterval(draw, 1000);
  clock.unref();
  draw();
  return {
    planned: (plan) => {
      state.total = plan.clusters.length;
      draw();
    },
    discovered: (s) => {
      state.expected += s.nodes.expected;
      draw();
    },
    clusterDone: (o) => {
      state.done += 1;
      state.reached += o.nodes.reached;
      // a cluster that failed before discovery was never counted as expected
      state.expected = Math.max(state.expected, state.reached);
      draw();
    },
    note: (line) => {
      if (shown) stderr.write('\r\u001b[2K');
      shown = '';
      terminal.warn(line);
      draw();
    },
    stop: () => {
      clearInterval(clock);
      if (shown) stderr.write('\r\u001b[2K');
      shown = '';
    },
  };
}
