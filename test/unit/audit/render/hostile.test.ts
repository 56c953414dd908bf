import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as yamlText } from 'yaml';
import type { ClusterResult, RunResult } from '#audit/model.js';
import { AsffFindingSchema, renderRunAsff } from '#audit/render/asff.js';
import { renderDigest } from '#audit/render/digest.js';
import { DigestPayloadSchema } from '#audit/render/digest-payload.js';
import { truncate, visibleText } from '#audit/render/escape.js';
import { renderRunHtml } from '#audit/render/html.js';
import { renderRunMarkdown } from '#audit/render/markdown.js';
import { shellLines } from '#audit/render/shell-lines.js';
import { renderSlackDigest } from '#audit/render/slack.js';
import { renderClusterText, renderRunText } from '#audit/render/text.js';
import { ENDPOINT_PLACEHOLDER, kubeProxyRestartCommand, updateAddonCommand } from '#audit/rules/remediation.js';
import { renderReport } from '#cli/run-commands.js';
import {
  cmarkGfm,
  foreignMarkup,
  forgedLines,
  htmlTextContent,
  loneSurrogates,
  MARKDOWN_ELEMENTS,
  terminalUnsafe,
} from '../../../fixtures/hostile-checks.js';
import { HOSTILE_STRINGS } from '../../../fixtures/hostile-strings.js';
import { finding, measures } from './run-fixture.js';

const RULE_LINK = 'https://docs.aws.amazon.com/eks/latest/best-practices/ipvs.html';

/** One cluster per hostile string, the string in every field that carries data. */
function hostileCluster(text: string, index: number): ClusterResult {
  const place = { account: '111111111111', region: 'eu-west-1', name: text };
  const command = `${updateAddonCommand(place, 'kube-proxy', { mode: 'ipvs', [text]: text })} && ${kubeProxyRestartCommand(place)}`;
  return {
    ...place,
    status: 'COMPLETE',
    score: index % 100,
    nodes: { expected: 1, reached: 1, unreachable: 0, failed: 0 },
    findings: [
      finding(place, 'XT-LOCK-CONTENTION', {
        severity: 'HIGH',
        title: `Lock contended by ${text}`,
        evidence: {
          summary: `1 node waited; held by ${text}`,
          values: { holders: text, byNodegroup: `${text} 1200 (1 node)` },
          nodes: [text],
          moreNodes: 0,
        },
        remediation: {
          summary: `Look at \`${text}\` and ${text}.`,
          configurationValues: { mode: 'ipvs', [text]: text },
          command,
          links: [RULE_LINK, text],
        },
        stateReason: text,
      }),
    ],
    notEvaluated: [{ ruleId: 'SCALE-GROWTH', reason: text }],
    // every other cluster has chart measures, one of them with the string as a stored run's time
    ...(index % 2 === 0 && {
      measures: measures(index % 4 === 0 ? {} : { serviceHistory: [{ at: text, services: 3 }] }),
    }),
  };
}

const run: RunResult = {
  runId: '20261207T020000-abcdef12',
  status: 'COMPLETE',
  startedAt: '2026-12-07T02:00:00.000Z',
  finishedAt: '2026-12-07T02:04:00.000Z',
  clusters: HOSTILE_STRINGS.map(hostileCluster),
};

