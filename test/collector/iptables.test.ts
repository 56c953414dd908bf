import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  awkPathDir,
  type Backend,
  type CollectorRun,
  createNetns,
  deleteNetns,
  hiding,
  loadedNamespace,
  loadRuleset,
  makeTempDir,
  removeDir,
  removeNetnsAndDir,
  runCollector,
  savedRuleset,
  section,
} from './harness.js';
import { generateKubeRuleset, type KubeRuleset } from './kube-ruleset.js';

// The collector's iptables section against generated kube-proxy rulesets loaded into real iptables, inside
// network namespaces made for each group and removed afterwards.

const awkDirs = { gawk: '', mawk: '', busybox: '' };
beforeAll(() => {
  for (const awk of ['gawk', 'mawk', 'busybox'] as const) awkDirs[awk] = awkPathDir(awk);
});
afterAll(() => {
  for (const dir of Object.values(awkDirs)) removeDir(dir);
});

/** The iptables section the collector must print for `ruleset` being the one that holds kube-proxy's rules. */
function expectedIptables(
  ruleset: KubeRuleset,
  backend: 'legacy' | 'nft' | 'mixed',
  legacyRules: number | null,
  nftRules: number | null,
) {
  const { expected } = ruleset;
  return {
    backend,
    legacyRules,
    nftRules,
    rules: expected.rules,
    chains: { nat: expected.chains.nat, filter: expected.chains.filter },
    kubeServiceChains: expected.kubeServiceChains,
    kubeEndpointChains: expected.kubeEndpointChains,
  };
}

function expectSaveTimeAndVersion(run: CollectorRun, flavour: 'legacy' | 'nf_tables') {
  const iptables = section(run, 'iptables');
  expect(iptables.saveMs).toEqual(expect.any(Number));
  expect(iptables.version).toMatch(new RegExp(`^v1\\.\\d+\\.\\d+ \\(${flavour}\\)$`));
}

describe('a 1,000-Service ruleset in iptables-legacy', () => {
  const ruleset = generateKubeRuleset({ services: 1000 });
  let netns: string;
  let dir: string;
  let before: string;

  beforeAll(async () => {
    ({ netns, dir, before } = await loadedNamespace('legacy', ruleset.text));
  });
  afterAll(() => removeNetnsAndDir(netns, dir));

  it('is generated with ClusterIP and NodePort Services and Services without endpoints', () => {
    // Arrange, Act: the generator's own bookkeeping
    const { expected } = ruleset;

    // Assert
    expect(expected.clusterIpServices).toBe(667);
    expect(expected.nodePortServices).toBe(333);
    expect(expected.servicesWithoutEndpoints).toBe(100);
    expect(expected.kubeServiceChains).toBe(900);
  });

  it.each(['gawk', 'mawk', 'busybox'] as const)('is counted exactly, backend legacy, when awk is %s', async (awk) => {
    // Arrange
    const pathPrefix = awkDirs[awk];

    // Act
    const run = await runCollector({ netns, pathPrefix });

    // Assert
    expect(run.exitCode).toBe(0);
    expect(section(run, 'iptables')).toMatchObject(expectedIptables(ruleset, 'legacy', 8259, 0));
    expectSaveTimeAndVersion(run, 'legacy');
  });

  it('is identical before and after the collector ran', async () => {
    // Arrange: three collector runs happened above

    // Act
    const after = await savedRuleset(netns, 'legacy');

    // Assert
    expect(after).toBe(before);
    expect(before).toContain(':KUBE-SERVICES - [counters]');
  });

  it('makes the backend mixed, described by legacy, when iptables-nft holds fewer kube-proxy rules', async () => {
    // Arrange
    const nftRuleset = generateKubeRuleset({ services: 200, namespace: 'other' });
    await loadRuleset(netns, 'nft', nftRuleset.text, join(dir, 'xtables.lock'));
    const nftBefore = await savedRuleset(netns, 'nft');

    // Act
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'iptables')).toMatchObject(
      expectedIptables(ruleset, 'mixed', ruleset.expected.rules.total, nftRuleset.expected.rules.total),
    );
    expectSaveTimeAndVersion(run, 'legacy');
    expect(await savedRuleset(netns, 'nft')).toBe(nftBefore);
    expect(await savedRuleset(netns, 'legacy')).toBe(before);
  });
});

