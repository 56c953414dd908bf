import type { ScenarioClock } from '../scenario.js';

/**
 * Time as an execution sees it: Wait states, retry back-off and the execution time-out sleep on it. Durations are
 * in the state machine's own seconds; a clock may run them faster (the simulated fleet's time scale).
 */
export interface ExecutionClock {
  now(): Date;
  /** Sleeps `ms` of the state machine's time; rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * Real time multiplied by `timeScale` (0.02: a 30 s Wait takes 0.6 s), as the simulator scales its own latencies;
 * `now` reads the auditor's clock (default: the real time; a scenario's clock, see {@link scenarioClocks}).
 */
export function scaledClock(timeScale: number, now: () => Date = () => new Date()): ExecutionClock {
  return {
    now,
    sleep: (ms, signal) => abortableTimeout(ms * timeScale, signal),
  };
}

/**
 * The two clocks of a scenario (its `clock` section), both running on in real time from when this is called: the
 * simulated AWS's (epoch ms: the simulator's `now`, log event ages, command and query timings) and the auditor's
 * (deps.now), which is AWS's plus `skewSeconds`.
 */
export function scenarioClocks(
  clock: ScenarioClock,
  realNow: () => number = Date.now,
): { aws: () => number; auditor: () => Date } {
  const start = realNow();
  const offset = (clock.at === undefined ? 0 : Date.parse(clock.at) - start) + clock.offsetDays * 86_400_000;
  const aws = () => realNow() + offset;
  return { aws, auditor: () => new Date(aws() + clock.skewSeconds * 1000) };
}

/** A clock whose sleeps end at once (tests of long loops). Its `now` still moves on by what was slept. */
export function instantClock(start = new Date('2026-11-30T02:00:00.000Z')): ExecutionClock {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    sleep: async (ms, signal) => {
      if (signal.aborted) throw signal.reason;
      now += ms;
      await Promise.resolve();
    },
  };
}

/** A timer that rejects with the signal's reason when it aborts. */
export function abortableTimeout(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