describe('hostile strings through every renderer', () => {
  it('text: no control, C1, bidi or zero-width character and no forged line, in colour or not', () => {
    // the corpus holds what the tests promise: 40 strings, OSC 8 hyperlinks and lone surrogates among them
    expect(HOSTILE_STRINGS).toHaveLength(40);
    expect(HOSTILE_STRINGS.some((s) => s.includes('\u001b]8;;'))).toBe(true);
    expect(HOSTILE_STRINGS.some((s) => loneSurrogates(s) > 0)).toBe(true);
    for (const color of [false, true]) {
      // Act
      const text = renderRunText(run, { width: 60, color });
      const cluster = renderClusterText(run.clusters[29] as ClusterResult, { width: 60, color });

      // Assert
      expect(terminalUnsafe(text, { allowSgr: color })).toEqual([]);
      expect(terminalUnsafe(cluster, { allowSgr: color })).toEqual([]);
    }
    // wide enough that only a line break from data could start a line inside a string
    const text = renderRunText(run, { width: 120 });
    expect(forgedLines(text)).toEqual([]);
    expect(forgedLines(renderClusterText(run.clusters[29] as ClusterResult, { width: 120 }))).toEqual([]);
    expect(text).toContain(visibleText('\u001b]0;forged window title\u0007'));
    expect(text).toContain('\\x1B]0;forged window title\\x07');
    expect(text).toContain('admin\\u202E\\u2066');
  });

  it('Markdown: cmark-gfm renders no element, link or image from data, and shows the data as text', () => {
    // Act
    const html = cmarkGfm(renderRunMarkdown(run));

    // Assert
    expect(foreignMarkup(html, MARKDOWN_ELEMENTS, new Set([RULE_LINK]))).toEqual([]);
    expect(html.match(/<h1>/g)).toHaveLength(1);
    expect(html.match(/<h2>/g)).toHaveLength(run.clusters.length);
    expect(html.match(/<h3>/g)).toHaveLength(run.clusters.length);
    // the summary table keeps its five columns in every row
    const table = html.slice(html.indexOf('<table>'), html.indexOf('</table>'));
    for (const row of table.split('<tr>').slice(1)) expect(row.match(/<t[hd][ >]/g)).toHaveLength(5);
    expect(html.match(/<pre>/g)).toHaveLength(run.clusters.length);
    expect(terminalUnsafe(html, { allowZeroWidthSpace: true })).toEqual([]);
    const text = htmlTextContent(html).replaceAll('\u200b', '');
    for (const s of HOSTILE_STRINGS) expect(text).toContain(visibleText(s));
  });

  it('HTML: data becomes text only, with no control, bidi or zero-width character', () => {
    // Act
    const html = renderRunHtml(run);

    // Assert
    const ours = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'header', 'p', 'h1', 'h2', 'h3', 'span']);
    for (const tag of ['dl', 'div', 'dt', 'dd', 'time', 'main', 'section', 'ul', 'li', 'table', 'caption', 'thead']) {
      ours.add(tag);
    }
    for (const tag of ['tbody', 'tr', 'th', 'td', 'a', 'strong', 'article', 'code', 'pre', 'details', 'summary']) {
      ours.add(tag);
    }
    ours.add('footer');
    // the charts: inline SVG and its figure
    for (const tag of ['figure', 'figcaption', 'h4', 'svg', 'defs', 'pattern', 'g', 'desc', 'rect', 'line', 'circle']) {
      ours.add(tag);
    }
    for (const tag of ['path', 'text']) ours.add(tag);
    const anchors = new Set([RULE_LINK, '#clusters-heading', ...run.clusters.map((_, i) => `#cluster-${i + 1}`)]);
    expect(foreignMarkup(html.replace(/<style>[\s\S]*?<\/style>/, ''), ours, anchors)).toEqual([]);
    expect(terminalUnsafe(html)).toEqual([]);
    const text = htmlTextContent(html);
    for (const s of HOSTILE_STRINGS.filter((x) => !/[\n\t]/.test(x))) expect(text).toContain(visibleText(s));
  });

  it('JSON: parses back to the very strings, with C1, bidi and zero-width characters written as \\u escapes', () => {
    // Act: what `fleet-audit report --format json` prints
    const json = renderReport(run, 'json');

    // Assert
    expect(JSON.parse(json)).toEqual(run);
    expect(terminalUnsafe(json)).toEqual([]);
    expect(json).toContain('admin\\u202e\\u2066');
  });

  it('ASFF: valid findings within the documented limits, parsing back to the strings or their truncation', () => {
    // Arrange: EKS cluster names are letters, digits, - and _ (CreateCluster), so only the other fields are hostile
    const named: RunResult = {
      ...run,
      clusters: run.clusters.map((c, i) => ({
        ...c,
        name: `hostile-${i}`,
        findings: c.findings.map((f) => ({ ...f, fingerprint: `111111111111/eu-west-1/hostile-${i}/${f.ruleId}` })),
      })),
    };

    // Act
    const findings = renderRunAsff(named);
    const json = renderReport(named, 'asff');

    // Assert
    expect(findings).toHaveLength(HOSTILE_STRINGS.length);
    expect(terminalUnsafe(json)).toEqual([]);
    (JSON.parse(json) as unknown[]).forEach((raw, i) => {
      const asff = AsffFindingSchema.parse(raw);
      const text = HOSTILE_STRINGS[i] ?? '';
      const source = named.clusters[i]?.findings[0];
      // Title 256 and Description 1024 characters (Security Hub partner guide, "Title and Description",
      // https://docs.aws.amazon.com/securityhub/latest/partnerguide/guidelines-asff-mapping.html); ProductFields
      // values 2048 (AwsSecurityFinding ProductFields, SDK reference)
      expect(asff.Title).toBe(truncate(`Lock contended by ${text}`, 256));
      expect(asff.Description.length).toBeLessThanOrEqual(1024);
      expect(asff.Description).toContain(truncate(text, 900).slice(0, 200));
      expect(asff.Remediation.Recommendation.Text).toBe(truncate(`Look at \`${text}\` and ${text}.`, 512));
      expect(asff.ProductFields['eks-fleet-auditor/command']).toBe(truncate(source?.remediation.command ?? '', 2048));
    });
  });

  it('digest: the e-mail text has no control character or forged line, the Chatbot part no markup from data', () => {
    // Act
    const message = renderDigest(
      run,
      run.clusters.map((cluster) => ({ cluster, findings: cluster.findings })),
    );

    // Assert
    expect(terminalUnsafe(message.text)).toEqual([]);
    expect(forgedLines(message.text)).toEqual([]);
    const content = message.chatbot.content as { description: string; title: string };
    // Slack mrkdwn: a raw < or > opens a link or mention; a mark followed by U+200B pairs with nothing
    expect(content.description).not.toMatch(/[<>]/);
    for (const mark of ['**bold**', '_em_', '~~strike~~', '`code`']) expect(content.description).not.toContain(mark);
    expect(terminalUnsafe(content.description, { allowZeroWidthSpace: true })).toEqual([]);
    expect(terminalUnsafe(message.subject)).toEqual([]);
  });

  it('Slack: the notifier’s blocks from the digest’s data part hold no link, mention or markup from data', () => {
    // Arrange: the lambda part as the Slack notifier parses it
    const message = renderDigest(
      run,
      run.clusters.map((cluster) => ({ cluster, findings: cluster.findings })),
    );
    const payload = DigestPayloadSchema.parse(JSON.parse(JSON.stringify(message.payload)));

    // Act
    const slack = renderSlackDigest(payload);

    // Assert: every text element; the renderer's own mrkdwn is only *…*, _Fix:_ and `RULE-ID`
    const texts = slack.blocks.flatMap((b) =>
      b.type === 'header' || b.type === 'section'
        ? [b.text.text]
        : b.type === 'context'
          ? b.elements.map((e) => e.text)
          : [],
    );
    expect(texts.length).toBeGreaterThan(5);
    for (const text of texts) {
      expect(text).not.toMatch(/[<>]/);
      for (const mark of ['**bold**', '_em_', '~~strike~~', '`code`']) expect(text).not.toContain(mark);
      expect(terminalUnsafe(text, { allowZeroWidthSpace: true })).toEqual([]);
    }
    expect(terminalUnsafe(slack.text)).toEqual([]);
  });

  it('digest: a Chatbot description cut to its limit ends with neither half a surrogate pair nor half an escape', () => {
    for (let pad = 0; pad < 12; pad++) {
      // Arrange: the cut moves across emoji and escaped markup as the padding grows
      const cluster = { ...hostileCluster(`${'x'.repeat(pad)}${'🙂<'.repeat(2000)}`, 0) };

      // Act
      const message = renderDigest(run, [{ cluster, findings: cluster.findings }]);

      // Assert
      const { description } = message.chatbot.content as { description: string };
      expect(description.length).toBeLessThanOrEqual(3500);
      expect(loneSurrogates(description)).toBe(0);
      expect(description).not.toMatch(/&[a-z]{0,3}…$/);
    }
  });
});

