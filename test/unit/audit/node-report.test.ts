import { describe, expect, it } from 'vitest';
import { COLLECTOR_SCHEMA, parseNodeReport } from '#audit/node-report.js';

describe('parseNodeReport', () => {
  it('reads a report with missing sections as nulls and drops unknown fields', () => {
    // Arrange
    const text = JSON.stringify({ schema: COLLECTOR_SCHEMA, lock: { samples: 20, busy: 3 }, futureField: 1 });

    // Act
    const parsed = parseNodeReport(text);

    // Assert
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.report.iptables).toBeNull();
    expect(parsed.report.lock).toEqual({ path: null, samples: 20, busy: 3, windowMs: null, holders: null });
    expect(parsed.report.errors).toEqual([]);
    expect('futureField' in parsed.report).toBe(false);
  });

  it.each([
    ['not json', 'not JSON (expected one collector JSON object)'],
    ['[1,2]', 'not a JSON object (expected one collector JSON object)'],
    [JSON.stringify({ schema: 'other/v9' }), 'schema is "other/v9", expected "fleet-audit.collector/v1"'],
    [
      JSON.stringify({ schema: COLLECTOR_SCHEMA, restarts: { awsNode: -1 } }),
      'field restarts.awsNode: Too small: expected number to be >=0',
    ],
    [
      JSON.stringify({ schema: COLLECTOR_SCHEMA, iptables: { saveMs: 'slow' } }),
      'field iptables.saveMs: Invalid input: expected number, received string',
    ],
    [
      JSON.stringify({ schema: COLLECTOR_SCHEMA, lock: { samples: 2, busy: 3 } }),
      'field lock.busy: busy (3) is more than samples (2)',
    ],
  ])('rejects %s with one line naming the problem', (text, problem) => {
    expect(parseNodeReport(text)).toEqual({ ok: false, problem });
  });
});
