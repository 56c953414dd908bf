import { chartLimits } from '../measures.js';
import type { ChartLimits, ClusterMeasures, ClusterResult } from '../model.js';
import { DEFAULT_THRESHOLDS } from '../thresholds.js';
import { crossingOf, projectAt, serviceTrend, type Trend } from '../trend.js';
import { type Html, html, raw } from './markup.js';

/**
 * The HTML report's charts: inline SVG written here, server-side, through the same escaping `html` tag as the rest
 * of the page. Why no charting library: the page's Content-Security-Policy forbids scripts, so a browser-side
 * library (Chart.js, Vega embed, ECharts) cannot run, and the server-side ones either need a DOM (d3-selection
 * over jsdom) or write their own SVG markup (Vega's `toSVG`), which would put cluster names, node group tags and
 * other data outside the escaping that keeps hostile strings text. What is left for a library to do here is
 * linear and logarithmic scales and nice ticks, a few lines below.
 *
 * Every chart is a `<figure>` with an SVG whose `<title>` and `<desc>` say what it shows and which clusters are
 * over a threshold, a caption that explains the marks, and a data table with every number drawn. Thresholds are
 * dashed (MEDIUM) or solid (HIGH) lines with their value written beside them; bar segments are told apart by
 * pattern and label, never by colour alone. A value beyond an axis is drawn to the edge with a `»` mark and its
 * number. A cluster with nothing to draw gets a sentence in its row, never an empty or broken mark.
 */

/** A cluster as the charts list it: the report's label for it (its name) and where its section is. */
export interface ChartCluster {
  cluster: ClusterResult;
  anchor: string;
}

