import { describe, expect, it } from 'vitest';
import { ClockSchema } from '#sim/scenario.js';
import { scaledClock, scenarioClocks } from '#sim/states/clock.js';

describe('scenarioClocks', () => {
  /** A real clock the test moves: starts at a fixed instant. */
  function realClock(start = Date.parse('2026-12-07T16:00:00.000Z')) {
    let now = start;
    return { read: () => now, advance: (ms: number) => (now += ms) };
  }

  it('starts AWS at the scenario time plus the day offset and runs on in real time', () => {
    // Arrange
    const real = realClock();
    const clocks = scenarioClocks(ClockSchema.parse({ at: '2026-11-01T02:00:00Z', offsetDays: 1.5 }), real.read);

    // Act
    real.advance(90_000);

    // Assert
    expect(new Date(clocks.aws()).toISOString()).toBe('2026-11-02T14:01:30.000Z');
    expect(clocks.auditor().toISOString()).toBe('2026-11-02T14:01:30.000Z');
  });

  it('skews only the auditor, ahead or behind', () => {
    const real = realClock();
    const behind = scenarioClocks(ClockSchema.parse({ at: '2026-11-02T00:05:00Z', skewSeconds: -600 }), real.read);

    expect(new Date(behind.aws()).toISOString()).toBe('2026-11-02T00:05:00.000Z');
    expect(behind.auditor().toISOString()).toBe('2026-11-01T23:55:00.000Z');
  });

  it('is the real time without a clock section, and a state machine clock can read the auditor clock', () => {
    const real = realClock();
    const clocks = scenarioClocks(ClockSchema.parse({}), real.read);

    expect(clocks.aws()).toBe(real.read());
    expect(scaledClock(0.01, clocks.auditor).now().toISOString()).toBe('2026-12-07T16:00:00.000Z');
  });
});
