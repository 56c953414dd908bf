import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTOR_MAX_BYTES } from '#audit/node-report.js';
import { loadedNamespace, loadRuleset, removeNetnsAndDir, runCollector, savedRuleset, section } from './harness.js';
import { generateKubeRuleset } from './kube-ruleset.js';

// 5,000 Services: exact counts, output within its byte limit and the whole run within 15 s, with the
// collector's own default lock sampling (20 samples over 2 s) on an existing private lock file.

const ruleset = generateKubeRuleset({ services: 5000 });

describe.each(['legacy', 'nft'] as const)('a 5,000-Service ruleset in iptables-%s', (backend) => {
  let netns: string;
  let dir: string;
  let lockFile: string;
  let before: string;

  beforeAll(async () => {
    // iptables-nft never creates the lock file; on nodes it exists because aws-node mounts it (FileOrCreate).
    ({ netns, dir, lockFile, before } = await loadedNamespace(backend, ruleset.text, { createLockFile: true }));
  }, 120_000);
  afterAll(() => removeNetnsAndDir(netns, dir));

  it('is counted exactly in under 15 s, in at most 2,400 bytes, and left identical', async () => {
    // Arrange
    const total = ruleset.expected.rules.total;

    // Act
    const run = await runCollector({
      netns,
      env: { XTABLES_LOCKFILE: lockFile },
      lockSampling: 'collector-default',
    });

    // Assert
    expect(run.wallMs).toBeLessThan(15_000);
    expect(Buffer.byteLength(run.stdout)).toBeLessThanOrEqual(COLLECTOR_MAX_BYTES);
    expect(section(run, 'iptables')).toMatchObject({
      backend,
      legacyRules: backend === 'legacy' ? total : 0,
      nftRules: backend === 'nft' ? total : 0,
      rules: { total: 41192, nat: 40512, filter: 678, mangle: 2, raw: 0 },
      chains: { nat: 15008, filter: 8 },
      kubeServiceChains: 4500,
      kubeEndpointChains: 9000,
    });
    expect(section(run, 'lock')).toMatchObject({ samples: 20, busy: 0, holders: [] });
    expect(await savedRuleset(netns, backend)).toBe(before);
  });

  it('is still the one described, as mixed, after 1,000 Services land in the other backend', async () => {
    // Arrange
    const other = backend === 'legacy' ? 'nft' : 'legacy';
    const smaller = generateKubeRuleset({ services: 1000, namespace: 'other' });
    await loadRuleset(netns, other, smaller.text, lockFile);

    // Act
    const run = await runCollector({ netns, env: { XTABLES_LOCKFILE: lockFile } });

    // Assert
    expect(Buffer.byteLength(run.stdout)).toBeLessThanOrEqual(COLLECTOR_MAX_BYTES);
    expect(section(run, 'iptables')).toMatchObject({
      backend: 'mixed',
      legacyRules: backend === 'legacy' ? 41192 : 8259,
      nftRules: backend === 'nft' ? 41192 : 8259,
      rules: { total: 41192, nat: 40512, filter: 678, mangle: 2, raw: 0 },
      kubeServiceChains: 4500,
      kubeEndpointChains: 9000,
    });
    expect(await savedRuleset(netns, backend)).toBe(before);
  });
});
