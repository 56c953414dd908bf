import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, ScenarioError } from '#sim/scenario.js';
import { mergePatch, resolveExtends, ScenarioPatchError } from '#sim/scenario-extends.js';

describe('scenario patches', () => {
  it('merges objects key by key, deletes with null, replaces other values, and patches array elements by index', () => {
    // Act
    const merged = mergePatch(
      { a: { b: 1, c: 2 }, list: [{ x: 1 }, { x: 2 }], keep: [1, 2], gone: true },
      { a: { c: 3 }, list: { '1': { x: 9, y: 1 } }, keep: [3], gone: null },
      '',
    );

    // Assert
    expect(merged).toEqual({ a: { b: 1, c: 3 }, list: [{ x: 1 }, { x: 9, y: 1 }], keep: [3] });
  });

  it.each([
    [{ list: { '2': { x: 1 } } }, /^list: "2" is not an index of its 2 elements$/],
    [{ list: { first: { x: 1 } } }, /^list: "first" is not an index/],
    [{ list: { '0': null } }, /^list\.0: an array element cannot be deleted$/],
  ])('refuses %o in one line', (patch, message) => {
    expect(() => mergePatch({ list: [{ x: 1 }, { x: 2 }] }, patch, '')).toThrow(message);
  });

  it('applies cluster patches by name wherever the cluster is, and names a cluster that is not there', () => {
    // Arrange
    const base = { accounts: [{ id: '1', regions: [{ name: 'r', clusters: [{ name: 'a', version: '1.29' }] }] }] };
    const load = () => base;

    // Act
    const patched = resolveExtends({ extends: 'base', clusters: { a: { version: '1.30' } } }, load);

    // Assert
    expect(patched).toEqual({
      accounts: [{ id: '1', regions: [{ name: 'r', clusters: [{ name: 'a', version: '1.30' }] }] }],
    });
    expect(() => resolveExtends({ extends: 'base', clusters: { b: {} } }, load)).toThrow(ScenarioPatchError);
  });

  it('loads default-org as default inside an organization: the same accounts, plus members without the audit role', () => {
    // Act
    const org = loadScenario('default-org');

    // Assert
    expect(org.accounts).toEqual(loadScenario('default').accounts);
    const members = org.organization?.members ?? [];
    const scenarioAccounts = new Set(org.accounts.map((a) => a.id));
    expect(members.filter((m) => scenarioAccounts.has(m.id)).map((m) => m.id)).toEqual([
      '111111111111',
      '222222222222',
    ]);
    expect(members.filter((m) => m.state === 'SUSPENDED').map((m) => m.id)).toEqual(['444444444444']);
  });

  it('loads default-day2 as default with its changes', () => {
    // Act
    const day1 = loadScenario('default');
    const day2 = loadScenario('default-day2');

    // Assert
    const cluster = (s: typeof day1, name: string) =>
      s.accounts.flatMap((a) => a.regions.flatMap((r) => r.clusters)).find((c) => c.name === name);
    expect(day2.clock.offsetDays).toBe(1);
    expect(day2.suppressions).toHaveLength(1);
    expect(cluster(day2, 'checkout-prod')?.nodes.map((g) => g.ssm)).toEqual(['offline', 'offline', 'offline']);
    expect(cluster(day1, 'search-staging')?.nodes[0]?.overrides['4']).toBeDefined();
    expect(cluster(day2, 'search-staging')?.nodes[0]?.overrides['4']).toBeUndefined();
    expect(cluster(day2, 'catalog-prod')).toEqual(cluster(day1, 'catalog-prod'));
  });

  it('names the file and a base that is no built-in scenario, in one line', () => {
    // Arrange
    const dir = mkdtempSync(join(tmpdir(), 'fa-extends-'));
    const file = join(dir, 'night.json');
    writeFileSync(file, JSON.stringify({ extends: 'nope', seed: 2 }));

    try {
      // Act
      const attempt = () => loadScenario(file);

      // Assert
      expect(attempt).toThrow(ScenarioError);
      expect(attempt).toThrow(
        /night\.json: extends: no built-in scenario nope \(there: default, default-day2, default-org\)$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
