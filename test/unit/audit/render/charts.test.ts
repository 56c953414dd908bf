import { describe, expect, it } from 'vitest';
import type { ClusterResult } from '#audit/model.js';
import {
  type ChartCluster,
  chartsSection,
  coverageChart,
  growthCharts,
  lockChart,
  scaleChart,
  syncChart,
} from '#audit/render/charts.js';
import { measures } from './run-fixture.js';

const LIMITS = measures().limits;

function cluster(name: string, patch: Partial<ClusterResult> = {}): ChartCluster {
  return {
    anchor: `cluster-${name}`,
    cluster: {
      account: '111111111111',
      region: 'eu-west-1',
      name,
      status: 'COMPLETE',
      score: 80,
      nodes: { expected: 3, reached: 3, unreachable: 0, failed: 0 },
      findings: [],
      notEvaluated: [],
      measures: measures(),
      ...patch,
    },
  };
}

/** Every opening tag with the given class (the marks a chart drew). */
const marks = (page: string, cls: string) => [...page.matchAll(new RegExp(`<g class="mark ${cls}[" ]`, 'g'))];
const descOf = (page: string, id: string) => new RegExp(`<desc id="${id}-d">([^<]*)</desc>`).exec(page)?.[1] ?? '';

describe('the report charts', () => {
  describe('with one cluster', () => {
    const one = [cluster('solo')];

    it('draws one Services bar and one save bar, above MEDIUM, against the run thresholds', () => {
      // Act
      const svg = scaleChart(one, LIMITS).value;

      // Assert
      expect(marks(svg, 'bar services')).toHaveLength(1);
      expect(marks(svg, 'bar save')).toHaveLength(1);
      expect(svg).toContain('<g class="mark bar services lvl-medium">');
      expect(svg).toContain('MEDIUM &gt; 500</text>');
      expect(svg).toContain('HIGH &gt; 1,000</text>');
      expect(descOf(svg, 'chart-scale')).toContain('Services above a threshold: solo 600 (above MEDIUM)');
      expect(descOf(svg, 'chart-scale')).toContain('Save time above a threshold: solo (legacy) 1,200 (above MEDIUM)');
    });

    it('projects the Service count and dates the crossing of HIGH, with every stored run as a point', () => {
      // Act
      const svg = growthCharts(one).value;

      // Assert: 400 … 600 at 50 a day passes 1,000 eight days after 2026-06-01
      expect(marks(svg, 'point')).toHaveLength(5);
      expect(marks(svg, 'point now')).toHaveLength(1);
      expect(svg.match(/<path class="mark projection"/g)).toHaveLength(1);
      expect(marks(svg, 'crossing')).toHaveLength(1);
      expect(svg).toContain('<title>passes HIGH 1,000 about 2026-06-09</title>');
      expect(svg).toContain(
        'solo: 600 Services now, +50 a day over 5 runs: about 2,100 in 30 days; passes HIGH 1,000 about 2026-06-09.',
      );
      expect(svg).toContain('<td>2,100</td>');
    });

    it('draws one circle per sync-p99 bucket and per lock-wait share with the node count in it', () => {
      // Arrange
      const busy = [
        cluster('solo', {
          measures: measures({
            syncP99: {
              buckets: [
                { atLeastSeconds: 0.064, nodes: 2 },
                { atLeastSeconds: 2.048, nodes: 1 },
              ],
              unknown: 1,
            },
            lockWaits: { none: 1, deciles: [1, 0, 0, 0, 2, 0, 0, 0, 0, 0], notApplicable: 0, unknown: 0 },
          }),
        }),
      ];

      // Act
      const sync = syncChart(busy, LIMITS).value;
      const lock = lockChart(busy, LIMITS).value;

      // Assert
      expect(marks(sync, 'cell')).toHaveLength(2);
      expect(marks(sync, 'cell above')).toHaveLength(1);
      expect(sync).toContain('+1 without');
      expect(descOf(sync, 'chart-sync')).toContain('Nodes above MEDIUM: solo 1 nodes.');
      expect(marks(lock, 'cell')).toHaveLength(3);
      expect(marks(lock, 'cell above')).toHaveLength(1);
      expect(descOf(lock, 'chart-lock')).toContain('Nodes at or above it: solo 2 nodes.');
    });
  });

  it('says a cluster without earlier runs has no projection yet, and draws its one point', () => {
    // Arrange
    const fresh = [
      cluster('fresh', { measures: measures({ serviceHistory: [{ at: '2026-06-01T02:00:00.000Z', services: 600 }] }) }),
    ];

    // Act
    const svg = growthCharts(fresh).value;

    // Assert
    expect(marks(svg, 'point')).toHaveLength(1);
    expect(svg).not.toContain('class="mark projection"');
    expect(svg).toContain('fresh: 600 Services now; no projection: it needs 3 earlier runs, 0 stored.');
  });

  it('draws the stored days of a cluster with no Service count this run, without a projection or a point for now', () => {
    // Arrange: kube-proxy left iptables mode after two stored days
    const moved = [
      cluster('moved', {
        measures: measures({
          services: null,
          serviceHistory: [
            { at: '2026-05-30T02:00:00.000Z', services: 800 },
            { at: '2026-05-31T02:00:00.000Z', services: 900 },
          ],
        }),
      }),
    ];

    // Act
    const svg = growthCharts(moved).value;

    // Assert
    expect(marks(svg, 'point')).toHaveLength(2);
    expect(marks(svg, 'point now')).toHaveLength(0);
    expect(svg).toContain('<title>2026-05-31: 900 Services</title>');
    expect(svg).not.toContain('(now)');
    expect(svg).not.toContain('class="mark projection"');
    expect(svg).toContain('moved: no Service count this run; no projection.');
  });

  it('draws a cluster whose nodes were all unreachable as a coverage bar and a sentence elsewhere, never as marks', () => {
    // Arrange
    const down = [
      cluster('down', {
        status: 'FAILED',
        score: null,
        nodes: { expected: 3, reached: 0, unreachable: 3, failed: 0 },
        measures: measures({
          services: null,
          saveMsP95: { legacy: null, nft: null },
          syncP99: { buckets: [], unknown: 0 },
          lockWaits: { none: 0, deciles: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], notApplicable: 0, unknown: 0 },
          serviceHistory: [],
        }),
      }),
    ];

    // Act
    const page = chartsSection(down).value;

    // Assert
    expect(marks(page, 'bar')).toHaveLength(0);
    expect(marks(page, 'cell')).toHaveLength(0);
    expect(marks(page, 'point')).toHaveLength(0);
    expect(page.match(/>not audited<\/text>/g)).toHaveLength(3);
    expect(page).toContain('No Service counts to draw: down (not audited).');
    expect(marks(page, 'coverage')).toHaveLength(1);
    expect(page).toContain(
      '<rect class="seg seg-unreachable" x="190" y="50" width="650" height="18"><title>3 unreachable</title>',
    );
    expect(page).toContain('0/3 read MEDIUM</text>');
    expect(page).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('runs a value beyond the axis to its edge with a » and writes its number', () => {
    // Arrange
    const huge = [
      cluster('huge', {
        measures: measures({
          services: 50_000,
          saveMsP95: { legacy: 1_000_000, nft: null },
          serviceHistory: [
            { at: '2026-05-31T02:00:00.000Z', services: 100 },
            { at: '2026-06-01T02:00:00.000Z', services: 50_000 },
          ],
        }),
      }),
      cluster('small', { measures: measures({ services: 10 }) }),
    ];

    // Act
    const scale = scaleChart(huge, LIMITS).value;
    const growth = growthCharts(huge).value;

    // Assert: the axis stops near 3 × HIGH (rounded up to 5,000), so the small cluster is still visible
    expect(marks(scale, 'bar services lvl-high over')).toHaveLength(1);
    expect(marks(scale, 'bar save lvl-high over')).toHaveLength(1);
    expect(scale).toContain('50,000 HIGH</text>');
    expect(scale).toContain('1,000,000 ms legacy HIGH</text>');
    expect(scale).toContain('>5,000</text>');
    expect(scale).not.toMatch(/>(10|50),000<\/text>/);
    expect(marks(growth, 'point over')).toHaveLength(1);
    expect(growth).toContain('<title>2026-06-01: 50,000 Services (this run)</title>');
  });

  it('puts a sync p99 beyond the top bucket in the last column, above HIGH', () => {
    // Arrange
    const stuck = [
      cluster('stuck', {
        measures: measures({ syncP99: { buckets: [{ atLeastSeconds: 16.384, nodes: 4 }], unknown: 0 } }),
      }),
    ];

    // Act
    const svg = syncChart(stuck, LIMITS).value;

    // Assert
    expect(svg).toContain('<title>stuck: 4 nodes with a sync p99 &gt; 16.4 s</title>');
    expect(svg).toContain('<td>4</td><td>0</td></tr>');
    expect(marks(svg, 'cell above')).toHaveLength(1);
  });

  it('renders a run of a version before the charts: each chart says no data was recorded, the defaults drawn', () => {
    // Arrange
    const old = [cluster('old', { measures: undefined })];

    // Act
    const page = chartsSection(old).value;

    // Assert
    expect(page).toContain('This run did not record its thresholds');
    expect(page.match(/>not recorded: audited by a version before the charts<\/text>/g)).toHaveLength(3);
    expect(page).toContain('No Service counts to draw: old (not recorded: audited by a version before the charts).');
    expect(marks(page, 'coverage')).toHaveLength(1);
    expect(marks(page, 'bar')).toHaveLength(0);
  });

  it('draws the thresholds the run recorded, not the defaults', () => {
    // Arrange
    const limits = { ...LIMITS, servicesMedium: 700, servicesHigh: 2000 };
    const own = [cluster('own', { measures: measures({ limits }) })];

    // Act
    const page = chartsSection(own).value;

    // Assert
    expect(page).toContain('MEDIUM &gt; 700</text>');
    expect(page).toContain('HIGH &gt; 2,000</text>');
    expect(page).not.toContain('MEDIUM &gt; 500</text>');
    expect(page).toContain('<g class="mark bar services lvl-below">');
  });

  it('tells iptables-nft-only nodes have no xtables lock, and counts them beside the row', () => {
    // Arrange
    const nft = [
      cluster('nft', {
        measures: measures({
          lockWaits: { none: 0, deciles: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], notApplicable: 5, unknown: 0 },
        }),
      }),
    ];

    // Act
    const svg = lockChart(nft, LIMITS).value;

    // Assert
    expect(marks(svg, 'cell')).toHaveLength(0);
    expect(svg).toContain('no xtables lock: iptables-nft takes none</text>');
    expect(svg).toContain('+5 no lock</text>');
  });

  it('gives every chart an accessible name, a description and a data table', () => {
    // Act
    const page = chartsSection([cluster('a'), cluster('b')]).value;

    // Assert
    const svgs = [...page.matchAll(/<svg class="chart-svg"[^>]*aria-labelledby="([^" ]+) ([^"]+)">/g)];
    expect(svgs).toHaveLength(4 + 2);
    for (const [, title, desc] of svgs) {
      expect(page).toContain(`<title id="${title}">`);
      expect(page).toContain(`<desc id="${desc}">`);
    }
    expect(page.match(/<table class="chart-table">/g)).toHaveLength(4 + 2);
    expect(coverageChart([], LIMITS).value).not.toMatch(/NaN|Infinity/);
  });
});
