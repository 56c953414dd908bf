import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '#audit/model.js';
import { runCli } from './cli-process.js';

/** The README's second-night path: `npm start`, then `run --local --scenario default-day2`, then the same again. */
describe('the second night (default-day2) after the default scenario', () => {
  let stateDir: string;
  let nights: RunResult[];
  let outbox: Array<string[]>;

  const states = (run: RunResult, cluster: string) =>
    Object.fromEntries((run.clusters.find((c) => c.name === cluster)?.findings ?? []).map((f) => [f.ruleId, f.state]));
  const digests = () =>
    readFileSync(join(stateDir, 'outbox.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { parts: { email: string } });

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fa-day2-'));
    nights = [];
    outbox = [];
    for (const scenario of ['default', 'default-day2', 'default-day2']) {
      const outcome = await runCli(['run', '--local', '--scenario', scenario, '--state-dir', stateDir, '--json']);
      nights.push(JSON.parse(outcome.stdout) as RunResult);
      outbox.push(digests().map((d) => d.parts.email));
    }
  }, 180_000);
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it('runs a day later by the scenario clock', () => {
    const [first, second] = nights;
    const days = (Date.parse(second?.startedAt ?? '') - Date.parse(first?.startedAt ?? '')) / 86_400_000;
    expect(days).toBeGreaterThan(0.99);
    expect(days).toBeLessThan(1.01);
  });

  it('shows the fixed finding RESOLVED, the worse one WORSENED and the suppressed one SUPPRESSED', () => {
    expect(states(nights[1] as RunResult, 'search-staging')).toMatchObject({
      'IPT-MIXED-BACKEND': 'RESOLVED',
      'CNI-RESTARTS': 'WORSENED',
      'KP-IPTABLES-SCALE': 'SUPPRESSED',
    });
  });

  it('keeps every finding of the cluster whose nodes cannot be reached UNKNOWN with a reason, none RESOLVED', () => {
    const before = states(nights[0] as RunResult, 'checkout-prod');
    const after = nights[1]?.clusters.find((c) => c.name === 'checkout-prod');
    expect(Object.keys(before).length).toBeGreaterThan(5);
    for (const ruleId of Object.keys(before)) {
      const finding = after?.findings.find((f) => f.ruleId === ruleId);
      expect(finding?.state, ruleId).toBe('UNKNOWN');
      expect(finding?.stateReason, ruleId).toMatch(/\S/);
    }
    expect(after?.findings.filter((f) => f.state === 'RESOLVED')).toEqual([]);
  });

  it('publishes exactly one digest for the second night, with its changes, and nothing on a third identical night', () => {
    const [first, second, third] = outbox;
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(2);
    expect(third).toHaveLength(2);
    const night = second?.[1] ?? '';
    expect(night).toMatch(/RESOLVED HIGH IPT-MIXED-BACKEND/);
    expect(night).toMatch(/WORSENED HIGH CNI-RESTARTS/);
    expect(night).not.toMatch(/KP-IPTABLES-SCALE/);
  });
});
