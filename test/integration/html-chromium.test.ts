import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterResult, type RunResult, RunResultSchema } from '#audit/model.js';
import { renderRunHtml } from '#audit/render/html.js';
import { chromium as chromiumIn } from './chromium.js';

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
