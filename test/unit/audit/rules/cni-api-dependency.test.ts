import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cniApiDependency } from '#audit/rules/cni-api-dependency.js';
import { addon, clusterEvidence, ENDPOINT, evaluate, fired, reached, verdict } from '../evidence-builders.js';

const node = (
  services: number | null,
  clusterEndpointSet: boolean | null,
  mode: 'iptables' | 'ipvs' | null = 'iptables',
) => ({
  iptables: { kubeServiceChains: services },
  kubeProxy: { mode },
  awsNode: { clusterEndpointSet },
});

/** A node on VPC CNI v1.20.0 (ipamd proceeds without the API server after 30 s) with these features. */
const recentCni = (podEni: boolean | null, customNetworking: boolean | null) => ({
  ...node(900, false),
  awsNode: { clusterEndpointSet: false, version: 'v1.20.0-eksbuild.1', podEni, customNetworking },
});

describe('CNI-API-DEPENDENCY', () => {
  it.each([
    [500, false, 'passed'],
    [501, false, 'MEDIUM'],
    [5000, false, 'MEDIUM'],
    [501, true, 'passed'],
  ])('with %i Services and CLUSTER_ENDPOINT set = %s is %s (VPC CNI v1.18.1)', (services, set, expected) => {
    const evidence = clusterEvidence({
      addons: { vpcCni: addon('vpc-cni', 'v1.18.1-eksbuild.3'), kubeProxy: null },
      nodes: [reached('i-01', node(services, set))],
    });
    expect(verdict(evaluate(cniApiDependency, evidence))).toBe(expected);
  });

  it.each([
    ['pod ENIs and custom networking both off', recentCni(false, false), 'LOW'],
    ['pod ENIs on', recentCni(true, false), 'MEDIUM'],
    ['custom networking on', recentCni(false, true), 'MEDIUM'],
    ['pod ENIs unknown', recentCni(null, false), 'MEDIUM'],
  ])('on VPC CNI v1.20.0 with %s is %s', (_case, patch, expected) => {
    const evidence = clusterEvidence({
      addons: { vpcCni: addon('vpc-cni', 'v1.20.0-eksbuild.1'), kubeProxy: null },
      nodes: [reached('i-01', patch)],
    });
    expect(verdict(evaluate(cniApiDependency, evidence))).toBe(expected);
  });

  it('says why it is only LOW', () => {
    const evidence = clusterEvidence({
      addons: { vpcCni: addon('vpc-cni', 'v1.20.0-eksbuild.1'), kubeProxy: null },
      nodes: [reached('i-01', recentCni(false, false))],
    });
    expect(fired(evaluate(cniApiDependency, evidence)).evidence.summary).toBe(
      'CLUSTER_ENDPOINT is unset on 1 of 1 iptables-mode nodes that reported it, with 900 Services (p50 over 1 ' +
        'nodes, threshold 500); VPC CNI v1.20.0 proceeds without the API server after 30 s (no pod ENIs or custom ' +
        'networking on these nodes).',
    );
  });

  it.each([
    ['the Service count is unknown', [node(null, false)], 'no iptables-mode node reported its KUBE-SVC chain count'],
    [
      'no node is in iptables mode',
      [node(900, false, 'ipvs')],
      'no iptables-mode node reported its KUBE-SVC chain count',
    ],
    [
      'CLUSTER_ENDPOINT is unknown (null is not false)',
      [node(900, null)],
      'no iptables-mode node reported whether CLUSTER_ENDPOINT is set',
    ],
  ])('is not evaluated when %s', (_case, patches, reason) => {
    const evidence = clusterEvidence({ nodes: patches.map((p, i) => reached(`i-0${i}`, p)) });
    expect(evaluate(cniApiDependency, evidence)).toEqual({ kind: 'not-evaluated', reason });
  });

  it('only counts nodes in iptables mode for the missing setting', () => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', node(900, true)), reached('i-02', node(null, false, 'ipvs'))],
    });
    expect(evaluate(cniApiDependency, evidence)).toEqual({ kind: 'passed' });
  });

  it('sets CLUSTER_ENDPOINT to the endpoint from the evidence', () => {
    // Arrange
    const evidence = clusterEvidence({ nodes: [reached('i-02', node(900, false)), reached('i-01', node(800, true))] });

    // Act
    const outcome = fired(evaluate(cniApiDependency, evidence));

    // Assert
    expect(outcome.evidence.values).toEqual({
      servicesP50: 800,
      threshold: 500,
      nodesWithoutClusterEndpoint: 1,
      nodesReportingClusterEndpoint: 2,
      nodesNeedingApiAtStart: 0,
      vpcCniVersion: 'v1.20.0-eksbuild.1',
      endpoint: ENDPOINT,
    });
    expect(outcome.evidence.nodes).toEqual(['i-02']);
    expect(outcome.remediation.configurationValues).toEqual({ env: { CLUSTER_ENDPOINT: ENDPOINT } });
    expect(outcome.remediation.command).toBe(
      `aws eks update-addon --cluster-name prod --addon-name vpc-cni --configuration-values '{"env":{"CLUSTER_ENDPOINT":"${ENDPOINT}"}}' --resolve-conflicts PRESERVE --region eu-west-1`,
    );
  });

  it('looks the endpoint up in its command when the evidence has none, and the command runs', () => {
    // Arrange
    const evidence = clusterEvidence({ endpoint: null, nodes: [reached('i-01', node(900, false))] });

    // Act
    const { remediation } = fired(evaluate(cniApiDependency, evidence));
    const argv = execFileSync(
      'bash',
      [
        '-c',
        `aws() { if [ "$2" = describe-cluster ]; then echo "${ENDPOINT}"; else printf '%s\\n' "$@"; fi; }; ${remediation.command}`,
      ],
      { encoding: 'utf8' },
    ).split('\n');

    // Assert
    const values = argv[argv.indexOf('--configuration-values') + 1] ?? '';
    expect(JSON.parse(values)).toEqual({ env: { CLUSTER_ENDPOINT: ENDPOINT } });
    expect(argv.slice(0, 5)).toEqual(['eks', 'update-addon', '--cluster-name', 'prod', '--addon-name']);
  });

  it('asks for an upgrade first on a VPC CNI older than v1.12.1', () => {
    const evidence = clusterEvidence({
      addons: { vpcCni: addon('vpc-cni', 'v1.10.4-eksbuild.1'), kubeProxy: null },
      nodes: [reached('i-01', node(900, false))],
    });
    const { remediation } = fired(evaluate(cniApiDependency, evidence));
    expect(remediation.command).toBeNull();
    expect(remediation.summary).toContain('VPC CNI v1.10.4 cannot use CLUSTER_ENDPOINT (added in v1.12.1)');
  });
});
