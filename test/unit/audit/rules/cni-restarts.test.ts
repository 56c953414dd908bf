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

/** v2: restarts inside the log window; the pod's lifetime count is set higher to show it is not what is read. */
const node = (awsNodeInWindow: number | null, ipamdApiUnreachable: number | null) => ({
  restarts: { awsNode: (awsNodeInWindow ?? 0) + 7, awsNodeInWindow },
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

  it('does not count restarts before the window: one bad night does not stay for the node’s whole life', () => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { restarts: { awsNode: 9, awsNodeInWindow: 0 }, logs: { ipamdApiUnreachable: 0 } })],
    });
    expect(evaluate(cniRestarts, evidence)).toEqual({ kind: 'passed' });
  });

  it('reads the lifetime count of a v1 report, which knew no window', () => {
    const evidence = clusterEvidence({
      nodes: [
        reached('i-01', {
          schema: 'fleet-audit.collector/v1',
          restarts: { awsNode: 3, awsNodeInWindow: null },
          logs: { ipamdApiUnreachable: 0 },
        }),
      ],
    });
    expect(verdict(evaluate(cniRestarts, evidence))).toBe('HIGH');
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

  it('says the probe kills were not read when an indexed query left them unknown', () => {
    const evidence = clusterEvidence({
      nodes: [reached('i-01', { restarts: null, logs: null })],
      logs: logSignals({ ipamdApiUnreachable: 2, awsNodeProbeFailures: null }),
    });
    const result = evaluate(cniRestarts, evidence);
    expect(verdict(result)).toBe('MEDIUM');
    expect(result.kind === 'fired' && result.evidence.summary).toContain('does not read kubelet’s journal');
    expect(result.kind === 'fired' && result.evidence.values.awsNodeProbeFailuresCloudWatch).toBeNull();
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

  it('sets CLUSTER_ENDPOINT merged with the add-on configuration, and says probe timeouts alone do not help', () => {
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
      'aws-node restarted on 1 node in the window (up to 4 times); ipamd could not reach the API server on 1 node; ' +
        '1 node had both.',
    );
    expect(outcome.evidence.nodes).toEqual(['i-01']);
    expect(outcome.remediation.configurationValues).toEqual({
      env: { ENABLE_PREFIX_DELEGATION: 'true', CLUSTER_ENDPOINT: ENDPOINT },
    });
    expect(outcome.remediation.command).toBe(
      'aws eks update-addon --cluster-name prod --addon-name vpc-cni --configuration-values ' +
        `'{"env":{"ENABLE_PREFIX_DELEGATION":"true","CLUSTER_ENDPOINT":"${ENDPOINT}"}}' ` +
        '--resolve-conflicts PRESERVE --region eu-west-1',
    );
    expect(outcome.remediation.summary).toContain('upgrade the VPC CNI from v1.18.1 to v1.19.4 or later');
    expect(outcome.remediation.summary).toContain(
      'raise their `initialDelaySeconds` and `failureThreshold` (the probe command, grpc-health-probe, runs with ' +
        '`-connect-timeout=5s -rpc-timeout=5s`',
    );
    expect(outcome.remediation.summary).toContain('so raising `timeoutSeconds` alone does not help');
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