describe('remediation commands with hostile data, run by a real bash', () => {
  const PWNED = [1, 2, 3, 4].map((n) => `/tmp/fleet-audit-pwned-${n}`);
  // `aws` and `kubectl` are shell functions printing their arguments NUL-separated, each call ended by two NULs
  const STUBS = `aws() { printf 'aws'; printf '\\0%s' "$@"; printf '\\0\\0'; }; kubectl() { printf 'kubectl'; printf '\\0%s' "$@"; printf '\\0\\0'; }`;

  /** What a shell can pass of a string: UTF-8 (lone surrogates become U+FFFD) without NUL (execve strings end at NUL). */
  const passable = (text: string) => Buffer.from(text.replaceAll('\u0000', ''), 'utf8').toString('utf8');

  function runInBash(command: string): { stdout: string; stderr: string; status: number | null } {
    const syntax = spawnSync('bash', ['-n', '-c', command], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    const result = spawnSync('bash', ['-c', `${STUBS}; ${command}`], { encoding: 'utf8' });
    return { stdout: result.stdout, stderr: result.stderr, status: result.status };
  }

  it('passes each string as one argument, byte for byte, on one line of plain characters, also laid out at 24 to 80 columns', () => {
    for (const file of PWNED) rmSync(file, { force: true });
    for (const text of HOSTILE_STRINGS) {
      // Arrange
      const place = { account: '111111111111', region: 'eu-west-1', name: text };
      const command = `${updateAddonCommand(place, 'kube-proxy', { mode: 'ipvs', note: text })} && ${kubeProxyRestartCommand(place)}`;

      // Assert: one line, nothing a terminal would act on
      expect(command).not.toMatch(/\n/);
      expect(terminalUnsafe(command)).toEqual([]);
      for (const laidOut of [
        command,
        ...[24, 40, 61, 80].map((w) => shellLines(command, w, '  ', '    ').join('\n')),
      ]) {
        // Act
        const { stdout, status } = runInBash(laidOut);

        // Assert
        expect(status).toBe(0);
        const calls = stdout
          .split('\u0000\u0000')
          .filter(Boolean)
          .map((call) => call.split('\u0000'));
        expect(calls.map((c) => c.slice(0, 3))).toEqual([
          ['aws', 'eks', 'update-addon'],
          ['aws', 'eks', 'wait'],
          ['kubectl', '--context', `arn:aws:eks:eu-west-1:111111111111:cluster/${passable(text)}`],
        ]);
        const update = calls[0] ?? [];
        expect(update[update.indexOf('--cluster-name') + 1]).toBe(passable(text));
        expect(JSON.parse(update[update.indexOf('--configuration-values') + 1] ?? '')).toEqual({
          mode: 'ipvs',
          note: text,
        });
      }
    }
    for (const file of PWNED) expect(existsSync(file), file).toBe(false);
  });

  it('keeps JSON escapes intact when the command fills in the endpoint with printf', () => {
    for (const text of HOSTILE_STRINGS) {
      // Arrange: the vpc-cni configuration with CLUSTER_ENDPOINT to be filled from describe-cluster
      const place = { account: '111111111111', region: 'eu-west-1', name: 'prod' };
      const values = { env: { CLUSTER_ENDPOINT: ENDPOINT_PLACEHOLDER, NOTE: text } };
      const command = updateAddonCommand(place, 'vpc-cni', values);
      const stubs = `aws() { if [ "$2" = describe-cluster ]; then printf 'https://ABC.gr7.eu-west-1.eks.amazonaws.com'; else printf 'aws'; printf '\\0%s' "$@"; printf '\\n'; fi; }`;

      // Act
      const result = spawnSync('bash', ['-c', `${stubs}; ${command}`], { encoding: 'utf8' });

      // Assert
      expect(result.status, result.stderr).toBe(0);
      const args = result.stdout.replace(/\n$/, '').split('\u0000');
      expect(JSON.parse(args[args.indexOf('--configuration-values') + 1] ?? '')).toEqual({
        env: { CLUSTER_ENDPOINT: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com', NOTE: text },
      });
    }
  });
  it('keeps YAML configuration, multi-line and with escapes, intact through the printf that fills in the endpoint', () => {
    const endpoint = 'https://ABC.gr7.eu-west-1.eks.amazonaws.com';
    const stubs = `aws() { if [ "$2" = describe-cluster ]; then printf '${endpoint}'; else printf 'aws'; printf '\\0%s' "$@"; fi; }`;
    for (const text of HOSTILE_STRINGS) {
      // Arrange: YAML as the add-on holds it (update-addon keeps YAML as written)
      const yaml = yamlText(
        { env: { NOTE: text, CLUSTER_ENDPOINT: ENDPOINT_PLACEHOLDER } },
        { defaultStringType: 'QUOTE_DOUBLE' },
      );
      const command = updateAddonCommand(
        { account: '111111111111', region: 'eu-west-1', name: 'prod' },
        'vpc-cni',
        yaml.replace(/\n$/, ''),
      );

      // Act
      const result = spawnSync('bash', ['-c', `${stubs}; ${command}`], { encoding: 'utf8' });

      // Assert
      expect(command).not.toMatch(/\n/);
      expect(terminalUnsafe(command)).toEqual([]);
      expect(result.status, result.stderr).toBe(0);
      const args = result.stdout.split('\u0000');
      const expected = parseYaml(passable(yaml).replace(`"${ENDPOINT_PLACEHOLDER}"`, `"${endpoint}"`));
      expect(parseYaml(args[args.indexOf('--configuration-values') + 1] ?? '')).toEqual(expected);
    }
  });
});
