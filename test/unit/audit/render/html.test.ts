import { describe, expect, it } from 'vitest';
import { escapeHtml } from '#audit/render/escape.js';
import { renderRunHtml, scoreBand } from '#audit/render/html.js';
import { HOSTILE_NAME, runFixture } from './run-fixture.js';

/** The text a reader sees in a fragment: tags dropped, entities decoded, whitespace collapsed. */
function textOf(fragment: string): string {
  return fragment
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

function all(page: string, pattern: RegExp): string[] {
  return [...page.matchAll(pattern)].map((m) => m[1] ?? m[0]);
}

/** The cluster sections in page order, each up to its back link. */
function clusterSections(page: string): string[] {
  return page
    .split('<section class="cluster"')
    .slice(1)
    .map((s) => s.slice(0, s.indexOf('<p class="back">')));
}

function between(page: string, start: string, end: string): string {
  const from = page.indexOf(start);
  if (from < 0) throw new Error(`no ${start} in the page`);
  return page.slice(from, page.indexOf(end, from) + end.length);
}

describe('renderRunHtml', () => {
  const page = renderRunHtml(runFixture());

  it('is one self-contained document: no scripts, no external assets, scripts forbidden by its CSP', () => {
    expect(page.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(page).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    );
    expect(page).toContain('<title>Fleet audit 20261130T020000-abcdef12 — PARTIAL</title>');
    expect(page).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i);
    expect(page).not.toMatch(/<[a-z][^>]*\ssrc=/i);
    expect(page.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('escapes cluster names, evidence, measured values and commands so hostile strings stay text', () => {
    expect(page).toContain(
      '<th scope="row"><a href="#cluster-2">prod-&lt;script&gt;alert(1)&lt;/script&gt;&quot;x&quot;&amp;&#39;y&#39;</a></th>',
    );
    expect(page).toContain(
      '<dt>Evidence</dt><dd>lock held by &quot;&lt;img src=x onerror=alert(1)&gt;&quot; &amp; friends</dd>',
    );
    expect(page).toContain('<tr><th scope="row">holders</th><td>&lt;b&gt;iptables&lt;/b&gt;</td></tr>');
    expect(page).toContain(
      '<dt>Command</dt><dd><pre><code>aws eks update-addon --cluster-name &#39;prod-&lt;script&gt;alert(1)&lt;/script&gt;' +
        '&quot;x&quot;&amp;&#39;y&#39;&#39; --configuration-values &#39;{&quot;mode&quot;:&quot;ipvs&quot;}&#39;</code></pre></dd>',
    );
    expect(page).not.toContain('<b>iptables');
    expect(page).not.toContain('onerror=alert(1)>');
  });

  it('links http(s) addresses only and shows any other link as text', () => {
    expect(page).toContain(
      '<li><a href="https://docs.aws.amazon.com/eks/latest/best-practices/ipvs.html" rel="noopener noreferrer">' +
        'https://docs.aws.amazon.com/eks/latest/best-practices/ipvs.html</a></li><li><span>javascript:alert(1)</span></li>',
    );
    expect(page).not.toMatch(/href="javascript:/i);
  });

  it('shows the run header with status, start, finish and duration', () => {
    expect(textOf(between(page, '<dl class="run-meta">', '</dl>'))).toBe(
      'Audit PARTIAL Started 2026-11-30 02:00:00 UTC Finished 2026-11-30 02:04:12 UTC Duration 4 min 13 s',
    );
    expect(page).toContain('<time datetime="2026-11-30T02:00:00.000Z">2026-11-30 02:00:00 UTC</time>');
  });

  it('summarises clusters by audit status, findings by severity and state, and node coverage', () => {
    const cards = all(page, /<section class="card">([\s\S]*?)<\/section>/g).map(textOf);
    expect(cards).toEqual([
      'Clusters 4 2 accounts · 2 regions COMPLETE 2 PARTIAL 1 FAILED 1 Fleet score 55 (mean of audited clusters, weighted by nodes)',
      'Findings not resolved 7 CRITICAL 1 HIGH 2 MEDIUM 1 LOW 2 INFO 1',
      'Findings by state 8 NEW 3 ONGOING 1 WORSENED 1 RESOLVED 1 UNKNOWN 1 SUPPRESSED 1',
      'Node coverage 78 % 15 of 19 nodes read 3 unreachable · 1 failed',
    ]);
    expect(page).toContain('<div class="meter" aria-hidden="true"><span style="width: 78%"></span></div>');
  });

  it('tables the clusters worst first: not audited, then by score, with band, audit, nodes read and open counts', () => {
    const table = between(page, '<table class="clusters">', '</table>');
    expect(all(table, /<th scope="col"[^>]*>([^<]*)<\/th>/g)).toEqual([
      'Cluster',
      'Account',
      'Region',
      'Score',
      'Audit',
      'Nodes read',
      'CRITICAL',
      'HIGH',
      'MEDIUM',
      'LOW',
      'INFO',
    ]);
    const rows = all(between(table, '<tbody>', '</tbody>'), /<tr>([\s\S]*?)<\/tr>/g).map(textOf);
    expect(rows).toEqual([
      'edge 222222222222 eu-west-1 not audited FAILED 0/2 0 1 0 0 0',
      `${HOSTILE_NAME} 111111111111 eu-west-1 37 critical PARTIAL 10/12 1 1 1 2 0`,
      'adhoc — — 97 good COMPLETE 2/2 0 0 0 0 1',
      'healthy 222222222222 us-east-1 100 good COMPLETE 3/3 0 0 0 0 0',
    ]);
    expect(table).toContain('<span class="score band-critical"><strong>37</strong> critical</span>');
    expect(table).toContain('<span class="score band-not-audited">not audited</span>');
  });

  it.each([
    [null, 'not-audited'],
    [0, 'critical'],
    [40, 'critical'],
    [41, 'poor'],
    [70, 'poor'],
    [71, 'fair'],
    [90, 'fair'],
    [91, 'good'],
    [100, 'good'],
  ] as const)('puts score %s in the %s band (the scoring ceilings)', (score, band) => {
    expect(scoreBand(score)).toBe(band);
  });

  it('gives each cluster a section, in table order, whose findings are most severe first and resolved last', () => {
    const sections = clusterSections(page);
    expect(sections.map((s) => textOf(s.slice(0, s.indexOf('</h2>'))).replace(/^.*?> /, ''))).toEqual([
      'edge 222222222222 · eu-west-1',
      `${HOSTILE_NAME} 111111111111 · eu-west-1`,
      'adhoc',
      'healthy 222222222222 · us-east-1',
    ]);
    const headings = all(sections[1] ?? '', /<article[^>]*>\s*<h3>([\s\S]*?)<\/h3>/g).map(textOf);
    expect(headings).toEqual([
      'CRITICAL WORSENED KP-SYNC-FAILING KP-SYNC-FAILING title',
      'HIGH NEW XT-LOCK-CONTENTION The xtables lock is contended',
      'MEDIUM UNKNOWN IPT-SLOW-SYNC IPT-SLOW-SYNC title',
      'LOW ONGOING AUDIT-COVERAGE AUDIT-COVERAGE title',
      'LOW SUPPRESSED ADDON-VERSION-RISK ADDON-VERSION-RISK title',
      'HIGH RESOLVED CNI-RESTARTS CNI-RESTARTS title',
    ]);
    expect(textOf(sections[1]?.match(/<p class="cluster-meta">[\s\S]*?<\/p>/)?.[0] ?? '')).toBe(
      'Score 37 critical · Audit PARTIAL · 10 of 12 nodes read (1 unreachable, 1 failed)',
    );
    expect(sections[3]).toContain('<p class="none">No findings.</p>');
  });

  it('shows a finding’s affected nodes (+N more), measured values, remediation, configurationValues, command and links', () => {
    const article = between(page, '<article class="finding sev-HIGH" id="cluster-2-XT-LOCK-CONTENTION">', '</article>');
    const terms = all(article, /<dt>([^<]*)<\/dt>/g);
    expect(terms).toEqual([
      'Evidence',
      'Affected nodes',
      'Measured values',
      'Remediation',
      'configurationValues',
      'Command',
      'Links',
    ]);
    expect(textOf(between(article, '<ul class="nodes">', '</ul>'))).toBe(
      'i-00000000000000001 i-00000000000000002 i-00000000000000003 i-00000000000000004 i-00000000000000005 ' +
        'i-00000000000000006 i-00000000000000007 i-00000000000000008 i-00000000000000009 i-00000000000000010 +2 more',
    );
    expect(textOf(between(article, '<table class="values">', '</table>'))).toBe(
      'busyNodes 3 maxBusyShare 0.45 holders <b>iptables</b> lockErrorsCloudWatch —',
    );
    expect(article).toContain(
      '<dt>Remediation</dt><dd>Switch kube-proxy to IPVS, then run ' +
        '<code>kubectl -n kube-system rollout restart ds/kube-proxy</code>.</dd>',
    );
    expect(article).toContain(
      '<dt>configurationValues</dt><dd><pre><code>{\n  &quot;mode&quot;: &quot;ipvs&quot;,\n  &quot;ipvs&quot;: {\n' +
        '    &quot;scheduler&quot;: &quot;rr&quot;\n  }\n}</code></pre></dd>',
    );
    expect(article).toContain('<details class="why"><summary>Why this matters</summary><p>With iptables-legacy');
  });

  it('leaves out the parts a finding does not have', () => {
    const article = between(page, '<article class="finding sev-HIGH" id="cluster-1-AUDIT-FAILED">', '</article>');
    expect(all(article, /<dt>([^<]*)<\/dt>/g)).toEqual(['Evidence', 'Remediation']);
  });

  it('lists the rules that were not evaluated, grouped by reason', () => {
    expect(page).toContain(
      '<h3>Not evaluated</h3>\n<ul><li><code>SCALE-GROWTH</code>: 0 earlier runs with a Service count; 3 needed</li></ul>',
    );
    expect(page).toContain(
      '<ul><li><code>KP-IPTABLES-SCALE</code>, <code>XT-LOCK-CONTENTION</code>: the cluster could not be audited</li></ul>',
    );
  });

  it('uses one h1, an h2 per summary, table, charts and cluster, and an h3 per finding', () => {
    expect(all(page, /<h1\b/g)).toHaveLength(1);
    expect(all(page, /<h2\b/g)).toHaveLength(2 + 1 + 4);
    expect(all(page, /<article[^>]*>\s*<h3>/g)).toHaveLength(8);
  });

  it('renders a run without clusters', () => {
    const empty = renderRunHtml(runFixture({ clusters: [] }));
    expect(empty).toContain('<tr><td colspan="11">No clusters in this run.</td></tr>');
    expect(textOf(all(empty, /<section class="card">([\s\S]*?)<\/section>/g)[3] ?? '')).toBe(
      'Node coverage — 0 of 0 nodes read 0 unreachable · 0 failed',
    );
    expect(empty).not.toContain('NaN');
  });

  it('shows an unpaired backtick as written', () => {
    const run = runFixture();
    const cluster = run.clusters[1];
    if (!cluster) throw new Error('fixture has no second cluster');
    cluster.notEvaluated = [{ ruleId: 'SCALE-GROWTH', reason: 'odd ` tick and <tag>' }];
    expect(renderRunHtml(run)).toContain('<li><code>SCALE-GROWTH</code>: odd ` tick and &lt;tag&gt;</li>');
  });

  it('is deterministic: the same run renders byte for byte the same', () => {
    expect(renderRunHtml(runFixture())).toBe(page);
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that matter in content and quoted attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
    );
  });
});
