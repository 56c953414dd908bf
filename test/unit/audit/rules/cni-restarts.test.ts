import { describe, expect, it } from 'vitest';
import { cniRestarts } from '#audit/rules/cni-restarts.js';
import {
  addon,
  clusterEvidence,
  ENDPOINT,
  evaluate,
  fired,
  logSignals,
  reached,
  verdict,
} from '../evidence-builders.js';

const node = (awsNode: number | null, ipamdApiUnreachable: number | null) => ({
  restarts: { awsNode },
  logs: { ipamdApiUnreachable },
});

describe('CNI-RESTARTS', () => {
  it.each([
    [0, 0, 'passed'],
    [1, 0, 'MEDIUM'],
    [2, 0, 'MEDIUM'],
    [3, 0, 'HIGH'],
    [0, 1, 'MEDIUM'],
    [1, 1, 'HIGH'],
    [null, 2, 'MEDIUM'],
    [2, null, 'MEDIUM'],
  ])('judges %s restarts and %s API-unreachable lines on a node', (restarts, unreachable, expected) => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', node(restarts, unreachable))] });
    expect(verdict(evaluate(cniRestarts, evidence))).toBe(expected);
  });

  it('needs both signals on the same node for HIGH', () => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', node(1, 0)), reached('i-02', node(0, 1))] });
    expect(verdict(evaluate(cniRestarts, evidence))).toBe('MEDIUM');
  });

  it.each([
    ['API-unreachable lines', { ipamdApiUnreachable: 2 }, 'MEDIUM'],
    ['liveness-probe kills', { awsNodeProbeFailures: 1 }, 'MEDIUM'],
    ['nothing', {}, 'passed'],
  ])('reads CloudWatch %s as cluster-wide', (_case, signals, expected) => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { restarts: null, logs: null })],
      logs: logSignals(signals),
    });
    expect(verdict(evaluate(cniRestarts, evidence))).toBe(expected);
  });

  it('reads restart thresholds from the configuration', () => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', node(2, 0))] });
    expect(verdict(evaluate(cniRestarts, evidence, { awsNodeRestartsMedium: 2 }))).toBe('passed');
    expect(verdict(evaluate(cniRestarts, evidence, { awsNodeRestartsHigh: 2 }))).toBe('HIGH');
  });

  it('is not evaluated when restarts and ipamd counts are unknown and there is no CloudWatch result', () => {
    const evidence = clusterEvidence({ nodes: [reached('i-01', { restarts: null, logs: null })] });
    expect(evaluate(cniRestarts, evidence)).toEqual({
      kind: 'not-evaluated',
      reason: 'no node reported aws-node restarts or ipamd log counts, and no CloudWatch result is available',
    });
  });

  it('sets CLUSTER_ENDPOINT and longer probe timeouts, merged with the add-on configuration', () => {
    // Arrange
    const evidence = clusterEvidence({
      addons: {
        vpcCni: addon('vpc-cni', 'v1.18.1-eksbuild.3', { env: { ENABLE_PREFIX_DELEGATION: 'true' } }),
        kubeProxy: addon('kube-proxy', 'v1.31.0'),
      },
      nodes: [
        reached('i-01', { ...node(4, 2), awsNode: { clusterEndpointSet: false, version: 'v1.18.1' } }),
        reached('i-02', node(0, 0)),
      ],
    });

    // Act
    const outcome = fired(evaluate(cniRestarts, evidence));

    // Assert
    expect(outcome.severity).toBe('HIGH');
    expect(outcome.evidence.summary).toBe(
      'aws-node restarted on 1 node (up to 4 times); ipamd could not reach the API server on 1 node; 1 node had both.',
    );
    expect(outcome.evidence.nodes).toEqual(['i-01']);
    expect(outcome.remediation.configurationValues).toEqual({
      env: { ENABLE_PREFIX_DELEGATION: 'true', CLUSTER_ENDPOINT: ENDPOINT },
      livenessProbeTimeoutSeconds: 30,
      readinessProbeTimeoutSeconds: 30,
    });
    expect(outcome.remediation.command).toBe(
      'aws eks update-addon --cluster-name prod --addon-name vpc-cni --configuration-values ' +
        `'{"env":{"ENABLE_PREFIX_DELEGATION":"true","CLUSTER_ENDPOINT":"${ENDPOINT}"},"livenessProbeTimeoutSeconds":30,"readinessProbeTimeoutSeconds":30}' ` +
        '--resolve-conflicts PRESERVE --region eu-west-1',
    );
    expect(outcome.remediation.summary).toContain('upgrade the VPC CNI from v1.18.1 to v1.19.4 or later');
  });

  it('does not offer CLUSTER_ENDPOINT to a VPC CNI older than v1.12.1', () => {
    const evidence = clusterEvidence({
      addons: { vpcCni: addon('vpc-cni', 'v1.11.4-eksbuild.1'), kubeProxy: null },
      nodes: [reached('i-01', { ...node(0, 3), awsNode: { clusterEndpointSet: false } })],
    });
    const { remediation } = fired(evaluate(cniRestarts, evidence));
    expect(remediation.configurationValues).toBeNull();
    expect(remediation.summary).toContain('v1.11.4 cannot use CLUSTER_ENDPOINT (v1.12.1+)');
  });
});
