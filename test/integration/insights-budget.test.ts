import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLocalFleet } from '#sim/local-fleet.js';
import { loadScenario, parseScenario } from '#sim/scenario.js';
import { runAudit } from '#workflow/audit-run.js';

/**
 * The Logs Insights budget (logsInsightsBudget, held in the table) through a whole local run against the
 * simulator, whose accounts enforce the concurrent-query quota: a busy account slows the audit, and loses nothing.
 * Other teams hold 99 of the 100 slots of every account and region, so two of the audit's queries at once in one
 * region would be refused (LimitExceededException); each region of the default fleet has two clusters with logs.
 */
describe('the Logs Insights budget shared by the clusters of an account and region', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fa-budget-'));
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  async function night(budget: number) {
    const base = loadScenario('default');
    const scenario = parseScenario(
      {
        ...base,
        // a query runs two simulated minutes: the two clusters of a region overlap, and each waits for the other
        timing: { ...base.timing, queryMs: 120_000 },
        accounts: base.accounts.map((a) => ({
          ...a,
          regions: a.regions.map((r) => ({ ...r, insightsQueriesInUse: 99 })),
        })),
      },
      'default with the quota nearly in use',
    );
    const fleet = await openLocalFleet({ scenario, stateDir, fresh: true, clusters: [] });
    try {
      const deps = { ...fleet.deps, settings: { ...fleet.deps.settings, logsInsightsBudget: budget } };
      const warnings: string[] = [];
      const output = await runAudit(deps, { pollIntervalMs: fleet.pollIntervalMs, warn: (l) => warnings.push(l) });
      const snapshots = await Promise.all(
        output.result.clusters.map((c) => deps.store.getSnapshot(c, output.result.runId, output.result.startedAt)),
      );
      // the account whose clusters have log groups (222222222222's have none: ResourceNotFoundException)
      const starts = fleet.simulator.calls
        .filter((c) => c.action === 'StartQuery' && c.account === '111111111111')
        .map((c) => c.status);
      const held = await deps.store.slots.held('logs-insights#111111111111#eu-west-1');
      return { output, snapshots, starts, warnings, held };
    } finally {
      await fleet.close();
    }
  }

  it('with a budget of one query, never meets the quota and reads every cluster’s log signals', async () => {
    const { snapshots, starts, warnings, held } = await night(1);
    const withLogs = snapshots.filter((s) => s?.sources?.logs.state !== 'MISSING');
    expect(withLogs).toHaveLength(4);
    for (const s of withLogs) expect(s?.sources?.logs, s?.cluster.name).toEqual({ state: 'PRESENT', reason: null });
    expect(starts).toEqual([200, 200, 200, 200]);
    expect(warnings.filter((w) => w.includes('Logs Insights'))).toEqual([]);
    expect(held).toEqual([]);
  }, 120_000);

  it('with room in the budget but not in the quota, puts refused queries off and still reads every signal', async () => {
    const { snapshots, starts } = await night(50);
    const withLogs = snapshots.filter((s) => s?.sources?.logs.state !== 'MISSING');
    for (const s of withLogs) expect(s?.sources?.logs, s?.cluster.name).toEqual({ state: 'PRESENT', reason: null });
    expect(starts.filter((s) => s === 200)).toHaveLength(4);
    // the quota refused the second query of a region at least once
    expect(starts.filter((s) => s === 400).length).toBeGreaterThan(0);
  }, 120_000);
});