/** The charts section of the report, for clusters listed worst first. */
export function chartsSection(clusters: ReadonlyArray<ChartCluster>): Html {
  const recorded = clusters.find((c) => c.cluster.measures)?.cluster.measures?.limits;
  const limits = recorded ?? chartLimits(DEFAULT_THRESHOLDS);
  const source = recorded
    ? 'Threshold lines are the ones this run was judged with.'
    : 'This run did not record its thresholds (it was audited by an earlier version); the lines are the defaults.';
  return html`<section class="charts" aria-labelledby="charts-heading">
<h2 id="charts-heading">Close to the cliff?</h2>
<p class="note">${source} Dashed line: a MEDIUM threshold; solid line: a HIGH threshold. Each chart has its numbers
in a table below it.</p>
${PATTERNS}
${scaleChart(clusters, limits)}
${growthCharts(clusters)}
${syncChart(clusters, limits)}
${lockChart(clusters, limits)}
${coverageChart(clusters, limits)}
</section>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Services and iptables-save time against the thresholds

const WIDTH = 960;
const LABEL_X = 8;
const ROW = 30;

type Level = 'HIGH' | 'MEDIUM' | null;

/** The level a value reaches against strict thresholds (the rules compare with `>`). */
function levelOf(value: number, medium: number, high: number): Level {
  return value > high ? 'HIGH' : value > medium ? 'MEDIUM' : null;
}

/** Why a cluster has nothing to draw in a chart that reads its measures, or null when it has measures. */
function missing(cluster: ClusterResult): string | null {
  if (!cluster.measures) return 'not recorded: audited by a version before the charts';
  if (cluster.status === 'FAILED') return 'not audited';
  return null;
}

/** The save time the row draws: the backend whose p95 is nearest its HIGH threshold (both are in the table). */
function saveOf(m: ClusterMeasures, l: ChartLimits) {
  const candidates = [
    { backend: 'legacy', ms: m.saveMsP95.legacy, medium: l.saveMsMedium, high: l.saveMsHigh },
    { backend: 'nft', ms: m.saveMsP95.nft, medium: l.saveMsNftMedium, high: l.saveMsNftHigh },
  ].flatMap((c) => (c.ms === null ? [] : [{ ...c, ms: c.ms }]));
  return candidates.sort((a, b) => b.ms / b.high - a.ms / a.high)[0] ?? null;
}

export function scaleChart(clusters: ReadonlyArray<ChartCluster>, l: ChartLimits): Html {
  const id = 'chart-scale';
  const services = clusters.flatMap((c) => (c.cluster.measures?.services == null ? [] : [c.cluster.measures.services]));
  const saves = clusters.flatMap((c) => {
    const s = c.cluster.measures ? saveOf(c.cluster.measures, l) : null;
    return s ? [s] : [];
  });
  // The axis shows the thresholds with room to spare; a cluster far beyond (3 × HIGH) runs off its edge.
  const svcMax = niceCeil(Math.max(l.servicesHigh * 1.2, Math.min(Math.max(0, ...services), l.servicesHigh * 3)));
  const highs = saves.length === 0 ? [l.saveMsHigh] : saves.map((s) => s.high);
  const saveHi = 10 ** Math.ceil(Math.log10(Math.max(...highs) * 1.5));
  const saveLo = 10;
  const a = { x0: 190, x1: 500 };
  const b = { x0: 590, x1: WIDTH - 150 };
  const top = 50;
  const height = top + Math.max(1, clusters.length) * ROW + 34;
  const xs = (v: number) => a.x0 + (Math.min(v, svcMax) / svcMax) * (a.x1 - a.x0);
  const xl = (v: number) =>
    b.x0 +
    ((Math.log10(Math.min(Math.max(v, saveLo), saveHi)) - Math.log10(saveLo)) /
      (Math.log10(saveHi) - Math.log10(saveLo))) *
      (b.x1 - b.x0);
  const rowsBottom = top + clusters.length * ROW;
  const rows = clusters.map(({ cluster }, i) => {
    const y = top + i * ROW;
    const mid = y + ROW / 2;
    const why = missing(cluster);
    const label = rowLabel(cluster, mid);
    if (why !== null || !cluster.measures) {
      return html`<g class="row">${label}<text class="no-data" x="${a.x0}" y="${n(mid + 4)}">${why}</text></g>`;
    }
    const m = cluster.measures;
    const svc =
      m.services === null
        ? html`<text class="no-data" x="${a.x0}" y="${n(mid + 4)}">no Service count: no iptables-mode node</text>`
        : valueBar('services', a.x0, xs(m.services), y, m.services > svcMax, `${fmt(m.services)}`, {
            cluster,
            level: levelOf(m.services, l.servicesMedium, l.servicesHigh),
          });
    const s = saveOf(m, l);
    const save =
      s === null
        ? html`<text class="no-data" x="${b.x0}" y="${n(mid + 4)}">no iptables-save time</text>`
        : // the backend's own thresholds first, so the bar's number is written over them
          html`${tick(xl(s.medium), y + 3, y + ROW - 3, 'MEDIUM')}${tick(xl(s.high), y + 3, y + ROW - 3, 'HIGH')}${valueBar(
            'save',
            b.x0,
            xl(s.ms),
            y,
            s.ms > saveHi,
            `${fmt(s.ms)} ms ${s.backend}`,
            { cluster, level: levelOf(s.ms, s.medium, s.high) },
          )}`;
    return html`<g class="row">${label}${svc}${save}</g>`;
  });
  const svcTicks = linearTicks(svcMax).map(
    (v) =>
      html`${axisTick(xs(v), rowsBottom)}<text class="tick" x="${n(xs(v))}" y="${rowsBottom + 16}">${fmt(v)}</text>`,
  );
  const saveTicks = decades(saveLo, saveHi).map(
    (v) =>
      html`${axisTick(xl(v), rowsBottom)}<text class="tick" x="${n(xl(v))}" y="${rowsBottom + 16}">${ms(v)}</text>`,
  );
  const over = (values: ReadonlyArray<[string, number, Level]>) =>
    values.filter(([, , level]) => level !== null).map(([name, v, level]) => `${name} ${fmt(v)} (above ${level})`);
  const svcOver = over(
    clusters.flatMap(({ cluster: c }) =>
      c.measures?.services == null
        ? []
        : [[c.name, c.measures.services, levelOf(c.measures.services, l.servicesMedium, l.servicesHigh)] as const],
    ),
  );
  const saveOver = over(
    clusters.flatMap(({ cluster: c }) => {
      const s = c.measures ? saveOf(c.measures, l) : null;
      return s ? [[`${c.name} (${s.backend})`, s.ms, levelOf(s.ms, s.medium, s.high)] as const] : [];
    }),
  );
  const desc =
    `Two bars a cluster: its Services (p50 over iptables-mode nodes) against MEDIUM ${fmt(l.servicesMedium)} and ` +
    `HIGH ${fmt(l.servicesHigh)}, and its iptables-save time (p95, logarithmic axis) against its backend's ` +
    `thresholds (legacy ${fmt(l.saveMsMedium)} / ${fmt(l.saveMsHigh)} ms, nft ${fmt(l.saveMsNftMedium)} / ` +
    `${fmt(l.saveMsNftHigh)} ms). Services above a threshold: ${listOr(svcOver, 'none')}. ` +
    `Save time above a threshold: ${listOr(saveOver, 'none')}.`;
  const table = dataTable(
    ['Cluster', 'Services', 'Services level', 'Save p95 legacy', 'Save p95 nft', 'Save level'],
    clusters.map(({ cluster: c }) => {
      const m = c.measures;
      const s = m ? saveOf(m, l) : null;
      return [
        c.name,
        m?.services == null ? '—' : fmt(m.services),
        m?.services == null ? '—' : (levelOf(m.services, l.servicesMedium, l.servicesHigh) ?? 'below'),
        m?.saveMsP95.legacy == null ? '—' : `${fmt(m.saveMsP95.legacy)} ms`,
        m?.saveMsP95.nft == null ? '—' : `${fmt(m.saveMsP95.nft)} ms`,
        s === null ? (missing(c) ?? '—') : (levelOf(s.ms, s.medium, s.high) ?? 'below'),
      ];
    }),
  );
  return figure(
    id,
    'Services and iptables-save time per cluster',
    desc,
    height,
    html`<text class="panel" x="${a.x0}" y="14">Services (p50)</text>
<text class="panel" x="${b.x0}" y="14">iptables-save p95 (log scale)</text>
${thresholdLine(xs(l.servicesMedium), top - 4, rowsBottom, 'MEDIUM', `> ${fmt(l.servicesMedium)}`, 42)}
${thresholdLine(xs(l.servicesHigh), top - 4, rowsBottom, 'HIGH', `> ${fmt(l.servicesHigh)}`, 42)}
${rows}
${axisLine(a.x0, a.x1, rowsBottom)}${svcTicks}${axisLine(b.x0, b.x1, rowsBottom)}${saveTicks}`,
    html`Each row is a cluster, worst first. Left: its Service count; right: how long iptables-save took, on the
backend whose time is nearest its HIGH threshold (both backends are in the table). A bar ending in » runs beyond the
axis; its number is written at the end.`,
    table,
  );
}

