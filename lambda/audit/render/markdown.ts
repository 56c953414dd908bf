import { type Finding, mostSevereFirst, type RunResult } from '../model.js';
import { clusterLabel } from './digest.js';
import { escapeRun, markdownCode, markdownFence, markdownProse, markdownText, safeJson } from './escape.js';
import { fleetLine, severityCounts } from './text.js';

/** Links the rules write, shown as autolinks; anything else is text. */
const LINK = /^https?:\/\/[^\s<>`\\]+$/i;

/**
 * A run as Markdown: a summary table, then every cluster's findings with evidence and remediation. Every value
 * from the run is escaped for its place (text, code span, fenced block), so data adds no markup, no HTML and no
 * line: the report renders its data as the very text it is.
 */
export function renderRunMarkdown(unsafe: RunResult): string {
  const run = escapeRun(unsafe, markdownText);
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
        `| ${clusterLabel(c)} | ${c.score ?? '—'} | ${c.status} | ${c.nodes.reached}/${c.nodes.expected} | ${
          severityCounts(c.findings) || 'none'
        } |`,
    ),
  ];
  unsafe.clusters.forEach((raw, index) => {
    const cluster = run.clusters[index] ?? raw;
    lines.push('', `## ${clusterLabel(cluster)}`, '');
    const findings = [...raw.findings].sort(mostSevereFirst);
    if (findings.length === 0) lines.push('No findings.');
    for (const finding of findings) lines.push(...findingBlock(finding));
    if (raw.notEvaluated.length > 0) {
      lines.push(
        '',
        '**Not evaluated:**',
        ...raw.notEvaluated.map((n) => `- ${markdownCode(n.ruleId)}: ${markdownProse(n.reason)}`),
      );
    }
  });
  return `${lines.join('\n')}\n`;
}

/** One finding; `f` is the finding as stored, each field escaped here for where it goes. */
function findingBlock(f: Finding): string[] {
  const { nodes, moreNodes } = f.evidence;
  const named = nodes.length
    ? [`- Nodes: ${nodes.map(markdownText).join(', ')}${moreNodes ? ` and ${moreNodes} more` : ''}`]
    : [];
  const links = f.remediation.links.map((link) => (LINK.test(link) ? `<${link}>` : markdownText(link)));
  return [
    `### ${f.severity} · ${markdownCode(f.ruleId)} · ${f.state}`,
    '',
    markdownText(f.title),
    '',
    `- Evidence: ${markdownProse(f.evidence.summary)}`,
    ...named,
    `- Remediation: ${markdownProse(f.remediation.summary)}`,
    ...(f.remediation.configurationValues
      ? [`- configurationValues: ${markdownCode(safeJson(f.remediation.configurationValues))}`]
      : []),
    ...(f.remediation.command ? ['', ...markdownFence(f.remediation.command, 'sh')] : []),
    ...(links.length ? [`- See: ${links.join(' · ')}`] : []),
    '',
  ];
}
