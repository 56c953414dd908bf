import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { measuringScript, medianWithQuartiles, parseMeasurement, quantile } from '#bench/measure.js';

const CGROUP = { kind: 'cgroup-v1', dir: '/sys/fs/cgroup/cpuacct/fa-bench-test' } as const;

describe('bench measurement', () => {
  it('reads wall time from the two $EPOCHREALTIME stamps, across a second boundary, and cgroup CPU in ms', () => {
    // Arrange
    const printed = 'wall 1733580000.923456 1733580001.000001\ncpu_us 152100 left 1\n';

    // Act
    const sample = parseMeasurement(CGROUP, printed);

    // Assert
    expect(sample.wallMs).toBeCloseTo(76.545, 6);
    expect(sample.cpuMs).toBe(152.1);
    expect(sample.left).toBe(1);
  });

  it("reads CPU from the children's line of bash's times when there is no cgroup", () => {
    // Arrange
    const printed = 'wall 10.000000 10.250000\n0m0.010s 0m0.002s\n0m0.120s 1m0.030s\n';

    // Act
    const sample = parseMeasurement({ kind: 'times' }, printed);

    // Assert
    expect(sample.wallMs).toBe(250);
    expect(sample.cpuMs).toBeCloseTo(60_150, 6);
  });

  it('says what it expected when the measurement printed no wall time', () => {
    expect(() => parseMeasurement(CGROUP, 'cpu_us 5 left 1\n')).toThrow(
      'unexpected measurement output (no wall time): cpu_us 5 left 1',
    );
  });

  it('runs under a real bash and prints what parseMeasurement reads, without a cgroup', () => {
    // Arrange
    const script = measuringScript({ kind: 'times' }, 'echo hidden');

    // Act
    const printed = execFileSync('bash', ['-c', script], { encoding: 'utf8' });

    // Assert
    expect(printed).not.toContain('hidden');
    expect(printed).toMatch(/^wall \d+\.\d{6} \d+\.\d{6}\n/);
    expect(parseMeasurement({ kind: 'times' }, printed).left).toBe(0);
  });

  it('gives interpolated quartiles and prints the median with them', () => {
    // Arrange
    const values = [40, 10, 30, 20, 50];

    // Act / Assert
    expect(quantile(values, 0.5)).toBe(30);
    expect(quantile([10, 20, 30, 40], 0.5)).toBe(25);
    expect(medianWithQuartiles(values)).toBe('30.0 [20-40] ms');
  });
});
