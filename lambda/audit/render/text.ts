import {
  type ClusterResult,
  type Finding,
  mostSevereFirst,
  type RunResult,
  SEVERITIES,
  worstSeverity,
} from '../model.js';
import { plural } from '../rules/facts.js';
import { scoreFleet } from '../scoring.js';
import { clusterLabel } from './digest.js';
import { escapeCluster, escapeRun, safeJson, visibleText } from './escape.js';
import { shellLines } from './shell-lines.js';
import { plainText, type TextStyle, textStyle } from './style.js';

/** How text output is laid out: the terminal's width and whether it takes colour. */
export interface TextLayout {
  /** columns every line fits in (except a word longer than that); default 80 */
  width?: number;
  /** ANSI colour; default false */
  color?: boolean;
}

export interface TextOptions extends TextLayout {
  /** findings shown per cluster (most severe first), the rest counted; default: all */
  topFindings?: number;
  /** the command that prints the findings left out, named after their count */
  moreHint?: string;
}

/** Text narrower than this reads badly; below it lines may overflow instead. */
const MIN_WIDTH = 40;
/** How many affected nodes a finding names before "and N more". */
const NODES_SHOWN = 3;

interface Layout {
  width: number;
  style: TextStyle;
}

const layoutOf = (options: TextLayout): Layout => ({
  width: Math.max(MIN_WIDTH, options.width ?? 80),
  style: textStyle(options.color ?? false),
});

/**
 * The readable run report `npm start` prints: a table of clusters, then each cluster's findings. Every text from
 * the run has its control, bidi and zero-width characters made visible first, so data adds no line and no escape
 * sequence: the only line breaks and ANSI sequences are the renderer's own.
 */
export function renderRunText(unsafe: RunResult, options: TextOptions = {}): string {
  const run = escapeRun(unsafe, visibleText);
  const layout = layoutOf(options);
  const { style, width } = layout;
  const top = options.topFindings ?? Number.POSITIVE_INFINITY;
  const regions = new Set(run.clusters.map((c) => c.region).filter(Boolean));
  const lines = [
    ...wrap(
      `Fleet audit ${run.runId} — ${run.status}: ${plural(run.clusters.length, 'cluster')}` +
        ` in ${plural(regions.size, 'region')}`,
      width,
      '',
      '  ',
    ).map((line, i) => (i === 0 ? style.bold(line) : line)),
    ...wrap(fleetLine(run), width, '', '  '),
    '',
    ...clusterTable(run.clusters, layout),
  ];
  for (const cluster of run.clusters) lines.push('', ...clusterSection(cluster, top, options.moreHint, layout));
  return `${lines.join('\n')}\n`;
}

/** The fleet roll-up in one line: score, worst cluster, unaudited clusters. */
export function fleetLine(run: RunResult): string {
  const fleet = scoreFleet(run.clusters);
  const worst = fleet.worst ? `; worst ${clusterLabel(fleet.worst)} at ${fleet.worst.score}` : '';
  const unaudited = fleet.unaudited > 0 ? `; ${fleet.unaudited} not audited` : '';
  return `Fleet score ${fleet.score ?? 'n/a'} (node-weighted over ${fleet.audited} audited clusters${worst}${unaudited})`;
}

const openOf = (cluster: ClusterResult) => cluster.findings.filter((f) => f.state !== 'RESOLVED');

function clusterTable(clusters: ReadonlyArray<ClusterResult>, { width, style }: Layout): string[] {
  const rows = clusters.map((c) => {
    const open = openOf(c);
    return { cluster: c, open: open.length, worst: worstSeverity(open.map((f) => f.severity)) };
  });
  return textTable(
    ['CLUSTER', 'SCORE', 'AUDIT', 'NODES', 'FINDINGS', 'WORST'],
    rows.map(({ cluster: c, open, worst }) => [
      clusterLabel(c),
      c.score === null ? '—' : String(c.score),
      c.status,
      `${c.nodes.reached}/${c.nodes.expected}`,
      String(open),
      worst ?? '—',
    ]),
    {
      width,
      style,
      right: [false, true, false, true, true, false],
      paint: (row, column, text) => {
        const r = rows[row];
        if (r && column === 1) return style.score(r.cluster.score, text);
        if (r?.worst && column === 5) return style.severity(r.worst, text);
        return text;
      },
    },
  );
}

