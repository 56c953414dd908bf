import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterMeasures, type ClusterResult, type RunResult, RunResultSchema } from '#audit/model.js';
import { renderRunHtml } from '#audit/render/html.js';
import { chromium as chromiumIn, chromiumOutput, pageRequests } from './chromium.js';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '../../bin/fleet-audit.js');
const HOSTILE = `<script>alert("pwned")</script>'quoted' & co`;

/** How Chromium serialises a text node: only &, < and > are escaped (quotes stay as they are). */
const domText = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** A copy of a real cluster whose name and evidence carry markup, as a hostile tag or log line could. */
function hostileCopy(cluster: ClusterResult): ClusterResult {
  return {
    ...cluster,
    name: HOSTILE,
    findings: cluster.findings.map((f) => ({
      ...f,
      evidence: { ...f.evidence, summary: `${f.evidence.summary} <img src=x onerror=alert(1)> ${HOSTILE}` },
    })),
  };
}

describe('the HTML report in headless Chromium', () => {
  let dir: string;
  let run: RunResult;
  let page: string;

  const chromium = (args: string[]) => chromiumIn(dir, args);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-audit-html-'));
    const { stdout } = await exec(
      process.execPath,
      [CLI, 'run', '--local', '--fresh', '--json', '--state-dir', join(dir, 'state')],
      { maxBuffer: 32 * 1024 * 1024 },
    );
    const realistic = RunResultSchema.parse(JSON.parse(stdout));
    const troubled = realistic.clusters.find((c) => c.findings.length > 1);
    if (!troubled) throw new Error('the default scenario has no cluster with findings');
    run = { ...realistic, clusters: [...realistic.clusters, hostileCopy(troubled)] };
    page = join(dir, 'report.html');
    await writeFile(page, renderRunHtml(run));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('loads as a DOM with one cluster-table row per cluster and the hostile strings as text only', async () => {
    // Act
    const dom = await chromium(['--dump-dom', pathToFileURL(page).href]);

    // Assert
    const tbody = dom.slice(dom.indexOf('<table class="clusters">'), dom.indexOf('</tbody>'));
    const rowNames = [...tbody.matchAll(/<th scope="row"><a href="#cluster-\d+">([^<]*)<\/a><\/th>/g)].map((m) => m[1]);
    expect(rowNames.sort()).toEqual(run.clusters.map((c) => domText(c.name)).sort());
    expect(rowNames).toHaveLength(7);
    expect(dom).toContain(domText(HOSTILE));
    expect(dom).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(dom).not.toMatch(/<script/i);
    expect(dom).not.toMatch(/<img/i);
    const scores = [...tbody.matchAll(/<span class="score band-[a-z-]+">(?:<strong>(\d+)<\/strong>|not audited)/g)].map(
      (m) => (m[1] === undefined ? -1 : Number(m[1])),
    );
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
  });

  it('draws every chart with its marks and says nothing on the console', async () => {
    // Arrange: what each chart must show, counted from the run (FAILED clusters have no marks but coverage)
    const audited = run.clusters.flatMap((c) => (c.measures && c.status !== 'FAILED' ? [c.measures] : []));
    const drawnHistory = run.clusters.flatMap((c) => (c.measures?.serviceHistory.length ? [c.measures] : []));
    const projected = (m: ClusterMeasures) =>
      m.services !== null && m.serviceHistory.length - 1 >= m.limits.growthMinSnapshots;
    const nonZero = (m: ClusterMeasures) => [m.lockWaits.none, ...m.lockWaits.deciles].filter((n) => n > 0).length;
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

    // Act
    const { stdout: dom, stderr } = await chromiumOutput(dir, [
      '--enable-logging=stderr',
      '--v=0',
      '--dump-dom',
      pathToFileURL(page).href,
    ]);

    // Assert
    const count = (pattern: RegExp) => dom.match(pattern)?.length ?? 0;
    for (const id of ['chart-scale', 'chart-growth', 'chart-sync', 'chart-lock', 'chart-coverage']) {
      expect(dom).toContain(`id="${id}"`);
    }
    expect(count(/<g class="mark bar services[ "]/g)).toBe(audited.filter((m) => m.services !== null).length);
    expect(count(/<g class="mark point[ "]/g)).toBe(sum(drawnHistory.map((m) => m.serviceHistory.length)));
    expect(count(/<path class="mark projection"/g)).toBe(drawnHistory.filter(projected).length);
    expect(count(/<path class="mark projection"/g)).toBeGreaterThan(0);
    expect(count(/<g class="mark crossing"/g)).toBeGreaterThan(0);
    expect(count(/<g class="mark cell[ "]/g)).toBe(
      sum(audited.map((m) => m.syncP99.buckets.length)) + sum(audited.map(nonZero)),
    );
    expect(count(/<g class="mark coverage"/g)).toBe(run.clusters.filter((c) => c.nodes.expected > 0).length);
    // every chart has an accessible name and description, and its numbers as a table
    const svgs = count(/<svg class="chart-svg"/g);
    expect(svgs).toBe(4 + drawnHistory.length);
    expect(count(/<svg class="chart-svg"[^>]*role="img"[^>]*aria-labelledby="[^"]+-t [^"]+-d"><title id=/g)).toBe(svgs);
    expect(count(/<table class="chart-table">/g)).toBe(svgs);
    expect(dom).toContain(`<desc id="chart-scale-d">`);
    expect(stderr.split('\n').filter((line) => line.includes(':CONSOLE'))).toEqual([]);
  });

  it('requests nothing over the network even with its Content-Security-Policy taken out', async () => {
    // Arrange: the CSP would block a load and hide it; without it, any load the page makes shows in the net log
    const open = join(dir, 'report-no-csp.html');
    const netLog = join(dir, 'net-log.json');
    const text = await readFile(page, 'utf8');
    const withoutCsp = text.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '');
    expect(withoutCsp).not.toBe(text);
    await writeFile(open, withoutCsp);

    // Act
    await chromium([`--log-net-log=${netLog}`, '--dump-dom', pathToFileURL(open).href]);

    // Assert
    expect(pageRequests(await readFile(netLog, 'utf8'))).toEqual([]);
  });

  it('takes a 1280 px wide screenshot of a sane size', async () => {
    // Arrange
    const png = join(dir, 'report.png');

    // Act
    await chromium(['--hide-scrollbars', '--window-size=1280,2000', `--screenshot=${png}`, pathToFileURL(page).href]);

    // Assert
    const bytes = await readFile(png);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([1280, 2000]);
    expect(bytes.length).toBeGreaterThan(10 * 1024);
  });

  it('prints to a PDF', async () => {
    // Arrange
    const pdf = join(dir, 'report.pdf');

    // Act
    await chromium(['--no-pdf-header-footer', `--print-to-pdf=${pdf}`, pathToFileURL(page).href]);

    // Assert
    const bytes = await readFile(pdf);
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(bytes.length).toBeGreaterThan(10 * 1024);
  });
});
