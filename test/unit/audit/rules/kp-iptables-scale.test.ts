import { describe, expect, it } from 'vitest';
import { kpIptablesScale } from '#audit/rules/kp-iptables-scale.js';
import { addon, clusterEvidence, evaluate, fired, reached, reachedNodes, verdict } from '../evidence-builders.js';

const HEALTHY_KERNEL = '6.1.94-99.176.amzn2023.x86_64';

const withServices = (...counts: Array<number | null>) =>
  clusterEvidence({
    nodes: counts.map((c, i) => reached(`i-${String(i + 1).padStart(2, '0')}`, { iptables: { kubeServiceChains: c } })),
  });

describe('KP-IPTABLES-SCALE', () => {
  it.each([
    [[500, 500, 500], 'passed'],
    [[501, 501, 501], 'MEDIUM'],
    [[1000, 1000, 1000], 'MEDIUM'],
    [[1001, 1001, 1001], 'HIGH'],
    [[100, 600, 700], 'MEDIUM'],
    [[100, 100, 2000], 'passed'],
    [[1001, null, null], 'HIGH'],
  ])('judges the p50 of KUBE-SVC chains %j as %s', (counts, expected) => {
    expect(verdict(evaluate(kpIptablesScale, withServices(...counts)))).toBe(expected);
  });

  it('reads thresholds from the configuration', () => {
    // Arrange
    const evidence = withServices(100, 100, 100);

    // Act / Assert
    expect(verdict(evaluate(kpIptablesScale, evidence, { servicesMedium: 99, servicesHigh: 200 }))).toBe('MEDIUM');
    expect(verdict(evaluate(kpIptablesScale, evidence, { servicesMedium: 50, servicesHigh: 99 }))).toBe('HIGH');
  });

  it.each([
    [
      'the mode is unknown',
      { kubeProxy: { mode: null }, iptables: { kubeServiceChains: 5000 } },
      'no reached node reported kube-proxy in iptables mode',
    ],
    [
      'kube-proxy runs IPVS',
      { kubeProxy: { mode: 'ipvs' as const }, iptables: { kubeServiceChains: 5000 } },
      'no reached node reported kube-proxy in iptables mode',
    ],
    [
      'the kube-proxy section is missing',
      { kubeProxy: null, iptables: { kubeServiceChains: 5000 } },
      'no reached node reported kube-proxy in iptables mode',
    ],
    [
      'the chain count is unknown',
      { iptables: { kubeServiceChains: null } },
      'no iptables-mode node reported its KUBE-SVC chain count',
    ],
  ])('is not evaluated when %s', (_case, patch, reason) => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', patch)] });
    expect(evaluate(kpIptablesScale, evidence)).toEqual({ kind: 'not-evaluated', reason });
  });

  it('never counts a node of unknown mode as iptables', () => {
    // Arrange: two big nodes of unknown mode, one small iptables node
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', { kubeProxy: { mode: null }, iptables: { kubeServiceChains: 3000 } }),
        reached('i-02', { kubeProxy: { mode: null }, iptables: { kubeServiceChains: 3000 } }),
        reached('i-03', { iptables: { kubeServiceChains: 10 } }),
      ],
    });

    // Act / Assert
    expect(verdict(evaluate(kpIptablesScale, evidence))).toBe('passed');
  });

  it('names up to ten affected nodes, sorted, and counts the rest', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [...reachedNodes(12, { iptables: { kubeServiceChains: 1200 } }).reverse()],
    });

    // Act
    const { evidence: found } = fired(evaluate(kpIptablesScale, evidence));

    // Assert
    expect(found.nodes).toEqual([
      'i-n01',
      'i-n02',
      'i-n03',
      'i-n04',
      'i-n05',
      'i-n06',
      'i-n07',
      'i-n08',
      'i-n09',
      'i-n10',
    ]);
    expect(found.moreNodes).toBe(2);
  });

  it('gives the numbers it judged, per node group too', () => {
    // Arrange
    const evidence = clusterEvidence({
      nodes: [
        ...reachedNodes(3, { iptables: { kubeServiceChains: 1200 } }, 'a', 'ng-a'),
        ...reachedNodes(2, { iptables: { kubeServiceChains: 800 } }, 'b', 'ng-b'),
        reached('i-ipvs', { kubeProxy: { mode: 'ipvs' } }, 'ng-b'),
      ],
    });

    // Act
    const outcome = fired(evaluate(kpIptablesScale, evidence));

    // Assert
    expect(outcome.severity).toBe('HIGH');
    expect(outcome.evidence.values).toEqual({
      servicesP50: 1200,
      servicesP95: 1200,
      servicesMax: 1200,
      iptablesModeNodes: 5,
      countedNodes: 5,
      threshold: 1000,
      byNodegroup: 'ng-a 1200 (3 nodes); ng-b 800 (2 nodes)',
    });
    expect(outcome.evidence.summary).toBe(
      'kube-proxy runs in iptables mode with 1200 Services (p50 of KUBE-SVC chains over 5 nodes), above the HIGH threshold of 1000.',
    );
    expect(outcome.evidence.nodes).toEqual(['i-a01', 'i-a02', 'i-a03', 'i-b01', 'i-b02']);
  });

  describe('remediation, chosen by the cluster', () => {
    const big = { iptables: { kubeServiceChains: 1500 } };

    it('recommends nftables mode on Kubernetes 1.33+ with VPC CNI v1.23.0+ and new kernels', () => {
      // Arrange
      const evidence = clusterEvidence({
        kubernetesVersion: '1.33',
        addons: {
          vpcCni: addon('vpc-cni', 'v1.23.0-eksbuild.1'),
          kubeProxy: addon('kube-proxy', 'v1.33.0-eksbuild.2'),
        },
        nodes: [reached('i-01', big)],
      });

      // Act
      const { remediation } = fired(evaluate(kpIptablesScale, evidence));

      // Assert
      expect(remediation.configurationValues).toEqual({ mode: 'nftables' });
      expect(remediation.command).toBe(
        `aws eks update-addon --cluster-name prod --addon-name kube-proxy --configuration-values '{"mode":"nftables"}' --resolve-conflicts PRESERVE --region eu-west-1 && ` +
          'aws eks wait addon-active --cluster-name prod --addon-name kube-proxy --region eu-west-1 && ' +
          'kubectl --context arn:aws:eks:eu-west-1:111122223333:cluster/prod -n kube-system rollout restart daemonset/kube-proxy',
      );
      // running kube-proxy pods keep their old mode until restarted
      expect(remediation.summary).toContain('Then restart kube-proxy');
      expect(remediation.links).toContain('https://docs.aws.amazon.com/eks/latest/best-practices/nftables.html');
    });

    it.each([
      [
        'Kubernetes is older than 1.33',
        '1.32',
        'v1.23.0-eksbuild.1',
        HEALTHY_KERNEL,
        'Kubernetes 1.32 (nftables mode needs 1.33+)',
      ],
      [
        'the VPC CNI is older than v1.23.0',
        '1.34',
        'v1.22.9-eksbuild.1',
        HEALTHY_KERNEL,
        'VPC CNI v1.22.9 (nftables mode needs v1.23.0+)',
      ],
      [
        'a node runs an AL2 kernel',
        '1.34',
        'v1.23.1-eksbuild.1',
        '5.10.219-208.866.amzn2.x86_64',
        '1 node with a kernel older than 5.13',
      ],
      [
        'the Kubernetes version is unknown',
        null,
        'v1.23.1-eksbuild.1',
        HEALTHY_KERNEL,
        'an unknown Kubernetes version (nftables mode needs 1.33+)',
      ],
    ])('recommends IPVS mode when %s, and says why', (_case, k8s, cni, kernel, blocker) => {
      // Arrange
      const evidence = clusterEvidence({
        kubernetesVersion: k8s,
        addons: { vpcCni: addon('vpc-cni', cni), kubeProxy: addon('kube-proxy', 'v1.32.0-eksbuild.1') },
        nodes: [reached('i-01', { ...big, node: { kernel } })],
      });

      // Act
      const { remediation } = fired(evaluate(kpIptablesScale, evidence));

      // Assert
      expect(remediation.configurationValues).toEqual({ mode: 'ipvs', ipvs: { scheduler: 'rr' } });
      expect(remediation.summary).toContain(`because of ${blocker}`);
      expect(remediation.summary).toContain('deprecated from Kubernetes 1.35');
    });

    it('says to merge by hand when the audit did not see the add-on', () => {
      const evidence = clusterEvidence({ addons: { vpcCni: null, kubeProxy: null }, nodes: [reached('i-01', big)] });
      const { remediation } = fired(evaluate(kpIptablesScale, evidence));
      expect(remediation.configurationValues).toEqual({ mode: 'ipvs', ipvs: { scheduler: 'rr' } });
      expect(remediation.summary).toContain(
        "This audit did not see the kube-proxy add-on's current configurationValues; update-addon sets them as a whole, " +
          'so merge this change into the output of `aws eks describe-addon --cluster-name prod --addon-name kube-proxy --query addon.configurationValues` first.',
      );
    });

    it('keeps the settings the kube-proxy add-on already has', () => {
      // Arrange
      const current = { resources: { requests: { cpu: '100m' } }, ipvs: { strictARP: true } };
      const evidence = clusterEvidence({
        addons: { vpcCni: addon('vpc-cni', 'v1.20.0'), kubeProxy: addon('kube-proxy', 'v1.31.2-eksbuild.3', current) },
        nodes: [reached('i-01', big)],
      });

      // Act
      const { remediation } = fired(evaluate(kpIptablesScale, evidence));

      // Assert
      expect(remediation.configurationValues).toEqual({
        resources: { requests: { cpu: '100m' } },
        ipvs: { strictARP: true, scheduler: 'rr' },
        mode: 'ipvs',
      });
      expect(remediation.command).toContain(
        `--configuration-values '{"resources":{"requests":{"cpu":"100m"}},"ipvs":{"strictARP":true,"scheduler":"rr"},"mode":"ipvs"}'`,
      );
    });
  });
});
