import { describe, expect, it } from 'vitest';
import { COLLECTOR_SCHEMA, COLLECTOR_SCHEMA_V1, parseNodeReport } from '#audit/node-report.js';

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
    expect(parsed.report.lock).toEqual({
      path: null,
      applicable: null,
      samples: 20,
      busy: 3,
      waited: null,
      waitersMax: null,
      windowMs: null,
      holders: null,
      waiters: null,
    });
    expect(parsed.report.errors).toEqual([]);
    expect('futureField' in parsed.report).toBe(false);
  });

  it('reads a v1 report with v2 fields as nulls, even where a v1 report happens to carry a field of that name', () => {
    // Arrange: v1 had no waiter lines, no window and no image backend; a stray field is not trusted
    const text = JSON.stringify({
      schema: COLLECTOR_SCHEMA_V1,
      lock: { samples: 20, busy: 20, waited: 20, holders: ['iptables-restor'] },
      kubeProxy: { syncP99Seconds: null, lastSyncAgeSeconds: 600, minSyncPeriod: '0s' },
      restarts: { awsNode: 7, awsNodeInWindow: 7 },
    });

    // Act
    const parsed = parseNodeReport(text);

    // Assert
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.report.schema).toBe('fleet-audit.collector/v1');
    expect(parsed.report.lock).toMatchObject({ samples: 20, busy: 20, waited: null, applicable: null });
    expect(parsed.report.kubeProxy).toMatchObject({
      lastSyncAgeSeconds: 600,
      lastQueuedAgeSeconds: null,
      syncP99LowerSeconds: null,
      minSyncPeriod: '0s',
      configSource: null,
    });
    expect(parsed.report.restarts).toEqual({
      awsNode: 7,
      kubeProxy: null,
      awsNodeInWindow: null,
      kubeProxyInWindow: null,
    });
  });

  it('rejects a v2 report whose waited count is more than its samples', () => {
    const text = JSON.stringify({ schema: COLLECTOR_SCHEMA, lock: { samples: 2, busy: 2, waited: 3 } });
    expect(parseNodeReport(text)).toEqual({
      ok: false,
      problem: 'field lock.waited: waited (3) is more than samples (2)',
    });
  });

  it.each([
    ['not json', 'not JSON (expected one collector JSON object)'],
    ['[1,2]', 'not a JSON object (expected one collector JSON object)'],
    [
      JSON.stringify({ schema: 'other/v9' }),
      'schema is "other/v9", expected "fleet-audit.collector/v2" or "fleet-audit.collector/v1"',
    ],
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