describe('a 1,000-Service ruleset in iptables-nft', () => {
  const ruleset = generateKubeRuleset({ services: 1000 });
  let netns: string;
  let dir: string;
  let before: string;

  beforeAll(async () => {
    ({ netns, dir, before } = await loadedNamespace('nft', ruleset.text));
  });
  afterAll(() => removeNetnsAndDir(netns, dir));

  it('is counted exactly, backend nft, and left identical', async () => {
    // Arrange: loaded above

    // Act
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'iptables')).toMatchObject(expectedIptables(ruleset, 'nft', 0, 8259));
    expectSaveTimeAndVersion(run, 'nf_tables');
    expect(await savedRuleset(netns, 'nft')).toBe(before);
  });

  it('reports legacyRules null on a node without iptables-legacy-save (AL2023 without the legacy package)', async () => {
    // Arrange
    const withoutLegacy = hiding('/usr/sbin/iptables-legacy-save', '/sbin/iptables-legacy-save');

    // Act
    const run = await runCollector({ netns, prefix: withoutLegacy });

    // Assert
    expect(section(run, 'iptables')).toMatchObject({
      ...expectedIptables(ruleset, 'nft', null, 8259),
      legacyTablesWarning: false,
    });
  });

  it('reads the backend from iptables-save’s own binary when neither suffixed save tool exists', async () => {
    // Arrange: a private /usr/sbin holding only iptables-save, a link to the nft multi-call binary
    const plainOnly = [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-ec',
      [
        'multi=$(readlink -f /usr/sbin/iptables-nft-save); name=$(basename "$multi"); keep=$(mktemp -d)',
        'cp "$multi" "$keep/"; mount -t tmpfs tmpfs /usr/sbin; cp "$keep/$name" /usr/sbin/; rm -rf "$keep"',
        'ln -s "$name" /usr/sbin/iptables-save; exec "$@"',
      ].join('; '),
      'plain-save-only',
    ];

    // Act
    const run = await runCollector({ netns, prefix: plainOnly });

    // Assert
    expect(section(run, 'iptables')).toMatchObject(expectedIptables(ruleset, 'nft', null, 8259));
    expectSaveTimeAndVersion(run, 'nf_tables');
  });

  it('makes the backend mixed, described by nft, when iptables-legacy holds fewer kube-proxy rules', async () => {
    // Arrange
    const legacyRuleset = generateKubeRuleset({ services: 50, namespace: 'stale' });
    await loadRuleset(netns, 'legacy', legacyRuleset.text, join(dir, 'xtables.lock'));

    // Act
    const run = await runCollector({ netns });

    // Assert
    expect(section(run, 'iptables')).toMatchObject(
      expectedIptables(ruleset, 'mixed', legacyRuleset.expected.rules.total, ruleset.expected.rules.total),
    );
    expectSaveTimeAndVersion(run, 'nf_tables');
    expect(section(run, 'iptables').legacyTablesWarning).toBe(true);
  });

  it('detects both backends without the legacy tool, through iptables-nft-save’s “legacy tables present” warning', async () => {
    // Arrange: the legacy rules loaded by the test above stay; the node lacks iptables-legacy(-save)
    const withoutLegacy = hiding('/usr/sbin/iptables-legacy-save', '/sbin/iptables-legacy-save');

    // Act
    const run = await runCollector({ netns, prefix: withoutLegacy });

    // Assert
    expect(section(run, 'iptables')).toMatchObject({
      ...expectedIptables(ruleset, 'mixed', null, ruleset.expected.rules.total),
      legacyTablesWarning: true,
    });
  });
});