function clusterSection(cluster: ClusterResult, top: number, moreHint: string | undefined, layout: Layout): string[] {
  const { style, width } = layout;
  const open = openOf(cluster).sort(mostSevereFirst);
  const resolved = cluster.findings.filter((f) => f.state === 'RESOLVED');
  const counts = severityCounts(cluster.findings);
  const score = cluster.score === null ? 'n/a (not audited)' : String(cluster.score);
  const lines = wrap(`${clusterLabel(cluster)} — score ${score}${counts ? ` — ${counts}` : ''}`, width, '', '  ').map(
    (line) => style.bold(line),
  );
  if (open.length === 0) lines.push('  No findings.');
  const memory = new RemediationMemory();
  for (const finding of open.slice(0, top)) lines.push(...findingLines(finding, layout, memory, false));
  if (open.length > top) {
    const more = `  … and ${open.length - top} more${moreHint ? `: ${moreHint} prints them all` : ''}`;
    lines.push(...wrap(more, width, '', '    '));
  }
  for (const finding of resolved) {
    lines.push(...styledWrap(`  ${style.state('RESOLVED')}  `, `${finding.ruleId}: ${finding.title}`, width, '    '));
  }
  if (cluster.nodes.unreachable + cluster.nodes.failed > 0) {
    const { unreachable, failed, expected } = cluster.nodes;
    lines.push(
      ...wrap(`  Not read: ${unreachable} unreachable, ${failed} failed of ${expected} nodes`, width, '', '    '),
    );
  }
  return lines;
}

/** One cluster's result in full (`fleet-audit score`): every finding with all of its remediation; data escaped. */
export function renderClusterText(unsafe: ClusterResult, options: TextLayout = {}): string {
  const result = escapeCluster(unsafe, visibleText);
  const layout = layoutOf(options);
  const { style, width } = layout;
  const { nodes } = result;
  const score = result.score === null ? 'none' : `${result.score}/100`;
  const lines = wrap(
    `${clusterLabel(result)}: score ${score}, ${result.status}, ${nodes.reached} of ${nodes.expected} nodes read` +
      (nodes.unreachable + nodes.failed > 0 ? ` (${nodes.unreachable} unreachable, ${nodes.failed} failed)` : ''),
    width,
    '',
    '  ',
  ).map((line) => style.bold(line));
  if (result.score === null && result.status !== 'FAILED') {
    lines.push(...wrap('No rule found any of its evidence in these reports: nothing was measured.', width, '', ''));
  }
  if (result.findings.length === 0) lines.push('', '  No findings.');
  const memory = new RemediationMemory();
  for (const finding of [...result.findings].sort(mostSevereFirst)) {
    lines.push('', ...findingLines(finding, layout, memory, true));
  }
  if (result.notEvaluated.length > 0) {
    lines.push('', style.bold('Not evaluated:'));
    for (const n of result.notEvaluated) lines.push(...wrap(`${n.ruleId}: ${n.reason}`, width, '  ', '    '));
  }
  return `${lines.join('\n')}\n`;
}

const DETAIL = '    ';

/** Remediations already printed for a cluster, so each is printed once (rules often share the same change). */
class RemediationMemory {
  private readonly seen: Array<{ ruleId: string; words: string[]; command: string | null }> = [];

  /** The summary to print: whole, shortened to what differs from an earlier one, or a pointer to it. */
  summaryOf(finding: Finding): { text: string; shared: string | null } {
    const words = finding.remediation.summary.split(/\s+/).filter(Boolean);
    let best: { ruleId: string; suffix: number; whole: boolean } | null = null;
    for (const earlier of this.seen) {
      const suffix = sharedSuffix(words, earlier.words);
      if (suffix > (best?.suffix ?? 0)) {
        best = { ruleId: earlier.ruleId, suffix, whole: suffix === words.length && suffix === earlier.words.length };
      }
    }
    this.seen.push({ ruleId: finding.ruleId, words, command: finding.remediation.command });
    if (best?.whole) return { text: `as for ${best.ruleId} above.`, shared: best.ruleId };
    if (best && best.suffix >= SHARED_WORDS_MIN) {
      const own = words.slice(0, words.length - best.suffix).join(' ');
      return { text: `${own} The rest as for ${best.ruleId} above.`, shared: best.ruleId };
    }
    return { text: words.join(' '), shared: null };
  }

  /** The finding whose identical command was printed before this one, if any. */
  commandPrintedFor(finding: Finding): string | null {
    const command = finding.remediation.command;
    const earlier = this.seen.find((s) => s.ruleId !== finding.ruleId && s.command !== null && s.command === command);
    return earlier?.ruleId ?? null;
  }
}

/** Fewer shared words than this are a coincidence, not a shared remediation. */
const SHARED_WORDS_MIN = 12;

/** How many trailing words `a` shares with `b`, counted from a sentence start of `a` (or all of `a`). */
function sharedSuffix(a: ReadonlyArray<string>, b: ReadonlyArray<string>): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  while (n > 0 && n < a.length && !/[.:;]$/.test(a[a.length - 1 - n] ?? '')) n--;
  return n;
}

