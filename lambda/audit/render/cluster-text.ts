import type { ClusterResult, Finding } from '../model.js';
import { clusterLabel } from './digest.js';
import { wrap } from './text.js';

const WIDTH = 100;

function findingText(finding: Finding): string[] {
  const { evidence, remediation } = finding;
  const pad = '    ';
  const lines = [`  ${finding.severity.padEnd(8)} ${finding.ruleId}  ${finding.title}`];
  lines.push(...wrap(evidence.summary, WIDTH, pad));
  if (evidence.nodes.length > 0) {
    lines.push(
      `${pad}nodes: ${evidence.nodes.join(', ')}${evidence.moreNodes > 0 ? ` (+${evidence.moreNodes} more)` : ''}`,
    );
  }
  lines.push(...wrap(`fix: ${remediation.summary}`, WIDTH, pad));
  if (remediation.configurationValues) {
    lines.push(`${pad}configurationValues: ${JSON.stringify(remediation.configurationValues)}`);
  }
  if (remediation.command) lines.push(`${pad}run: ${remediation.command}`);
  for (const link of remediation.links) lines.push(`${pad}see: ${link}`);
  return lines;
}

/**
 * One cluster's result in full, for `fleet-audit score` without --json: every finding with its complete
 * remediation (configurationValues, command, links) and the rules not evaluated. The fleet report
 * (render/text.ts) shows the top findings of many clusters instead.
 */
export function renderClusterText(result: ClusterResult): string {
  const { nodes } = result;
  const lines = [
    `${clusterLabel(result)}: score ${result.score === null ? 'none (not audited)' : `${result.score}/100`}, ` +
      `${result.status}, ${nodes.reached} of ${nodes.expected} nodes read` +
      (nodes.unreachable + nodes.failed > 0 ? ` (${nodes.unreachable} unreachable, ${nodes.failed} failed)` : ''),
  ];
  if (result.findings.length === 0) lines.push('', '  No findings.');
  for (const finding of result.findings) lines.push('', ...findingText(finding));
  if (result.notEvaluated.length > 0) {
    lines.push('', 'Not evaluated:');
    for (const n of result.notEvaluated) lines.push(...wrap(`${n.ruleId}: ${n.reason}`, WIDTH, '  '));
  }
  return `${lines.join('\n')}\n`;
}
