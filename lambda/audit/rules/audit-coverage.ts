import { coverageOf } from '../coverage.js';
import type { NodeObservation } from '../model.js';
import { round2 } from './facts.js';
import { LINKS } from './links.js';
import { shellQuote } from './remediation.js';
import { affectedNodes, type Rule } from './rule.js';

/** The most common lines of a list, as `line (count)`, at most `limit` of them and how many more there are. */
function topReasons(lines: ReadonlyArray<string>, limit: number): string {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  const sorted = [...counts.entries()].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const shown = sorted.slice(0, limit).map(([line, count]) => `${line} (${count})`);
  if (sorted.length > limit) shown.push(`${sorted.length - limit} more`);
  return shown.join('; ');
}

/** Nodes the audit could not read: unseen nodes are not assumed healthy. */
export const auditCoverage: Rule = {
  id: 'AUDIT-COVERAGE',
  title: 'Some nodes were not audited',
  why:
    'Contention is a per-node problem: a node the collector did not reach may be the one in a crash loop. Nodes ' +
    'without a working SSM agent, on platforms the collector does not support (Fargate, Windows, Bottlerocket ' +
    'without its admin container) or offline during the run are unseen, and findings on them stay UNKNOWN rather ' +
    'than resolved.',
  severities: ['MEDIUM', 'LOW', 'INFO'],
  judges:
    'Uncovered = UNREACHABLE + FAILED nodes of those expected (every running instance of the cluster). MEDIUM when ' +
    'the uncovered share is at or above `uncoveredShareMedium`, LOW when any node is uncovered, INFO when every ' +
    'node was reached but some reports list read errors (`errors`).',
  thresholds: ['uncoveredShareMedium'],
  notEvaluatedWhen: 'never (when no node was reached, AUDIT-FAILED replaces it)',
  remediation:
    'Give the named nodes a working SSM agent and an instance profile with AmazonSSMManagedInstanceCore; the ' +
    'command lists their SSM status. Fargate and Windows nodes cannot be audited and stay uncovered.',
  links: [LINKS.ssmTroubleshooting, LINKS.ssmManagedInstanceCore],
  evaluate({ evidence, nodes, thresholds }) {
    const coverage = coverageOf(evidence);
    const uncovered = evidence.nodes.filter((n) => n.reach !== 'REACHED');
    const share = coverage.expected > 0 ? uncovered.length / coverage.expected : 0;
    const values = {
      expectedNodes: coverage.expected,
      reachedNodes: coverage.reached,
      unreachableNodes: coverage.unreachable,
      failedNodes: coverage.failed,
      uncoveredShare: round2(share),
    };
    if (uncovered.length > 0) {
      const reasons = topReasons(uncovered.map(reasonOf), 3);
      return {
        kind: 'fired',
        severity: share >= thresholds.uncoveredShareMedium ? 'MEDIUM' : 'LOW',
        evidence: {
          summary:
            `${uncovered.length} of ${coverage.expected} nodes were not audited (${coverage.unreachable} unreachable, ` +
            `${coverage.failed} failed): ${reasons}.`,
          values: { ...values, reasons },
          ...affectedNodes(uncovered.map((n) => n.instanceId)),
        },
        remediation: {
          summary:
            'Check the named nodes in SSM: each needs the SSM agent running and online, and an instance profile with ' +
            'AmazonSSMManagedInstanceCore. Fargate and Windows nodes cannot run the collector; Bottlerocket needs its ' +
            'admin container (on-node collection there is unverified).',
          configurationValues: null,
          command: ssmStatusCommand(evidence.cluster.region, uncovered),
          links: [LINKS.ssmTroubleshooting, LINKS.ssmManagedInstanceCore],
        },
      };
    }
    const partial = nodes.filter((n) => n.report.errors.length > 0);
    if (partial.length === 0) return { kind: 'passed' };
    const errors = topReasons(
      partial.flatMap((n) => n.report.errors),
      3,
    );
    return {
      kind: 'fired',
      severity: 'INFO',
      title: 'Some node reports are incomplete',
      evidence: {
        summary: `${partial.length} of ${coverage.reached} reports list read errors: ${errors}.`,
        values: { ...values, partialNodes: partial.length, errors },
        ...affectedNodes(partial.map((n) => n.instanceId)),
      },
      remediation: {
        summary:
          'Nothing to change in the cluster unless an error is unexpected: the collector reports what it could not ' +
          'read (no lock file with iptables-nft is normal; a missing metrics endpoint leaves kube-proxy signals unknown).',
        configurationValues: null,
        command: null,
        links: [],
      },
    };
  },
};

function reasonOf(node: NodeObservation): string {
  return node.reason ?? (node.reach === 'UNREACHABLE' ? 'unreachable' : 'collection failed');
}

function ssmStatusCommand(region: string | null, nodes: ReadonlyArray<NodeObservation>): string {
  const ids = affectedNodes(nodes.map((n) => n.instanceId)).nodes.join(',');
  return (
    `aws ssm describe-instance-information --filters Key=InstanceIds,Values=${shellQuote(ids)}` +
    `${region ? ` --region ${shellQuote(region)}` : ''} ` +
    `--query 'InstanceInformationList[].[InstanceId,PingStatus,PlatformName,AgentVersion]' --output table`
  );
}
