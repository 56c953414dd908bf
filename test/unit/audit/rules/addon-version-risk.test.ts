import { describe, expect, it } from 'vitest';
import { ADVISORIES, judge } from '#audit/advisories.js';
import { addonVersionRisk } from '#audit/rules/addon-version-risk.js';
import { parseVersion } from '#audit/versions.js';
import { addon, clusterEvidence, evaluate, fired, reached, verdict } from '../evidence-builders.js';

const cluster = (
  cni: string | null,
  k8s: string | null,
  mode: 'iptables' | 'ipvs' | 'nftables' | null = 'iptables',
  kubeProxy: string | null = 'v1.31.2-eksbuild.3',
) =>
  clusterEvidence({
    kubernetesVersion: k8s,
    addons: { vpcCni: addon('vpc-cni', cni), kubeProxy: kubeProxy === null ? null : addon('kube-proxy', kubeProxy) },
    nodes: [reached('i-01', { kubeProxy: { mode }, awsNode: { version: null } })],
  });

describe('ADDON-VERSION-RISK', () => {
  it.each([
    ['v1.19.3-eksbuild.1', '1.31', 'iptables', 'MEDIUM', 'VPC-CNI-EXITS-WITHOUT-API-SERVER'],
    ['v1.19.4-eksbuild.1', '1.31', 'iptables', 'passed', null],
    ['v1.12.0', '1.31', 'iptables', 'MEDIUM', 'VPC-CNI-EXITS-WITHOUT-API-SERVER, VPC-CNI-NO-CLUSTER-ENDPOINT'],
    ['v1.22.9-eksbuild.1', '1.33', 'nftables', 'MEDIUM', 'NFTABLES-NEEDS-VPC-CNI-1.23'],
    ['v1.23.0-eksbuild.1', '1.33', 'nftables', 'passed', null],
    ['v1.23.1', '1.34', 'ipvs', 'passed', null],
    ['v1.23.1', '1.35', 'ipvs', 'LOW', 'IPVS-DEPRECATED'],
    ['v1.23.1', '1.35.1-eks-7f9249a', 'iptables', 'passed', null],
  ] as const)('VPC CNI %s on Kubernetes %s in %s mode: %s', (cni, k8s, mode, expected, advisories) => {
    const outcome = evaluate(addonVersionRisk, cluster(cni, k8s, mode));
    expect(verdict(outcome)).toBe(expected);
    if (advisories) expect(fired(outcome).evidence.values.advisories).toBe(advisories);
  });

  it.each([
    ['v1.26.15-eksbuild.2', 'iptables', 'MEDIUM', 'KUBE-PROXY-FULL-RESTORE'],
    ['v1.27.16-eksbuild.9', 'iptables', 'LOW', 'KUBE-PROXY-PARTIAL-SYNC-BETA'],
    ['v1.28.15-eksbuild.4', 'iptables', 'passed', null],
  ] as const)('kube-proxy add-on %s in %s mode: %s', (kubeProxy, mode, expected, advisories) => {
    const outcome = evaluate(addonVersionRisk, cluster('v1.20.4-eksbuild.2', '1.28', mode, kubeProxy));
    expect(verdict(outcome)).toBe(expected);
    if (advisories) expect(fired(outcome).evidence.values.advisories).toBe(advisories);
  });

  it('cannot judge the kube-proxy advisories without the kube-proxy add-on version', () => {
    const outcome = evaluate(addonVersionRisk, cluster('v1.20.4-eksbuild.2', '1.31', 'iptables', null));
    expect(outcome.kind).toBe('not-evaluated');
    if (outcome.kind === 'not-evaluated') {
      expect(outcome.reason).toContain('KUBE-PROXY-FULL-RESTORE, KUBE-PROXY-PARTIAL-SYNC-BETA');
    }
  });

  it('reads the oldest aws-node version on the nodes when the add-on has none', () => {
    // Arrange
    const evidence = clusterEvidence({
      addons: { vpcCni: null, kubeProxy: null },
      nodes: [
        reached('i-01', { awsNode: { version: 'v1.20.0' } }),
        reached('i-02', { awsNode: { version: 'v1.18.1-eksbuild.3' } }),
      ],
    });

    // Act
    const outcome = fired(evaluate(addonVersionRisk, evidence));

    // Assert
    expect(outcome.evidence.values).toMatchObject({
      vpcCniVersion: 'v1.18.1-eksbuild.3',
      vpcCniVersionFrom: 'aws-node on the nodes',
    });
    expect(outcome.evidence.nodes).toEqual(['i-02']);
  });

  it.each([
    ['the VPC CNI version does not parse', 'latest', '1.31', 'VPC CNI version "latest" does not parse'],
    ['the VPC CNI version is unknown', null, '1.31', 'VPC CNI version unknown'],
  ])('is not evaluated when %s', (_case, cni, k8s, reason) => {
    const outcome = evaluate(addonVersionRisk, cluster(cni, k8s));
    expect(outcome.kind).toBe('not-evaluated');
    if (outcome.kind === 'not-evaluated') expect(outcome.reason).toContain(reason);
  });

  it('judges mode advisories as not applying when every node reports another mode, even without Kubernetes version', () => {
    expect(evaluate(addonVersionRisk, cluster('v1.20.0', null, 'iptables'))).toEqual({ kind: 'passed' });
  });

  it('cannot judge the IPVS advisory without the Kubernetes version', () => {
    const outcome = evaluate(addonVersionRisk, cluster('v1.23.1', null, 'ipvs'));
    expect(outcome).toEqual({
      kind: 'not-evaluated',
      reason: 'Kubernetes version unknown (advisories not judged: IPVS-DEPRECATED)',
    });
  });

  it('fires on what applies even when another advisory cannot be judged', () => {
    const outcome = fired(evaluate(addonVersionRisk, cluster('v1.19.0', null, 'ipvs')));
    expect(outcome.evidence.values).toMatchObject({
      advisories: 'VPC-CNI-EXITS-WITHOUT-API-SERVER',
      notJudged: 'IPVS-DEPRECATED',
    });
  });

  it('takes the configured add-on mode into account', () => {
    const evidence = clusterEvidence({
      kubernetesVersion: '1.35',
      addons: { vpcCni: addon('vpc-cni', 'v1.23.1'), kubeProxy: addon('kube-proxy', 'v1.35.0', { mode: 'ipvs' }) },
      nodes: [reached('i-01', { kubeProxy: { mode: null } })],
    });
    expect(verdict(evaluate(addonVersionRisk, evidence))).toBe('LOW');
  });

  it('asks for a CNI upgrade with a command that refuses to run without a chosen version', () => {
    // Arrange
    const outcome = fired(evaluate(addonVersionRisk, cluster('v1.18.1-eksbuild.3', '1.29')));

    // Assert
    expect(outcome.title).toBe('VPC CNI before v1.19.4 exits when the API server is unreachable at start');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion is the expected text
    const version = '"${VPC_CNI_VERSION:?set VPC_CNI_VERSION to v1.19.4 or later}"';
    expect(outcome.remediation.command).toBe(
      `aws eks update-addon --cluster-name prod --addon-name vpc-cni --addon-version ${version} --resolve-conflicts PRESERVE --region eu-west-1`,
    );
    expect(outcome.remediation.summary).toContain(
      "aws eks describe-addon-versions --addon-name vpc-cni --kubernetes-version 1.29 --region eu-west-1 --query 'addons[].addonVersions[].addonVersion'",
    );
    expect(outcome.remediation.links).toContain('https://github.com/aws/amazon-vpc-cni-k8s/pull/3243');
  });

  it('upgrades to v1.23.0 when nftables mode runs on an older CNI', () => {
    const outcome = fired(evaluate(addonVersionRisk, cluster('v1.21.0', '1.33', 'nftables')));
    expect(outcome.remediation.command).toContain('set VPC_CNI_VERSION to v1.23.0 or later');
  });

  it('moves IPVS to nftables on 1.35 when the CNI allows it', () => {
    const outcome = fired(evaluate(addonVersionRisk, cluster('v1.23.1', '1.35', 'ipvs')));
    expect(outcome.remediation.configurationValues).toEqual({ mode: 'nftables' });
  });
});

describe('the advisories table', () => {
  it('has parseable versions, a source and a fix for every advisory', () => {
    for (const a of ADVISORIES) {
      for (const v of [a.versions?.atLeast, a.versions?.below, a.kubernetes?.atLeast, a.kubernetes?.below]) {
        if (v !== undefined) expect(parseVersion(v), `${a.id}: ${v}`).not.toBeNull();
      }
      expect(a.source).toMatch(/^https:\/\//);
      expect(a.fix.length).toBeGreaterThan(10);
    }
    expect(new Set(ADVISORIES.map((a) => a.id)).size).toBe(ADVISORIES.length);
  });

  it('judges with three values', () => {
    const [exits] = ADVISORIES;
    if (!exits) throw new Error('empty table');
    const facts = { vpcCni: null, kubeProxy: null, kubernetes: null, modes: new Set<never>(), modesComplete: true };
    expect(judge(exits, facts)).toBe('unknown');
    expect(judge(exits, { ...facts, vpcCni: parseVersion('v1.19.3') })).toBe('applies');
    expect(judge(exits, { ...facts, vpcCni: parseVersion('v1.19.4') })).toBe('does-not-apply');
  });
});