describe('small and kube-proxy-less rulesets', () => {
  let netns: string | undefined;
  let dir: string;

  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => removeNetnsAndDir(netns, dir));

  async function freshNetns(): Promise<string> {
    await deleteNetns(netns);
    netns = await createNetns();
    return netns;
  }

  it.each(['legacy', 'nft'] as const)(
    'reports backend %s for kube-proxy with 0 Services: no KUBE-SVC chains, kube-proxy still holds its rules',
    async (backend: Backend) => {
      // Arrange
      const ns = await freshNetns();
      const ruleset = generateKubeRuleset({ services: 0 });
      await loadRuleset(ns, backend, ruleset.text, join(dir, 'xtables.lock'));

      // Act
      const run = await runCollector({ netns: ns, pathPrefix: awkDirs.mawk });

      // Assert
      const [legacyRules, nftRules] = backend === 'legacy' ? [26, 0] : [0, 26];
      expect(section(run, 'iptables')).toMatchObject(expectedIptables(ruleset, backend, legacyRules, nftRules));
      expect(section(run, 'iptables').kubeServiceChains).toBe(0);
    },
  );

  it('reports mixed, described by legacy, when both backends hold equally many kube-proxy rules', async () => {
    // Arrange
    const ns = await freshNetns();
    const ruleset = generateKubeRuleset({ services: 0 });
    await loadRuleset(ns, 'legacy', ruleset.text, join(dir, 'xtables.lock'));
    await loadRuleset(ns, 'nft', ruleset.text, join(dir, 'xtables.lock'));
    const before = [await savedRuleset(ns, 'legacy'), await savedRuleset(ns, 'nft')];

    // Act
    const run = await runCollector({ netns: ns });

    // Assert
    expect(section(run, 'iptables')).toMatchObject(expectedIptables(ruleset, 'mixed', 26, 26));
    expectSaveTimeAndVersion(run, 'legacy');
    expect([await savedRuleset(ns, 'legacy'), await savedRuleset(ns, 'nft')]).toEqual(before);
  });

  it('does not count kubelet and CNI chains as kube-proxy rules: kubelet-only nft beside kube-proxy legacy is legacy', async () => {
    // Arrange
    const ns = await freshNetns();
    const kubeProxy = generateKubeRuleset({ services: 30 });
    const kubeletOnly = generateKubeRuleset({ services: 0, kubeProxy: false });
    await loadRuleset(ns, 'legacy', kubeProxy.text, join(dir, 'xtables.lock'));
    await loadRuleset(ns, 'nft', kubeletOnly.text, join(dir, 'xtables.lock'));

    // Act
    const run = await runCollector({ netns: ns });

    // Assert
    expect(kubeletOnly.expected.kubeProxyRules).toBe(0);
    expect(section(run, 'iptables')).toMatchObject(
      expectedIptables(kubeProxy, 'legacy', kubeProxy.expected.rules.total, kubeletOnly.expected.rules.total),
    );
  });

  it('reports backend none with null counts when only kubelet and the CNI wrote rules', async () => {
    // Arrange
    const ns = await freshNetns();
    const kubeletOnly = generateKubeRuleset({ services: 0, kubeProxy: false });
    await loadRuleset(ns, 'legacy', kubeletOnly.text, join(dir, 'xtables.lock'));
    await loadRuleset(ns, 'nft', kubeletOnly.text, join(dir, 'xtables.lock'));

    // Act
    const run = await runCollector({ netns: ns, pathPrefix: awkDirs.busybox });

    // Assert
    expect(section(run, 'iptables')).toMatchObject({
      backend: 'none',
      legacyRules: 9,
      nftRules: 9,
      rules: null,
      chains: null,
      kubeServiceChains: null,
      kubeEndpointChains: null,
      saveMs: null,
    });
    expect(run.json.errors).toContain('iptables: no backend holds kube-proxy rules');
  });

  it('reports backend none and zero rules on a node without any rules', async () => {
    // Arrange
    const ns = await freshNetns();

    // Act
    const run = await runCollector({ netns: ns });

    // Assert
    expect(section(run, 'iptables')).toMatchObject({ backend: 'none', legacyRules: 0, nftRules: 0, rules: null });
    expect(run.exitCode).toBe(0);
  });
});