/** A horizontal bar from x0 to x1 in a row, with its value written after it; `over` marks a value beyond the axis. */
function valueBar(
  series: string,
  x0: number,
  x1: number,
  y: number,
  over: boolean,
  label: string,
  { cluster, level }: { cluster: ClusterResult; level: Level },
): Html {
  const width = Math.max(2, x1 - x0);
  const levelClass = level === null ? 'below' : level.toLowerCase();
  return html`<g class="mark bar ${series} lvl-${levelClass}${over ? ' over' : ''}"><title>${cluster.name}: ${label}${
    level === null ? '' : ` (above ${level})`
  }</title><rect x="${n(x0)}" y="${y + 7}" width="${n(width)}" height="${ROW - 14}"/>${
    over ? html`<text class="over-mark" x="${n(x0 + width - 12)}" y="${y + ROW / 2 + 4}">»</text>` : null
  }<text class="value" x="${n(x0 + width + 5)}" y="${y + ROW / 2 + 4}">${label}${level === null ? '' : ` ${level}`}</text></g>`;
}

// ---------------------------------------------------------------------------------------------------------------
// Service count over the stored runs, with the growth projection

const SMALL_W = 460;
const SMALL_H = 210;

export function growthCharts(clusters: ReadonlyArray<ChartCluster>): Html {
  const drawn: Html[] = [];
  const without: string[] = [];
  clusters.forEach(({ cluster }, i) => {
    const why = missing(cluster);
    const history = cluster.measures?.serviceHistory ?? [];
    if (why !== null && !(cluster.measures && history.length > 0)) {
      without.push(`${cluster.name} (${why})`);
    } else if (history.length === 0) {
      without.push(`${cluster.name} (no Service count stored: no iptables-mode node)`);
    } else if (cluster.measures) {
      drawn.push(growthChart(cluster, cluster.measures, `chart-growth-${i + 1}`));
    }
  });
  return html`<section class="chart-group" id="chart-growth" aria-labelledby="chart-growth-heading">
<h3 id="chart-growth-heading">Service count over the stored runs, and where it is heading</h3>
<p class="note">One point a day the cluster was audited completely; a square is this run. The dashed line is the
SCALE-GROWTH trend (the median of the slopes between every two points) projected to its horizon; a vertical mark is the
day it passes a threshold.</p>
${drawn.length === 0 ? null : html`<div class="small-multiples">${drawn}</div>`}
${without.length === 0 ? null : html`<p class="no-data-list">No Service counts to draw: ${without.join('; ')}.</p>`}
</section>`;
}

