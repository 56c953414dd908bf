import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { mergeConfigurationValues, mergeValues, readConfigurationValues } from '#audit/addon-config.js';
import { assessCluster, ruleContext } from '#audit/assess.js';
import type { Addon } from '#audit/model.js';
import { kpIptablesScale } from '#audit/rules/kp-iptables-scale.js';
import { DEFAULT_THRESHOLDS } from '#audit/thresholds.js';
import { addon, clusterEvidence, reached } from './evidence-builders.js';

/**
 * The argv a command line hands to `aws eks update-addon`, through a real bash; the rest of the chain (the
 * add-on waiter, kubectl's restart) is run against stubs that print nothing.
 */
const argvOf = (command: string) =>
  execFileSync(
    'bash',
    ['-c', `aws() { if [ "$2" = update-addon ]; then printf '%s\\0' "$@"; fi; }; kubectl() { :; }; ${command}`],
    { encoding: 'utf8' },
  )
    .split('\0')
    .slice(0, -1);

const YAML_CONFIG = [
  '# kube-proxy settings owned by the platform team',
  'resources:',
  '  limits:',
  '    memory: 256Mi # raised after the 2026-03 incident',
  'mode: iptables',
  '',
].join('\n');

describe('readConfigurationValues', () => {
  it.each([
    ['{"env":{"A":"1"}}', { values: { env: { A: '1' } }, format: 'json', problem: null }],
    ['env:\n  A: "1"\n', { values: { env: { A: '1' } }, format: 'yaml', problem: null }],
    ['{mode: ipvs}', { values: { mode: 'ipvs' }, format: 'yaml', problem: null }],
    ['  ', { values: {}, format: null, problem: null }],
    [undefined, { values: {}, format: null, problem: null }],
    ['[1,2]', { values: null, format: null, problem: 'a JSON list, not an object of settings' }],
    ['- a\n- b\n', { values: null, format: null, problem: 'a YAML list, not a mapping of settings' }],
    ['just words', { values: null, format: null, problem: 'a YAML string, not a mapping of settings' }],
  ])('reads %j', (text, expected) => {
    expect(readConfigurationValues(text)).toEqual(expected);
  });

  it('names what is wrong, and where, in values that are neither JSON nor YAML', () => {
    expect(readConfigurationValues('mode: ipvs\nmode: iptables\n')).toEqual({
      values: null,
      format: null,
      problem: 'neither JSON nor valid YAML (Map keys must be unique at line 2, column 1)',
    });
  });
});

describe('mergeConfigurationValues', () => {
  it('merges into YAML and keeps it YAML, with the user’s keys, order and comments', () => {
    // Act
    const merged = mergeConfigurationValues(YAML_CONFIG, { mode: 'ipvs', ipvs: { scheduler: 'rr' } });

    // Assert
    expect(merged).toEqual({
      kind: 'merged',
      format: 'yaml',
      values: { resources: { limits: { memory: '256Mi' } }, mode: 'ipvs', ipvs: { scheduler: 'rr' } },
      text: [
        '# kube-proxy settings owned by the platform team',
        'resources:',
        '  limits:',
        '    memory: 256Mi # raised after the 2026-03 incident',
        'mode: ipvs',
        'ipvs:',
        '  scheduler: "rr"',
      ].join('\n'),
    });
  });

  it('keeps new strings strings in YAML, so "true" stays the string the add-on schema wants', () => {
    // Act
    const merged = mergeConfigurationValues('env:\n  WARM_IP_TARGET: "5"\n', {
      env: { ENABLE_PREFIX_DELEGATION: 'true' },
    });

    // Assert
    expect(merged.kind === 'merged' && parseYaml(merged.text)).toEqual({
      env: { WARM_IP_TARGET: '5', ENABLE_PREFIX_DELEGATION: 'true' },
    });
  });

  it('merges into JSON and writes JSON; with no current values the change is the configuration', () => {
    expect(mergeConfigurationValues('{"env":{"A":"1"},"mode":"iptables"}', { env: { B: '2' }, mode: 'ipvs' })).toEqual({
      kind: 'merged',
      format: 'json',
      values: { env: { A: '1', B: '2' }, mode: 'ipvs' },
      text: '{"env":{"A":"1","B":"2"},"mode":"ipvs"}',
    });
    expect(mergeConfigurationValues(null, { mode: 'ipvs' })).toEqual({
      kind: 'merged',
      format: 'json',
      values: { mode: 'ipvs' },
      text: '{"mode":"ipvs"}',
    });
  });

  it('refuses to merge into values it cannot read, and says why', () => {
    expect(mergeConfigurationValues('- not\n- a map\n', { mode: 'ipvs' })).toEqual({
      kind: 'unmergeable',
      values: { mode: 'ipvs' },
      problem: 'a YAML list, not a mapping of settings',
    });
  });

  it('replaces what is not an object and merges objects key by key', () => {
    expect(
      mergeValues(
        { env: { A: '1' }, tolerations: [{ key: 'x' }], mode: 'iptables' },
        { env: { B: '2' }, mode: 'ipvs', tolerations: [] },
      ),
    ).toEqual({ env: { A: '1', B: '2' }, tolerations: [], mode: 'ipvs' });
  });
});

