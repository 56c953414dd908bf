import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunResult, RunResultSchema } from '#audit/model.js';
import { AsffFindingSchema } from '#audit/render/asff.js';
import { visibleText } from '#audit/render/escape.js';
import { CATALOGUE } from '#audit/rules/catalogue.js';
import {
  cmarkGfm,
  foreignMarkup,
  forgedLines,
  htmlTextContent,
  MARKDOWN_ELEMENTS,
  terminalUnsafe,
} from '../fixtures/hostile-checks.js';
import { HOSTILE_STRINGS, tagValue } from '../fixtures/hostile-strings.js';
import { chromium } from './chromium.js';

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '../../bin/fleet-audit.js');
const DEFAULT_SCENARIO = join(import.meta.dirname, '../../sim/scenarios/default.json');

/** What the collector can report of a `parent/comm` name: the report must stay under 2,400 bytes. */
const processName = (text: string) => text.slice(0, 200);

/**
 * The default scenario's troubled cluster, with the hostile corpus where an attacker can put it. EKS cluster names
 * are letters, digits, - and _ (the simulator's scenario schema enforces CreateCluster's pattern), so the cluster
 * keeps its name; EC2 tag values take any 256 Unicode characters (EC2 API Reference, Tag:
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Tag.html), so each string names a Karpenter node pool
 * (`karpenter.sh/nodepool`) of one node, whose /proc/locks holder and waiter carry the string too (a process names
 * itself with prctl PR_SET_NAME); the kube-proxy add-on's configurationValues and a log line carry all of them.
 */
async function hostileScenario(): Promise<unknown> {
  const scenario = JSON.parse(await readFile(DEFAULT_SCENARIO, 'utf8'));
  const region = scenario.accounts[0].regions[0];
  const cluster = region.clusters.find((c: { name: string }) => c.name === 'checkout-prod');
  cluster.nodes.push(
    ...HOSTILE_STRINGS.map((text) => ({
      nodegroup: tagValue(text),
      provisioner: 'karpenter',
      count: 1,
      report: {
        lock: { busy: 3, waited: 2, waitersMax: 1, holders: [processName(text)], waiters: [processName(text)] },
      },
    })),
  );
  const kubeProxy = cluster.addons.find((a: { name: string }) => a.name === 'kube-proxy');
  kubeProxy.configurationValues = { hostile: HOSTILE_STRINGS.map(processName) };
  cluster.logGroup.events.push({ ageMinutes: 5, message: HOSTILE_STRINGS.join(' '), stream: 'kube-proxy-hostile' });
  return {
    ...scenario,
    faults: [],
    accounts: [{ ...scenario.accounts[0], regions: [{ ...region, clusters: [cluster] }] }],
  };
}

async function fleetAudit(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], {
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, COLUMNS: '100', ...env },
  });
  return { stdout, stderr };
}

