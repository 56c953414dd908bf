import { coverageOf, topReasons, uncoveredNodes, uncoveredReason } from '../coverage.js';
import type { NodeObservation } from '../model.js';
import type { NodeReport } from '../node-report.js';
import { round2 } from './facts.js';
import { LINKS } from './links.js';
import { shellQuote } from './remediation.js';
import { affectedNodes, type Rule } from './rule.js';

/** A line of a report's `errors` that is expected, not a read error, on nodes where `when` holds. */
export interface ExpectedError {
  pattern: RegExp;
  when: (report: NodeReport) => boolean;
  /** the line and its condition, for docs/rules.md */
  doc: string;
  /** why it is a fact about the node rather than a gap */
  why: string;
}

/**
 * Lines of a report's `errors` that state a fact about the node rather than something the collector failed to
 * read (the strings are collector/collect.sh's own). Each is expected only when the same report shows why, so
 * the identical line on a node where it means a gap still counts.
 *
 * Not listed, on purpose: every other line says a signal is unknown (an endpoint not answering, a process, log or
 * config not found, a save that failed, a count capped), and the collector prints nothing when only one
 * backend's save tool is absent (that backend's count is simply null).
 */
export const EXPECTED_ERRORS: ReadonlyArray<ExpectedError> = [
  {
    // collect.sh: "lock: no lock file at ${LOCK_PATH}"
    pattern: /^lock: no lock file at /,
    when: (report) => report.iptables?.backend === 'nft' || report.iptables?.backend === 'none',
    doc: '`lock: no lock file at …` when `iptables.backend` is `nft` or `none`',
    why:
      'only iptables-legacy uses the xtables lock file, so a node whose kube-proxy rules are in nft (or in no ' +
      'iptables backend) may well have none (see collector/collect.sh); with legacy or mixed rules it leaves contention unmeasured',
  },
  {
    // collect.sh: "iptables: no backend holds kube-proxy rules"
    pattern: /^iptables: no backend holds kube-proxy rules$/,
    when: (report) => report.kubeProxy?.mode === 'nftables',
    doc: '`iptables: no backend holds kube-proxy rules` when `kubeProxy.mode` is `nftables`',
    why: 'kube-proxy in nftables mode writes no iptables rules at all',
  },
];

/** The lines of a report's `errors` that mean something could not be read (EXPECTED_ERRORS removed). */
export function readErrors(report: NodeReport): string[] {
  return report.errors.filter((line) => !EXPECTED_ERRORS.some((e) => e.pattern.test(line) && e.when(report)));
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
    'node was reached but some reports list read errors (`errors`). Lines that state an expected fact about the ' +
    `node are not read errors: ${EXPECTED_ERRORS.map((e) => e.doc).join('; ')}.`,
  thresholds: ['uncoveredShareMedium'],
  notEvaluatedWhen: 'never (when no node was reached, AUDIT-FAILED replaces it)',
  remediation:
    'Give the named nodes a working SSM agent and an instance profile with AmazonSSMManagedInstanceCore; the ' +
    'command lists their SSM status. Fargate and Windows nodes cannot be audited and stay uncovered.',
  links: [LINKS.ssmTroubleshooting, LINKS.ssmManagedInstanceCore],
  evaluate({ evidence, nodes, thresholds }) {
    const coverage = coverageOf(evidence);
    const uncovered = uncoveredNodes(evidence);
    const share = coverage.expected > 0 ? uncovered.length / coverage.expected : 0;
    const values = {
      expectedNodes: coverage.expected,
      reachedNodes: coverage.reached,
      unreachableNodes: coverage.unreachable,
      failedNodes: coverage.failed,
      uncoveredShare: round2(share),
    };
    if (uncovered.length > 0) {
      const reasons = topReasons(uncovered.map(uncoveredReason), 3);
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
    const partial = nodes.map((n) => ({ node: n, errors: readErrors(n.report) })).filter((p) => p.errors.length > 0);
    if (partial.length === 0) return { kind: 'passed' };
    const errors = topReasons(
      partial.flatMap((p) => p.errors),
      3,
    );
    return {
      kind: 'fired',
      severity: 'INFO',
      title: 'Some node reports are incomplete',
      evidence: {
        summary: `${partial.length} of ${coverage.reached} reports list read errors: ${errors}.`,
        values: { ...values, partialNodes: partial.length, errors },
        ...affectedNodes(partial.map((p) => p.node.instanceId)),
      },
      remediation: {
        summary:
          'Nothing to change in the cluster unless an error is unexpected: the collector reports what it could not ' +
          'read, and the signals it names are unknown on those nodes (a metrics endpoint not answering leaves ' +
          'kube-proxy signals unknown; no lock file on a legacy node leaves lock contention unmeasured).',
        configurationValues: null,
        command: null,
        links: [],
      },
    };
  },
};

function ssmStatusCommand(region: string | null, nodes: ReadonlyArray<NodeObservation>): string {
  const ids = affectedNodes(nodes.map((n) => n.instanceId)).nodes.join(',');
  return (
    `aws ssm describe-instance-information --filters Key=InstanceIds,Values=${shellQuote(ids)}` +
    `${region ? ` --region ${shellQuote(region)}` : ''} ` +
    `--query 'InstanceInformationList[].[InstanceId,PingStatus,PlatformName,AgentVersion]' --output table`
  );
}