describe('remediations on an add-on configured in YAML', () => {
  const ipvsNodes = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      reached(`i-${i}`, { kubeProxy: { mode: null }, iptables: { kubeServiceChains: 1400 } }),
    );

  it('judges a cluster whose kube-proxy add-on sets IPVS in YAML as IPVS, not as the iptables default', () => {
    // Arrange: the nodes do not report their mode, so the add-on's configuration decides
    const evidence = clusterEvidence({
      kubernetesVersion: '1.35',
      nodes: ipvsNodes(2),
      addons: {
        vpcCni: addon('vpc-cni', 'v1.20.0-eksbuild.1'),
        kubeProxy: {
          ...addon('kube-proxy', 'v1.35.0-eksbuild.1', { mode: 'ipvs' }),
          configurationValues: 'mode: ipvs\n',
        },
      },
    });

    // Act
    const assessment = assessCluster(evidence, DEFAULT_THRESHOLDS);

    // Assert: IPVS on 1.35 is the deprecated-mode advisory, which an iptables reading would not raise
    const risk = assessment.detections.find((d) => d.ruleId === 'ADDON-VERSION-RISK');
    expect(risk?.evidence.summary).toMatch(/IPVS/);
  });

  it('prints an update-addon command whose values are the user’s YAML with the change merged in', () => {
    // Arrange
    const kubeProxy = {
      ...addon('kube-proxy', 'v1.31.2-eksbuild.3', { resources: { limits: { memory: '256Mi' } }, mode: 'iptables' }),
      configurationValues: YAML_CONFIG,
    };

    // Act
    const outcome = manyServicesOutcome(kubeProxy);

    // Assert
    if (outcome.kind !== 'fired') throw new Error(`expected KP-IPTABLES-SCALE to fire, got ${outcome.kind}`);
    const argv = argvOf(outcome.remediation.command ?? '');
    const values = argv[argv.indexOf('--configuration-values') + 1] ?? '';
    expect(values.split('\n').slice(0, 4)).toEqual(YAML_CONFIG.split('\n').slice(0, 4));
    expect(parseYaml(values)).toEqual({
      resources: { limits: { memory: '256Mi' } },
      mode: 'ipvs',
      ipvs: { scheduler: 'rr' },
    });
    expect(outcome.remediation.summary).toContain('keeps the current values in YAML, as written, with their comments');
  });

  it('says it cannot merge into values it could not read, and prints no command that would replace them', () => {
    // Arrange
    const kubeProxy = {
      ...addon('kube-proxy', 'v1.31.2-eksbuild.3'),
      configurationValues: '- mode: ipvs\n',
      configurationProblem: 'a YAML list, not a mapping of settings',
    };

    // Act
    const outcome = manyServicesOutcome(kubeProxy);

    // Assert
    if (outcome.kind !== 'fired') throw new Error(`expected KP-IPTABLES-SCALE to fire, got ${outcome.kind}`);
    expect(outcome.remediation.command).toBeNull();
    expect(outcome.remediation.summary).toContain(
      "The kube-proxy add-on's current configurationValues are a YAML list, not a mapping of settings, so this " +
        'change cannot be merged into them',
    );
  });
});

/** KP-IPTABLES-SCALE on a one-node Kubernetes 1.31 cluster with 1,400 Services and this kube-proxy add-on. */
function manyServicesOutcome(kubeProxy: Addon) {
  const evidence = clusterEvidence({
    kubernetesVersion: '1.31',
    nodes: [reached('i-1', { iptables: { kubeServiceChains: 1400 } })],
    addons: { vpcCni: addon('vpc-cni', 'v1.20.0-eksbuild.1'), kubeProxy },
  });
  return kpIptablesScale.evaluate(ruleContext(evidence, DEFAULT_THRESHOLDS));
}