describe('hostile strings from the simulated fleet through every output of a real audit', () => {
  let dir: string;
  let stateDir: string;
  let printed: { stdout: string; stderr: string };
  let run: RunResult;
  /** every link the rules may print: the only hrefs a report may hold */
  let links: Set<string>;

  const report = async (format: string) =>
    (await fleetAudit(['report', '--local', '--state-dir', stateDir, '--format', format])).stdout;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-audit-hostile-'));
    stateDir = join(dir, 'state');
    const scenario = join(dir, 'hostile.json');
    await writeFile(scenario, JSON.stringify(await hostileScenario()));
    printed = await fleetAudit(['run', '--local', '--fresh', '--scenario', scenario, '--state-dir', stateDir], {
      FORCE_COLOR: '1',
    });
    run = RunResultSchema.parse(JSON.parse(await report('json')));
    links = new Set([
      ...CATALOGUE.flatMap((r) => r.links),
      ...run.clusters.flatMap((c) => c.findings.flatMap((f) => f.remediation.links)),
    ]);
  }, 180_000);
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('text (run, in colour, and report): no control, C1, bidi or zero-width character, no forged line', async () => {
    const text = await report('text');
    for (const [output, allowSgr] of [
      [printed.stdout, true],
      [printed.stderr, false],
      [text, false],
    ] as const) {
      expect(terminalUnsafe(output, { allowSgr })).toEqual([]);
      expect(forgedLines(output)).toEqual([]);
    }
    expect(text).toContain(visibleText('\u001b]8;;https://evil.example\u001b\\click'));
    expect(text).toContain('ok\\r\\n');
  });

  it('Markdown rendered by cmark-gfm holds no element or link from data', async () => {
    const html = cmarkGfm(await report('markdown'));

    expect(foreignMarkup(html, MARKDOWN_ELEMENTS, links)).toEqual([]);
    expect(terminalUnsafe(html, { allowZeroWidthSpace: true })).toEqual([]);
    expect(htmlTextContent(html)).toContain('<img src=x onerror=alert(2)>');
  });

  it('HTML loaded in headless Chromium has only the report’s own elements: no script, image or handler from data', async () => {
    const page = join(dir, 'report.html');
    await writeFile(page, await report('html'));

    const dom = await chromium(dir, ['--dump-dom', pathToFileURL(page).href]);

    const ours = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'header', 'footer', 'main', 'section']);
    for (const tag of ['p', 'h1', 'h2', 'h3', 'span', 'dl', 'div', 'dt', 'dd', 'time', 'ul', 'li', 'table'])
      ours.add(tag);
    for (const tag of ['caption', 'thead', 'tbody', 'tr', 'th', 'td', 'a', 'strong', 'article', 'code', 'pre']) {
      ours.add(tag);
    }
    for (const tag of ['details', 'summary']) ours.add(tag);
    // the charts: inline SVG and its figure
    for (const tag of ['figure', 'figcaption', 'h4', 'svg', 'defs', 'pattern', 'g', 'desc', 'rect', 'line', 'circle']) {
      ours.add(tag);
    }
    for (const tag of ['path', 'text']) ours.add(tag);
    const anchors = new Set([...links, '#clusters-heading', '#cluster-1']);
    expect(foreignMarkup(dom.replace(/<style>[\s\S]*?<\/style>/, ''), ours, anchors)).toEqual([]);
    expect(dom.match(/<style>/g)).toHaveLength(1);
    expect(terminalUnsafe(dom)).toEqual([]);
    expect(htmlTextContent(dom)).toContain('"><svg onload=alert(3)>');
  });

  it('JSON and ASFF parse back to the strings, with no raw C1, bidi or zero-width character in the bytes', async () => {
    const json = await report('json');
    const asff = await report('asff');

    expect(terminalUnsafe(json)).toEqual([]);
    expect(terminalUnsafe(asff)).toEqual([]);
    // the holders and node pools arrived intact: the outputs above were tested with them
    const lock = run.clusters[0]?.findings.find((f) => f.ruleId === 'XT-LOCK-CONTENTION');
    expect(lock?.evidence.summary).toContain('\u001b]0;forged window title\u0007');
    expect(lock?.evidence.summary).toContain('<script>alert(1)</script>');
    const slow = run.clusters[0]?.findings.find((f) => f.ruleId === 'IPT-SLOW-SYNC');
    expect(String(slow?.evidence.values.byNodegroup)).toContain('admin\u202e\u2066');
    const findings = (JSON.parse(asff) as unknown[]).map((f) => AsffFindingSchema.parse(f));
    const imported = findings.find((f) => f.GeneratorId === 'eks-fleet-auditor/XT-LOCK-CONTENTION');
    expect(imported?.Description.length).toBeLessThanOrEqual(1024);
    expect(imported?.Description).toContain('\u001b[31mred\u001b[0m');
  });

  it('the digest in the outbox: e-mail text without control characters, Chatbot markdown without markup from data', async () => {
    const lines = (await readFile(join(stateDir, 'outbox.jsonl'), 'utf8')).trim().split('\n');
    const message = JSON.parse(lines[0] ?? '{}');
    const parts = JSON.parse(message.message) as Record<string, string>;
    const chatbot = JSON.parse(parts.default ?? '{}');

    for (const [name, text] of Object.entries(parts)) {
      if (name === 'default') continue;
      expect(terminalUnsafe(text)).toEqual([]);
      expect(forgedLines(text)).toEqual([]);
    }
    expect(chatbot.content.description).toContain('&lt;script&gt;');
    expect(chatbot.content.description).not.toMatch(/[<>]/);
    expect(terminalUnsafe(chatbot.content.description, { allowZeroWidthSpace: true })).toEqual([]);
  });
  it('an error line that repeats input or data stays one line of plain characters (exit 2)', async () => {
    const failure = await fleetAudit([
      'report',
      '--local',
      '--state-dir',
      stateDir,
      '--run',
      'x\u001b]0;t\u0007\ny',
    ]).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );

    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/^fleet-audit: run x\\x1B\]0;t\\x07\\ny is not in .*\n$/);
    expect(terminalUnsafe(failure?.stderr ?? '')).toEqual([]);
  });
  it('a real terminal (tmux) shows the escapes as text and keeps the title the data tries to set', async () => {
    // Arrange: a tmux server of this test's own (private socket), its pane titled first
    const socket = join(dir, 'tmux.sock');
    const tmux = async (...args: string[]) => (await exec('tmux', ['-S', socket, ...args])).stdout;
    const command =
      `printf '\\033]2;before-the-report\\007'; ${process.execPath} ${CLI} report --local --state-dir ${stateDir}; ` +
      "printf 'REPORT-DONE\\n'; sleep 60";
    try {
      await tmux('new-session', '-d', '-s', 'hostile', '-x', '120', '-y', '50', command);

      // Act
      let pane = '';
      for (let i = 0; i < 150 && !pane.includes('REPORT-DONE'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        pane = await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'hostile');
      }

      // Assert
      expect(pane).toContain('REPORT-DONE');
      expect((await tmux('display-message', '-p', '-t', 'hostile', '#{pane_title}')).trim()).toBe('before-the-report');
      expect(pane).toContain('\\x1B]0;forged window title\\x07');
      expect(pane).toContain('Fleet audit');
    } finally {
      await tmux('kill-server').catch(() => undefined);
    }
  }, 60_000);
});