function growthChart(cluster: ClusterResult, m: ClusterMeasures, id: string): Html {
  const l = m.limits;
  // x = 0 is this run; when it has no Service count, the last stored day (the history holds no point for this run)
  const anchor = m.serviceHistory.at(-1) ?? { at: '', services: 0 };
  const current = m.services === null ? null : anchor;
  const trend = serviceTrend(m.serviceHistory.slice(0, -1), anchor.services, anchor.at);
  if (trend === null) {
    return figure(
      id,
      cluster.name,
      `${cluster.name}: the stored times do not parse, so nothing is drawn.`,
      0,
      null,
      html`No data: the stored run times of ${cluster.name} are not times.`,
      null,
    );
  }
  const points = [...trend.earlier, { x: 0, y: anchor.services }];
  const projecting = current !== null && trend.fit !== null && trend.earlier.length >= l.growthMinSnapshots;
  const fit: Trend | null = projecting ? trend.fit : null;
  const horizon = l.growthHorizonDays;
  const xMin = Math.min(-1, ...points.map((p) => p.x));
  const xMax = fit ? horizon : 1;
  const projected = fit ? projectAt(fit, horizon) : null;
  const yMax = niceCeil(
    Math.max(l.servicesHigh * 1.15, Math.min(Math.max(...points.map((p) => p.y), projected ?? 0), l.servicesHigh * 3)),
  );
  const box = { x0: 56, x1: SMALL_W - 14, y0: 26, y1: SMALL_H - 34 };
  const px = (x: number) => box.x0 + ((x - xMin) / (xMax - xMin)) * (box.x1 - box.x0);
  const py = (y: number) => box.y1 - (Math.min(Math.max(y, 0), yMax) / yMax) * (box.y1 - box.y0);
  const day = (x: number) => new Date(trend.now + x * 86_400_000).toISOString().slice(0, 10);
  const marks = points.map((p) => {
    const over = p.y > yMax;
    const isNow = current !== null && p.x === 0;
    const title = html`<title>${day(p.x)}: ${fmt(p.y)} Services${isNow ? ' (this run)' : ''}</title>`;
    const cx = n(px(p.x));
    const cy = n(py(p.y));
    if (over) {
      return html`<g class="mark point over">${title}<path d="M${cx} ${n(box.y0 - 8)}l-5 8h10z"/><text class="value" x="${n(px(p.x) + 7)}" y="${n(box.y0 + 2)}">${fmt(p.y)}</text></g>`;
    }
    return isNow
      ? html`<g class="mark point now">${title}<rect x="${n(px(p.x) - 4.5)}" y="${n(py(p.y) - 4.5)}" width="9" height="9"/></g>`
      : html`<g class="mark point">${title}<circle cx="${cx}" cy="${cy}" r="3.5"/></g>`;
  });
  const segment = fit ? clipLine(fit, xMin, xMax, 0, yMax) : null;
  const crossings = fit
    ? (
        [
          ['MEDIUM', l.servicesMedium],
          ['HIGH', l.servicesHigh],
        ] as const
      ).flatMap(([level, threshold]) => {
        if (current === null || current.services > threshold) return [];
        const at = crossingOf(fit, threshold, trend.now);
        return at !== null && at.days <= horizon ? [{ level, threshold, ...at }] : [];
      })
    : [];
  const crossingMarks = crossings.map(
    (c) =>
      html`<g class="mark crossing"><title>passes ${c.level} ${fmt(c.threshold)} about ${c.date}</title><line x1="${n(px(c.days))}" x2="${n(px(c.days))}" y1="${n(py(c.threshold) - 10)}" y2="${n(py(c.threshold) + 10)}"/><text class="value end" x="${n(px(c.days) - 4)}" y="${n(py(c.threshold) - 13)}">${c.date}</text></g>`,
  );
  const sentence = growthSentence(cluster, m, trend.earlier.length, projected, fit, crossings);
  const yTicks = linearTicks(yMax, 4).map(
    (v) =>
      html`<line class="grid" x1="${box.x0}" x2="${box.x1}" y1="${n(py(v))}" y2="${n(py(v))}"/><text class="tick end" x="${box.x0 - 6}" y="${n(py(v) + 4)}">${fmt(v)}</text>`,
  );
  const xTicks = [...new Set([xMin, 0, ...(fit ? [horizon] : [])].map((x) => Math.round(x * 1000) / 1000))].map(
    (x) =>
      html`${axisTick(px(x), box.y1)}<text class="tick${x === xMax && x !== 0 ? ' end' : ''}" x="${n(px(x))}" y="${box.y1 + 16}">${x === 0 && current !== null ? `${day(0)} (now)` : day(x)}</text>`,
  );
  const table = dataTable(
    ['Day', 'Services'],
    [
      ...points.map((p) => [`${day(p.x)}${current !== null && p.x === 0 ? ' (this run)' : ''}`, fmt(p.y)]),
      ...(fit && projected !== null ? [[`${day(horizon)} (projected)`, fmt(Math.round(projected))]] : []),
    ],
  );
  return figure(
    id,
    cluster.name,
    sentence,
    SMALL_H,
    html`${yTicks}
${hThreshold(box.x0, box.x1, py(l.servicesMedium), 'MEDIUM', `> ${fmt(l.servicesMedium)}`)}
${hThreshold(box.x0, box.x1, py(l.servicesHigh), 'HIGH', `> ${fmt(l.servicesHigh)}`)}
${axisLine(box.x0, box.x1, box.y1)}${xTicks}
${segment ? html`<path class="mark projection" d="M${n(px(segment[0]))} ${n(py(projectAt(fit as Trend, segment[0])))}L${n(px(segment[1]))} ${n(py(projectAt(fit as Trend, segment[1])))}"/>` : null}
${marks}${crossingMarks}`,
    html`${sentence}`,
    table,
    'small',
  );
}

function growthSentence(
  cluster: ClusterResult,
  m: ClusterMeasures,
  earlier: number,
  projected: number | null,
  fit: Trend | null,
  crossings: ReadonlyArray<{ level: string; threshold: number; date: string }>,
): string {
  const l = m.limits;
  const now =
    m.services === null
      ? `${cluster.name}: no Service count this run`
      : `${cluster.name}: ${fmt(m.services)} Services now`;
  if (fit === null || projected === null) {
    const why =
      m.services === null
        ? 'no projection'
        : `no projection: it needs ${l.growthMinSnapshots} earlier runs, ${earlier} stored`;
    return `${now}; ${why}.`;
  }
  const rate = `${fit.slope >= 0 ? '+' : ''}${fmt(Math.round(fit.slope * 10) / 10)} a day over ${earlier + 1} runs`;
  const ahead = `about ${fmt(Math.round(projected))} in ${l.growthHorizonDays} days`;
  const cross =
    crossings.length === 0
      ? `no threshold passed within ${l.growthHorizonDays} days`
      : crossings.map((c) => `passes ${c.level} ${fmt(c.threshold)} about ${c.date}`).join(', ');
  return `${now}, ${rate}: ${ahead}; ${cross}.`;
}