function findingLines(f: Finding, { width, style }: Layout, memory: RemediationMemory, full: boolean): string[] {
  const lines = styledWrap(
    `  ${style.severity(f.severity, f.severity.padEnd(8))} ${f.ruleId} [${style.state(f.state)}] `,
    f.title,
    width,
    DETAIL,
  );
  // an empty summary still gets its (blank) line here
  const evidence = wrap(f.evidence.summary, width, DETAIL);
  lines.push(...(evidence.length > 0 ? evidence : [DETAIL]));
  const named = f.evidence.nodes.slice(0, NODES_SHOWN);
  const more = f.evidence.nodes.length - named.length + f.evidence.moreNodes;
  if (named.length > 0) {
    const nodes = `Nodes: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
    lines.push(...wrap(nodes, width, DETAIL, `${DETAIL}       `));
  }
  const commandShownFor = memory.commandPrintedFor(f);
  const summary = memory.summaryOf(f);
  lines.push(...wrap(`Fix: ${summary.text}`, width, DETAIL, `${DETAIL}     `));
  if (full && f.remediation.configurationValues) {
    lines.push(`${DETAIL}configurationValues:`);
    for (const json of safeJson(f.remediation.configurationValues, 2).split('\n')) {
      lines.push(`${DETAIL}  ${json}`);
    }
  }
  const { command } = f.remediation;
  if (command && commandShownFor === null) {
    lines.push(`${DETAIL}Run:`, ...shellLines(command, width, `${DETAIL}  `, `${DETAIL}    `));
  } else if (command && summary.shared !== commandShownFor) {
    lines.push(...wrap(`Run: the command shown for ${commandShownFor} above.`, width, DETAIL));
  }
  if (full)
    for (const link of f.remediation.links) lines.push(...wrap(`See: ${link}`, width, DETAIL, `${DETAIL}     `));
  return lines;
}

/** `prefix` (which may hold ANSI colour) followed by `text` wrapped to the width, continued with `rest`. */
function styledWrap(prefix: string, text: string, width: number, rest: string): string[] {
  const plain = plainText(prefix);
  const lines = wrap(text, width, plain, rest);
  if (lines.length === 0) return [prefix.trimEnd()];
  lines[0] = prefix + (lines[0] ?? '').slice(plain.length);
  return lines;
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

/**
 * Fits text that was written without a width (e.g. a rule's explanation) to one: each longer line is wrapped at
 * word boundaries, its continuation lines indented two columns more than the line itself.
 */
export function fitText(text: string, width: number): string {
  const columns = Math.max(MIN_WIDTH, width);
  return text
    .split('\n')
    .flatMap((line) => {
      if (line.length <= columns) return [line];
      const indent = /^\s*/.exec(line)?.[0] ?? '';
      return wrap(line, columns, indent, `${indent}  `);
    })
    .join('\n');
}

/** "1 CRITICAL, 2 HIGH" over the findings that are not resolved. */
export function severityCounts(findings: ReadonlyArray<Finding>): string {
  const open = findings.filter((f) => f.state !== 'RESOLVED');
  return SEVERITIES.map((s) => [s, open.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

/**
 * A table: the header and rows padded to their columns (two spaces apart), `right` columns right-aligned, the
 * first column shortened to fit `width` (a longer cell then gets a line of its own above its row). `paint` may
 * colour a padded cell.
 */
export function textTable(
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  options: {
    width: number;
    right?: ReadonlyArray<boolean>;
    style?: TextStyle;
    paint?: (row: number, column: number, text: string) => string;
  },
): string[] {
  const style = options.style ?? textStyle(false);
  const right = options.right ?? [];
  const paint = options.paint ?? ((_row: number, _column: number, text: string) => text);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const others = widths.slice(1).reduce((sum, w) => sum + w + 2, 0);
  widths[0] = Math.min(widths[0] ?? 0, Math.max(header[0]?.length ?? 0, options.width - others));
  const line = (cells: ReadonlyArray<string>, row: number | null) =>
    cells
      .map((text, i) => {
        const last = i === cells.length - 1;
        const padded = right[i] ? text.padStart(widths[i] ?? 0) : last ? text : text.padEnd(widths[i] ?? 0);
        return row === null ? padded : paint(row, i, padded);
      })
      .join('  ')
      .trimEnd();
  const out = [style.bold(line(header, null))];
  rows.forEach((row, index) => {
    const first = row[0] ?? '';
    if (first.length > (widths[0] ?? 0)) out.push(first, line(['', ...row.slice(1)], index));
    else out.push(line(row, index));
  });
  return out;
}
