import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderRunAsff } from '#audit/render/asff.js';
import { openLocalFleet } from '#sim/local-fleet.js';
import { loadScenario, parseScenario } from '#sim/scenario.js';
import { runAudit } from '#workflow/audit-run.js';

/**
 * The report step's nightly Security Hub import (securityHubImport) against the simulator through the real SDK:
 * each account's findings sent from that account into its clusters' regions, a failing account one line while
 * the others are imported, and a finding RESOLVED the next night archived in Security Hub.
 */
describe('the nightly Security Hub import', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fa-sechub-'));
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  async function night(name: string, faults: unknown[] = []) {
    const base = loadScenario(name);
    const scenario = parseScenario({ ...base, faults: [...base.faults, ...faults] }, `${name} for the import`);
    const fleet = await openLocalFleet({ scenario, stateDir, fresh: name === 'default', clusters: [] });
    try {
      const deps = { ...fleet.deps, settings: { ...fleet.deps.settings, securityHubImport: true } };
      const output = await runAudit(deps, { pollIntervalMs: fleet.pollIntervalMs });
      const stored = (account: string, region: string) =>
        fleet.simulator.fleet.region(account, region).securityHubFindings;
      return { output, stored };
    } finally {
      await fleet.close();
    }
  }

  it('imports every account’s findings from that account, and names the account whose import failed', async () => {
    const { output, stored } = await night('default', [
      { api: 'securityhub:BatchImportFindings', account: '222222222222', serverError: 1 },
    ]);
    const asff = renderRunAsff(output.result);
    const regionOf = (arn: string) => arn.split(':')[3] ?? '';
    const shop = asff.filter((f) => f.AwsAccountId === '111111111111');
    const platform = asff.filter((f) => f.AwsAccountId === '222222222222');
    expect(shop.length).toBeGreaterThan(3);
    expect(platform.length).toBeGreaterThan(0);
    for (const finding of shop) {
      expect(stored('111111111111', regionOf(finding.ProductArn)).get(finding.Id), finding.Id).toEqual(finding);
    }
    expect(output.securityHub).toMatchObject({ imported: shop.length, notImported: platform.length });
    const regions = [...new Set(platform.map((f) => regionOf(f.ProductArn)))];
    expect(output.securityHub?.problems).toHaveLength(regions.length);
    for (const problem of output.securityHub?.problems ?? []) {
      expect(problem).toMatch(/^Security Hub import in 222222222222\/[a-z0-9-]+ failed: /);
    }
    // the run and its digest do not depend on it
    expect(output.result.status).not.toBe('FAILED');
    expect(output.alertProblem).toBeNull();
  }, 120_000);

  it('archives in Security Hub the finding that RESOLVED the next night', async () => {
    const { output, stored } = await night('default-day2');
    const staging = output.result.clusters.find((c) => c.name === 'search-staging');
    expect(staging?.findings.find((f) => f.ruleId === 'IPT-MIXED-BACKEND')?.state).toBe('RESOLVED');
    const resolved = renderRunAsff(output.result).find(
      (f) => f.GeneratorId.endsWith('/IPT-MIXED-BACKEND') && f.Resources[0]?.Id.endsWith('/search-staging'),
    );
    expect(resolved).toBeDefined();
    expect(stored(staging?.account ?? '', staging?.region ?? '').get(resolved?.Id ?? '')).toMatchObject({
      RecordState: 'ARCHIVED',
      Workflow: { Status: 'RESOLVED' },
    });
    expect(output.securityHub?.problems).toEqual([]);
  }, 120_000);
});
