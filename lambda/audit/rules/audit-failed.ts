import { coverageOf, topReasons, uncoveredNodes, uncoveredReason } from '../coverage.js';
import { LINKS } from './links.js';
import { affectedNodes, type Rule } from './rule.js';

/** The cluster could not be audited at all; when it fires it replaces every other rule (see assessCluster). */
export const auditFailed: Rule = {
  id: 'AUDIT-FAILED',
  title: 'The cluster could not be audited',
  why:
    'Discovery failed (the audit role could not be assumed, EKS or EC2 calls failed) or not one node’s report ' +
    'could be read. Nothing is known about the cluster this run: its score is null, not a number, and every ' +
    'earlier finding stays UNKNOWN instead of being resolved.',
  severities: ['HIGH'],
  judges: 'The cluster: `auditError` is set, or no node was REACHED with a report.',
  thresholds: [],
  notEvaluatedWhen: 'never',
  remediation:
    'Check that the audit role can be assumed in the account and region, that the nodes run the SSM agent with ' +
    'AmazonSSMManagedInstanceCore, and that the collector document exists in the region.',
  links: [LINKS.ssmTroubleshooting, LINKS.ssmManagedInstanceCore],
  evaluate({ evidence }) {
    const coverage = coverageOf(evidence);
    if (evidence.auditError === null && coverage.reached > 0) return { kind: 'passed' };
    const uncovered = uncoveredNodes(evidence);
    const reason =
      evidence.auditError ??
      (coverage.expected === 0
        ? 'no running node of the cluster was found'
        : `no node of ${coverage.expected} could be read (${coverage.unreachable} unreachable, ` +
          `${coverage.failed} failed): ${topReasons(uncovered.map(uncoveredReason), 3)}`);
    return {
      kind: 'fired',
      severity: 'HIGH',
      evidence: {
        summary: reason,
        values: {
          auditError: evidence.auditError,
          expectedNodes: coverage.expected,
          unreachableNodes: coverage.unreachable,
          failedNodes: coverage.failed,
        },
        ...affectedNodes(uncovered.map((n) => n.instanceId)),
      },
      remediation: {
        summary:
          'Check that the audit role can be assumed in this account and region, that nodes run the SSM agent with ' +
          'AmazonSSMManagedInstanceCore, and that the collector document exists in the region.',
        configurationValues: null,
        command: null,
        links: [LINKS.ssmTroubleshooting, LINKS.ssmManagedInstanceCore],
      },
    };
  },
};
