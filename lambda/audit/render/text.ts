import { type ClusterResult, type Finding, mostSevereFirst, type RunResult, SEVERITIES } from '../model.js';
import { plural } from '../rules/facts.js';
import { scoreFleet } from '../scoring.js';
import { clusterLabel } from './digest.js';

export interface TextOptions {
  /** findings shown per cluster (most severe first); the rest are counted */
  topFindings?: number;
}

/** The readable run report `npm start` prints: a table of clusters, then each cluster's top findings. */
export function renderRunText(run: RunResult, options: TextOptions = {}): string {
  const top = options.topFindings ?? 5;
  const regions = new Set(run.clusters.map((c) => c.region).filter(Boolean));
  const lines = [
    `Fleet audit ${run.runId} — ${run.status}: ${plural(run.clusters.length, 'cluster')}` +
      ` in ${plural(regions.size, 'region')}`,
    fleetLine(run),
    '',
    ...table(
      ['CLUSTER', 'SCORE', 'AUDIT', 'NODES READ', 'FINDINGS'],
      run.clusters.map((c) => [
        clusterLabel(c),
        c.score === null ? '—' : String(c.score),
        c.status,
        `${c.nodes.reached}/${c.nodes.expected}`,
        severityCounts(c.findings) || 'none',
      ]),
      [false, true, false, true, false],
    ),
  ];
  for (const cluster of run.clusters) {
    lines.push('', ...clusterSection(cluster, top));
  }
  return `${lines.join('\n')}\n`;
}

/** The fleet roll-up in one line: score, worst cluster, unaudited clusters. */
export function fleetLine(run: RunResult): string {
  const fleet = scoreFleet(run.clusters);
  const worst = fleet.worst ? `; worst ${clusterLabel(fleet.worst)} at ${fleet.worst.score}` : '';
  const unaudited = fleet.unaudited > 0 ? `; ${fleet.unaudited} not audited` : '';
  return `Fleet score ${fleet.score ?? 'n/a'} (node-weighted over ${fleet.audited} audited clusters${worst}${unaudited})`;
}

function clusterSection(cluster: ClusterResult, top: number): string[] {
  const open = cluster.findings.filter((f) => f.state !== 'RESOLVED').sort(mostSevereFirst);
  const resolved = cluster.findings.filter((f) => f.state === 'RESOLVED');
  const header = `${clusterLabel(cluster)} — score ${cluster.score ?? 'n/a (not audited)'}`;
  const lines = [header];
  if (open.length === 0) lines.push('  No findings.');
  for (const finding of open.slice(0, top)) lines.push(...findingLines(finding));
  if (open.length > top) lines.push(`  … and ${open.length - top} more (fleet-audit report for all)`);
  for (const finding of resolved) lines.push(`  RESOLVED  ${finding.ruleId}: ${finding.title}`);
  if (cluster.nodes.unreachable + cluster.nodes.failed > 0) {
    lines.push(
      `  Not read: ${cluster.nodes.unreachable} unreachable, ${cluster.nodes.failed} failed of ${cluster.nodes.expected} nodes`,
    );
  }
  return lines;
}

const INDENT = ' '.repeat(11);
const WIDTH = 116;

function findingLines(f: Finding): string[] {
  return [
    `  ${f.severity.padEnd(8)} ${f.ruleId} [${f.state}] ${f.title}`,
    // an empty summary still gets its (blank) line here
    ...orLine(wrap(f.evidence.summary, WIDTH, INDENT), INDENT),
    ...wrap(`Fix: ${f.remediation.summary}`, WIDTH, INDENT, `${INDENT}     `),
  ];
}

/**
 * Wraps text at word boundaries to `width` columns (prefix included): the first line starts with `first`, the
 * others with `rest`. A word longer than the width gets a line of its own. Text without words gives no lines.
 */
export function wrap(text: string, width: number, first: string, rest: string = first): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const prefix = lines.length === 0 ? first : rest;
    if (line && prefix.length + line.length + 1 + word.length > width) {
      lines.push(prefix + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push((lines.length === 0 ? first : rest) + line);
  return lines;
}

function orLine(lines: string[], line: string): string[] {
  return lines.length > 0 ? lines : [line];
}

/** "1 CRITICAL, 2 HIGH" over the findings that are not resolved. */
export function severityCounts(findings: ReadonlyArray<Finding>): string {
  const open = findings.filter((f) => f.state !== 'RESOLVED');
  return SEVERITIES.map((s) => [s, open.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

function table(header: string[], rows: string[][], rightAlign: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (rightAlign[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