/** The x range [from, to] within [x0, x1] where the line stays inside [y0, y1]; null when it never does. */
function clipLine(fit: Trend, x0: number, x1: number, y0: number, y1: number): [number, number] | null {
  let from = x0;
  let to = x1;
  if (fit.slope === 0) return fit.intercept >= y0 && fit.intercept <= y1 ? [from, to] : null;
  const a = (y0 - fit.intercept) / fit.slope;
  const b = (y1 - fit.intercept) / fit.slope;
  from = Math.max(from, Math.min(a, b));
  to = Math.min(to, Math.max(a, b));
  return from < to ? [from, to] : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Distributions across nodes: kube-proxy sync p99, xtables lock waits

/** kube-proxy's bucket bounds as columns: 0 (under 1 ms), then 0.001 × 2^k s for k = 0 … 14 (the last: +Inf). */
const SYNC_COLUMNS = [0, ...Array.from({ length: 15 }, (_, k) => Math.round(0.001 * 2 ** k * 1000) / 1000)];

function syncColumnOf(atLeastSeconds: number): number {
  if (atLeastSeconds <= 0) return 0;
  return Math.min(SYNC_COLUMNS.length - 1, Math.max(1, Math.round(Math.log2(atLeastSeconds / 0.001)) + 1));
}

export function syncChart(clusters: ReadonlyArray<ChartCluster>, l: ChartLimits): Html {
  const columns = SYNC_COLUMNS.map((bound, i) =>
    i === 0 ? '< 1 ms' : i === SYNC_COLUMNS.length - 1 ? '> 16.4 s' : `≥ ${seconds(bound)}`,
  );
  // a node fires when its p99's lower bound is above the threshold: the line sits before the first such column
  const firstAbove = (threshold: number) => SYNC_COLUMNS.findIndex((bound) => bound > threshold);
  const rows = clusters.map(({ cluster }) => {
    const why = missing(cluster);
    const m = cluster.measures;
    if (why !== null || !m) return { cluster, why, cells: [], extra: '' };
    const cells = m.syncP99.buckets.map((b) => ({
      column: syncColumnOf(b.atLeastSeconds),
      nodes: b.nodes,
      title: `${b.nodes} nodes with a sync p99 ${columns[syncColumnOf(b.atLeastSeconds)]}`,
    }));
    return {
      cluster,
      why: cells.length === 0 ? 'no node reported a sync p99' : null,
      cells,
      extra: m.syncP99.unknown > 0 ? `+${m.syncP99.unknown} without` : '',
    };
  });
  const over = clusters.flatMap(({ cluster: c }) => {
    const above = (c.measures?.syncP99.buckets ?? []).filter((b) => b.atLeastSeconds > l.syncP99SecondsMedium);
    const count = above.reduce((sum, b) => sum + b.nodes, 0);
    return count === 0 ? [] : [`${c.name} ${count} nodes`];
  });
  const desc =
    `For each cluster, how many reached nodes have their kube-proxy sync p99 in each of kube-proxy's histogram ` +
    `buckets (lower bound shown). MEDIUM above ${seconds(l.syncP99SecondsMedium)}, HIGH above ` +
    `${seconds(l.syncP99SecondsHigh)}. Nodes above MEDIUM: ${listOr(over, 'none')}.`;
  return matrixChart({
    id: 'chart-sync',
    title: 'kube-proxy sync p99 across nodes',
    desc,
    columns,
    rows,
    lines: [
      { column: firstAbove(l.syncP99SecondsMedium), level: 'MEDIUM', label: `> ${seconds(l.syncP99SecondsMedium)}` },
      { column: firstAbove(l.syncP99SecondsHigh), level: 'HIGH', label: `> ${seconds(l.syncP99SecondsHigh)}` },
    ],
    caption: html`Each row is a cluster; each circle counts the nodes whose sync p99 fell in that bucket (the number
is written in it). kube-proxy reports the p99 as a histogram bucket, so a node's value is at least the bucket's lower
bound; “&gt; 16.4 s” is beyond the top bucket.`,
    table: dataTable(
      ['Cluster', ...columns, 'Without a sync p99'],
      rows.map((r) => [
        r.cluster.name,
        ...columns.map((_, i) => (r.why === null ? String(r.cells.find((c) => c.column === i)?.nodes ?? 0) : '—')),
        r.cluster.measures ? String(r.cluster.measures.syncP99.unknown) : '—',
      ]),
    ),
  });
}

export function lockChart(clusters: ReadonlyArray<ChartCluster>, l: ChartLimits): Html {
  const columns = ['none', '< 10 %', ...Array.from({ length: 9 }, (_, d) => `${(d + 1) * 10}–${(d + 2) * 10} %`)];
  const rows = clusters.map(({ cluster }) => {
    const why = missing(cluster);
    const m = cluster.measures;
    if (why !== null || !m) return { cluster, why, cells: [], extra: '' };
    const w = m.lockWaits;
    const counts = [w.none, ...w.deciles];
    const cells = counts.flatMap((nodes, column) =>
      nodes === 0 ? [] : [{ column, nodes, title: `${nodes} nodes waited ${columns[column]} of their samples` }],
    );
    const extra = [
      w.notApplicable > 0 ? `+${w.notApplicable} no lock` : '',
      w.unknown > 0 ? `+${w.unknown} unknown` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const reason =
      cells.length > 0
        ? null
        : w.notApplicable > 0 && w.unknown === 0
          ? 'no xtables lock: iptables-nft takes none'
          : 'no lock samples';
    return { cluster, why: reason, cells, extra };
  });
  const over = clusters.flatMap(({ cluster: c }) => {
    const deciles = c.measures?.lockWaits.deciles ?? [];
    const count = deciles.reduce((sum, nodes, d) => sum + (d / 10 >= l.lockWaitedShareHigh ? nodes : 0), 0);
    return count === 0 ? [] : [`${c.name} ${count} nodes`];
  });
  const desc =
    `For each cluster, how many reached nodes had a writer queued for the xtables lock in what share of their lock ` +
    `samples. A share of ${pct(l.lockWaitedShareHigh)} or more is HIGH for XT-LOCK-CONTENTION. Nodes at or above ` +
    `it: ${listOr(over, 'none')}.`;
  return matrixChart({
    id: 'chart-lock',
    title: 'xtables lock waits across nodes',
    desc,
    columns,
    rows,
    // column 0 is "none"; decile d spans columns d+1 … d+2, so a share s sits at 1 + 10 s
    lines: [{ column: 1 + l.lockWaitedShareHigh * 10, level: 'HIGH', label: `≥ ${pct(l.lockWaitedShareHigh)}` }],
    caption: html`Each row is a cluster; each circle counts its nodes whose lock probes saw a writer waiting in that
share of samples. Any wait is at least MEDIUM; the line is the waited share that makes it HIGH (more waiters at once,
or kube-proxy lock errors, make it HIGH too). Nodes with iptables-nft only take no lock and are counted beside the row.`,
    table: dataTable(
      ['Cluster', ...columns, 'No lock (nft)', 'Unknown'],
      rows.map((r) => {
        const w = r.cluster.measures?.lockWaits;
        const cells = w ? [w.none, ...w.deciles].map(String) : columns.map(() => '—');
        return [r.cluster.name, ...cells, w ? String(w.notApplicable) : '—', w ? String(w.unknown) : '—'];
      }),
    ),
  });
}

interface MatrixRow {
  cluster: ClusterResult;
  /** why the row has no circles, or null */
  why: string | null;
  cells: ReadonlyArray<{ column: number; nodes: number; title: string }>;
  /** nodes counted beside the row (unknown, not applicable) */
  extra: string;
}

/** A grid of circles: a row per cluster, a column per bucket, each circle sized by and labelled with its count. */
function matrixChart(spec: {
  id: string;
  title: string;
  desc: string;
  columns: ReadonlyArray<string>;
  rows: ReadonlyArray<MatrixRow>;
  lines: ReadonlyArray<{ column: number; level: 'MEDIUM' | 'HIGH'; label: string }>;
  caption: Html;
  table: Html;
}): Html {
  const x0 = 190;
  const x1 = WIDTH - 10;
  const cw = (x1 - x0) / spec.columns.length;
  const top = 44;
  const row = 36;
  const rowsBottom = top + spec.rows.length * row;
  const height = rowsBottom + 40;
  const maxNodes = Math.max(1, ...spec.rows.flatMap((r) => r.cells.map((c) => c.nodes)));
  const cx = (column: number) => x0 + (column + 0.5) * cw;
  const rows = spec.rows.map((r, i) => {
    const y = top + i * row;
    const mid = y + row / 2;
    const label = rowLabel(r.cluster, mid - (r.extra ? 5 : 0));
    const extra = r.extra ? html`<text class="extra" x="${LABEL_X}" y="${n(mid + 11)}">${r.extra}</text>` : null;
    if (r.why !== null) {
      return html`<g class="row">${label}${extra}<text class="no-data" x="${x0 + 4}" y="${n(mid + 4)}">${r.why}</text></g>`;
    }
    const circles = r.cells.map((c) => {
      const radius = 9 + 6 * Math.sqrt(c.nodes / maxNodes);
      const above = spec.lines.some((line) => c.column >= line.column);
      return html`<g class="mark cell${above ? ' above' : ''}"><title>${r.cluster.name}: ${c.title}</title><circle cx="${n(cx(c.column))}" cy="${n(mid)}" r="${n(radius)}"/><text class="count" x="${n(cx(c.column))}" y="${n(mid + 4)}">${c.nodes}</text></g>`;
    });
    return html`<g class="row">${label}${extra}<line class="grid" x1="${x0}" x2="${x1}" y1="${n(mid)}" y2="${n(mid)}"/>${circles}</g>`;
  });
  const heads = spec.columns.map(
    (c, i) =>
      html`<text class="tick${i % 2 === 1 ? ' odd' : ''}" x="${n(cx(i))}" y="${rowsBottom + (i % 2 === 0 ? 16 : 30)}">${c}</text>`,
  );
  const lines = spec.lines
    .filter((line) => line.column >= 0)
    .map((line) => thresholdLine(x0 + line.column * cw, top - 4, rowsBottom, line.level, line.label, 34));
  return figure(
    spec.id,
    spec.title,
    spec.desc,
    height,
    html`${lines}${rows}${axisLine(x0, x1, rowsBottom)}${heads}`,
    spec.caption,
    spec.table,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Node coverage

export function coverageChart(clusters: ReadonlyArray<ChartCluster>, l: ChartLimits): Html {
  const x0 = 190;
  const x1 = WIDTH - 120;
  const top = 44;
  const rowsBottom = top + clusters.length * ROW;
  const height = rowsBottom + 34;
  const xr = (share: number) => x0 + share * (x1 - x0);
  const rows = clusters.map(({ cluster }, i) => {
    const y = top + i * ROW;
    const mid = y + ROW / 2;
    const label = rowLabel(cluster, mid);
    const { expected, reached, failed, unreachable } = cluster.nodes;
    if (expected === 0) {
      return html`<g class="row">${label}<text class="no-data" x="${x0 + 4}" y="${n(mid + 4)}">no nodes found</text></g>`;
    }
    let at = 0;
    const segments = (
      [
        ['reached', reached],
        ['failed', failed],
        ['unreachable', unreachable],
      ] as const
    ).flatMap(([kind, count]) => {
      if (count === 0) return [];
      const from = at;
      at += count / expected;
      const w = xr(at) - xr(from);
      return [
        html`<rect class="seg seg-${kind}" x="${n(xr(from))}" y="${y + 6}" width="${n(w)}" height="${ROW - 12}"><title>${count} ${kind}</title></rect>${
          w > 26
            ? html`<text class="seg-label seg-label-${kind}" x="${n(xr(from) + w / 2)}" y="${n(mid + 4)}">${count}</text>`
            : null
        }`,
      ];
    });
    const uncovered = (failed + unreachable) / expected;
    const level = uncovered >= l.uncoveredShareMedium ? ' MEDIUM' : uncovered > 0 ? ' LOW' : '';
    return html`<g class="mark coverage"><title>${cluster.name}: ${reached} of ${expected} nodes read, ${failed} failed, ${unreachable} unreachable</title>${label}${segments}<text class="value" x="${n(x1 + 6)}" y="${n(mid + 4)}">${reached}/${expected} read${level}</text></g>`;
  });
  const short = clusters.flatMap(({ cluster: c }) => {
    const { expected, reached } = c.nodes;
    return expected > 0 && reached < expected ? [`${c.name} ${reached} of ${expected}`] : [];
  });
  const desc =
    `Share of each cluster's nodes the audit read, failed on, or could not reach. With ${pct(l.uncoveredShareMedium)} ` +
    `or more not read AUDIT-COVERAGE is MEDIUM. Clusters not fully read: ${listOr(short, 'none')}.`;
  const table = dataTable(
    ['Cluster', 'Expected', 'Read', 'Failed', 'Unreachable'],
    clusters.map(({ cluster: c }) => [
      c.name,
      String(c.nodes.expected),
      String(c.nodes.reached),
      String(c.nodes.failed),
      String(c.nodes.unreachable),
    ]),
  );
  return figure(
    'chart-coverage',
    'Node coverage per cluster',
    desc,
    height,
    html`${thresholdLine(xr(1 - l.uncoveredShareMedium), top - 4, rowsBottom, 'MEDIUM', `≥ ${pct(l.uncoveredShareMedium)} not read`, 34)}
${rows}${axisLine(x0, x1, rowsBottom)}${[0, 0.25, 0.5, 0.75, 1].map(
  (s) => html`${axisTick(xr(s), rowsBottom)}<text class="tick" x="${n(xr(s))}" y="${rowsBottom + 16}">${pct(s)}</text>`,
)}`,
    html`Each bar is a cluster's nodes: <svg class="swatch" viewBox="0 0 16 10" aria-hidden="true"><rect class="seg seg-reached" width="16" height="10"/></svg> read (solid),
<svg class="swatch" viewBox="0 0 16 10" aria-hidden="true"><rect class="seg seg-failed" width="16" height="10"/></svg> failed (hatched),
<svg class="swatch" viewBox="0 0 16 10" aria-hidden="true"><rect class="seg seg-unreachable" width="16" height="10"/></svg> unreachable (dotted), with the count in each part wide enough to hold it.
A bar whose solid part ends left of the line has too few nodes read to be representative.`,
    table,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Pieces

/** Hatching and dots for bar segments, defined once for every chart on the page. */
const PATTERNS = raw(`<svg class="chart-defs" width="0" height="0" aria-hidden="true" focusable="false"><defs>
<pattern id="pat-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b42318" stroke-width="3"/></pattern>
<pattern id="pat-dots" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#fff"/><circle cx="3" cy="3" r="1.6" fill="#344054"/></pattern>
</defs></svg>`);

function figure(
  id: string,
  title: string,
  desc: string,
  height: number,
  body: Html | null,
  caption: Html,
  table: Html | null,
  size: 'wide' | 'small' = 'wide',
): Html {
  const width = size === 'small' ? SMALL_W : WIDTH;
  const svg =
    body === null
      ? null
      : html`<svg class="chart-svg" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}-t ${id}-d"><title id="${id}-t">${title}</title><desc id="${id}-d">${desc}</desc>${body}</svg>`;
  const heading = size === 'small' ? html`<h4>${title}</h4>` : html`<h3>${title}</h3>`;
  return html`<figure class="chart chart-${size}" id="${id}">
${heading}
${svg ?? html`<p class="no-data">No data.</p>`}
<figcaption>${caption}</figcaption>
${table === null ? null : html`<details class="chart-data"><summary>The numbers</summary>${table}</details>`}
</figure>`;
}

function dataTable(head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Html {
  return html`<div class="table-wrap"><table class="chart-table"><thead><tr>${head.map(
    (h) => html`<th scope="col">${h}</th>`,
  )}</tr></thead><tbody>${rows.map(
    (r) =>
      html`<tr>${r.map((cell, i) => (i === 0 ? html`<th scope="row">${cell}</th>` : html`<td>${cell}</td>`))}</tr>`,
  )}</tbody></table></div>`;
}

/** The cluster's name at the left of a row, cut to fit (the whole name is in its title and the table). */
function rowLabel(cluster: ClusterResult, y: number): Html {
  const chars = [...cluster.name];
  const shown = chars.length > 24 ? `${chars.slice(0, 23).join('')}…` : cluster.name;
  return html`<text class="row-label" x="${LABEL_X}" y="${n(y + 4)}"><title>${cluster.name}</title>${shown}</text>`;
}

function thresholdLine(
  x: number,
  y0: number,
  y1: number,
  level: 'MEDIUM' | 'HIGH',
  label: string,
  labelY: number,
): Html {
  const cls = level.toLowerCase();
  // MEDIUM's label sits a line above HIGH's, so two close thresholds do not write over each other
  const y = level === 'MEDIUM' ? labelY - 13 : labelY;
  return html`<g class="threshold thr-${cls}"><line x1="${n(x)}" x2="${n(x)}" y1="${n(y0)}" y2="${n(y1)}"/><text x="${n(x)}" y="${y}">${level} ${label}</text></g>`;
}

function hThreshold(x0: number, x1: number, y: number, level: 'MEDIUM' | 'HIGH', label: string): Html {
  const cls = level.toLowerCase();
  return html`<g class="threshold thr-${cls}"><line x1="${x0}" x2="${x1}" y1="${n(y)}" y2="${n(y)}"/><text class="start" x="${x0 + 4}" y="${n(y - 4)}">${level} ${label}</text></g>`;
}

/** A short threshold mark inside one row (a backend's own threshold). */
function tick(x: number, y0: number, y1: number, level: 'MEDIUM' | 'HIGH'): Html {
  return html`<line class="row-thr thr-${level.toLowerCase()}" x1="${n(x)}" x2="${n(x)}" y1="${y0}" y2="${y1}"/>`;
}

function axisLine(x0: number, x1: number, y: number): Html {
  return html`<line class="axis" x1="${n(x0)}" x2="${n(x1)}" y1="${y}" y2="${y}"/>`;
}

function axisTick(x: number, y: number): Html {
  return html`<line class="axis" x1="${n(x)}" x2="${n(x)}" y1="${y}" y2="${y + 4}"/>`;
}

/** The smallest 1, 2, 2.5 or 5 × 10^k at or above a value. */
export function niceCeil(value: number): number {
  if (!(value > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  const m = value / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

/** About `count` round ticks from 0 to max. */
function linearTicks(max: number, count = 5): number[] {
  const step = niceCeil(max / count);
  return Array.from({ length: Math.floor(max / step + 1e-9) + 1 }, (_, i) => i * step);
}

function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let v = lo; v <= hi * 1.0001; v *= 10) out.push(v);
  return out;
}

/** A coordinate with at most one decimal. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function fmt(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

function ms(value: number): string {
  return value >= 1000 ? `${fmt(value / 1000)} s` : `${fmt(value)} ms`;
}

function seconds(value: number): string {
  return value >= 1 ? `${fmt(Math.round(value * 100) / 100)} s` : `${fmt(Math.round(value * 1000))} ms`;
}

function pct(share: number): string {
  return `${fmt(Math.round(share * 1000) / 10)} %`;
}

function listOr(items: ReadonlyArray<string>, none: string): string {
  return items.length === 0 ? none : items.join(', ');
}
