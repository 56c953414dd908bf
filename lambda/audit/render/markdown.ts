import { type Finding, mostSevereFirst, type RunResult } from '../model.js';
import { clusterLabel } from './digest.js';
import { fleetLine, severityCounts } from './text.js';

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** A run as Markdown: a summary table, then every cluster's findings with evidence and remediation. */
export function renderRunMarkdown(run: RunResult): string {
  const lines = [
    `# Fleet audit ${run.runId}`,
    '',
    `Status **${run.status}** · started ${run.startedAt} · finished ${run.finishedAt}`,
    '',
    fleetLine(run),
    '',
    '| Cluster | Score | Audit | Nodes read | Findings |',
    '|---|---:|---|---:|---|',
    ...run.clusters.map(
      (c) =>
        `| ${cell(clusterLabel(c))} | ${c.score ?? '—'} | ${c.status} | ${c.nodes.reached}/${c.nodes.expected} | ${
          severityCounts(c.findings) || 'none'
        } |`,
    ),
  ];
  for (const cluster of run.clusters) {
    lines.push('', `## ${clusterLabel(cluster)}`, '');
    const findings = [...cluster.findings].sort(mostSevereFirst);
    if (findings.length === 0) lines.push('No findings.');
    for (const finding of findings) lines.push(...findingBlock(finding));
    if (cluster.notEvaluated.length > 0) {
      lines.push('', '**Not evaluated:**', ...cluster.notEvaluated.map((n) => `- \`${n.ruleId}\`: ${n.reason}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

function findingBlock(f: Finding): string[] {
  const nodes = f.evidence.nodes.length
    ? [`- Nodes: ${f.evidence.nodes.join(', ')}${f.evidence.moreNodes ? ` and ${f.evidence.moreNodes} more` : ''}`]
    : [];
  return [
    `### ${f.severity} · \`${f.ruleId}\` · ${f.state}`,
    '',
    f.title,
    '',
    `- Evidence: ${f.evidence.summary}`,
    ...nodes,
    `- Remediation: ${f.remediation.summary}`,
    ...(f.remediation.configurationValues
      ? [`- configurationValues: \`${JSON.stringify(f.remediation.configurationValues)}\``]
      : []),
    ...(f.remediation.command ? ['', '```sh', f.remediation.command, '```'] : []),
    ...(f.remediation.links.length ? [`- See: ${f.remediation.links.join(' · ')}`] : []),
    '',
  ];
}
