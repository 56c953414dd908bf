import type { ClusterResult, Finding, RunResult } from '../model.js';

/**
 * Escaping for every renderer. Collector data (node group tags, `parent/comm` names, log lines, add-on
 * configuration, AWS error messages) is attacker-influenced: a pod can name its process `\x1b]0;…\x07`, a tag can
 * hold `<script>`. Each output format gets one function here, and each renderer passes every value that came from
 * data through it; the renderers' own markup and line breaks are added around the escaped values.
 */

/**
 * Characters that never reach an output as they are: C0 controls (all of them: a line break from data would forge
 * a line), DEL, C1 controls (U+009B is an 8-bit CSI), the bidirectional controls that reorder text on screen
 * (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069: the "Trojan Source" characters, CVE-2021-42574), zero-width
 * characters (U+200B–U+200D, U+2060, U+FEFF) and other invisible ones (soft hyphen U+00AD, U+180E, the
 * interlinear annotation marks U+FFF9–U+FFFB, the tag characters U+E0000–U+E007F that spell hidden ASCII), the line
 * and paragraph separators (U+2028/9) and lone surrogates.
 */
const UNSAFE_CHARS =
  '\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff\\ufff9-\\ufffb';
const UNSAFE = new RegExp(
  `[${UNSAFE_CHARS}]|\\udb40[\\udc00-\\udc7f]` +
    '|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]',
  'g',
);

/** Whether text holds a character {@link visibleText} would escape. */
export function hasUnsafe(text: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(text);
  UNSAFE.lastIndex = 0;
  return found;
}

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const hex = (c: string, digits: number) => (c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(digits, '0');

/**
 * Text with every unsafe character written out visibly: `\n`, `\r`, `\t`, `\x1B` (U+0000–U+00FF), `\u202E`.
 * What remains prints as plain characters on any terminal and in any document.
 */
export function visibleText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return NAMED[c] ?? (code < 0x100 ? `\\x${hex(c, 2)}` : code > 0xffff ? `\\u{${hex(c, 5)}}` : `\\u${hex(c, 4)}`);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes text for HTML element content and quoted attribute values (both quote kinds), with unsafe characters
 * other than line feed and tab made visible first. https://html.spec.whatwg.org/multipage/parsing.html#escapingString
 */
export function escapeHtml(text: string): string {
  // Line breaks and tabs are whitespace in HTML (they matter only in <pre>, where the JSON we print needs them).
  return text
    .split(/(\n|\t)/)
    .map((part) =>
      part === '\n' || part === '\t' ? part : visibleText(part).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c),
    )
    .join('');
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown (CommonMark + GFM, as cmark-gfm and GitHub render it)

/**
 * Text as Markdown inline content that renders as exactly that text. Backslash escapes (CommonMark 0.31.2 §2.4: any
 * ASCII punctuation may be escaped) go before every character that can start markup anywhere in a line: `\` and
 * `` ` `` (code spans), `*` `_` `~` (emphasis, GFM strikethrough), `[` `]` (links, images, footnotes, task items),
 * `<` `>` (raw HTML, autolinks), `&` (entities), `|` (GFM table cells, §4.10), `#` (a heading's closing sequence)
 * and `$` (GitHub's math). At the start of the text also the block markers (`-` `+` `=` `>`, `1.`/`1)`) and leading
 * blanks are escaped, for a line that starts with data. GFM's extended autolinks (§6.9) are disarmed by escaping
 * the `:` of `scheme://` and the `.` of `www.`, and its e-mail autolink, which is found after escapes are
 * resolved, by an invisible U+200B (as an entity) before each `@`. https://spec.commonmark.org/0.31.2/
 * https://github.github.com/gfm/#autolinks-extension-
 */
export function markdownText(text: string): string {
  return markdownInline(text)
    .replace(
      /^( *)([-+=>]|\d+[.)])/,
      (_, blanks: string, marker: string) =>
        `${'&#32;'.repeat(blanks.length)}${marker.replace(/[-+=>.)]$/, (c) => `\\${c}`)}`,
    )
    .replace(/^ +/, (blanks) => '&#32;'.repeat(blanks.length));
}

/** {@link markdownText} for text that follows other inline content on its line (no block markers to escape). */
function markdownInline(text: string): string {
  return visibleText(text)
    .replace(/[\\`*_~[\]<>&|#$]/g, (c) => `\\${c}`)
    .replace(/:(?=\/\/)/g, '\\:')
    .replace(/\b(www)\./gi, '$1\\.')
    .replace(/@/g, '&#8203;@');
}

/**
 * Text as a Markdown code span: delimited by one more backtick than its longest backtick run, padded with a space
 * when it starts or ends with a backtick or blank (CommonMark §6.1). Not for table cells, where GFM splits at a
 * `|` even inside a code span.
 */
export function markdownCode(text: string): string {
  const safe = visibleText(text);
  const longest = Math.max(0, ...[...safe.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = /^[`\s]|[`\s]$/.test(safe) || safe === '' ? ' ' : '';
  return `${fence}${pad}${safe}${pad}${fence}`;
}

/**
 * A fenced code block whose fence is longer than any backtick run inside (CommonMark §4.5: the closing fence must
 * be at least as long as the opening one), so no line of data can close it early.
 */
export function markdownFence(text: string, info: string): string[] {
  const lines = text.split('\n').map(visibleText);
  const longest = Math.max(2, ...lines.flatMap((l) => [...l.matchAll(/`+/g)].map((m) => m[0].length)));
  const fence = '`'.repeat(longest + 1);
  return [`${fence}${info}`, ...lines, fence];
}

/** Text in which `backticked` spans are code, as the rules write commands and setting names; the rest is text. */
export function markdownProse(text: string): string {
  const parts = text.split('`');
  if (parts.length % 2 === 0) return markdownText(text);
  return parts
    .map((part, i) => (i % 2 === 1 ? markdownCode(part) : i === 0 ? markdownText(part) : markdownInline(part)))
    .join('');
}

// ---------------------------------------------------------------------------------------------------------------
// Slack mrkdwn (AWS Chatbot's client-markdown renders in the chat platform's own markdown)

/**
 * Text for AWS Chatbot's `client-markdown` in Slack: "renders notifications in the target chat platform's markdown"
 * (https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html), and Slack's mrkdwn has exactly three
 * characters to escape, `&`, `<` and `>`, which also disarm `<url|text>` links and `<!channel>` mentions
 * (https://api.slack.com/reference/surfaces/formatting#escaping, as tryfabric/mack#21 applies it). Formatting marks
 * (`*`, `_`, `~`, backticks) have no escape in mrkdwn (yhatt/jsx-slack docs/about-escape-and-exact-mode.md); each gets
 * a U+200B after it, which stops it pairing with another. Data never starts a line (line breaks are escaped), so a
 * `>` from data cannot quote.
 */
export function slackText(text: string): string {
  return visibleText(text)
    .replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'))
    .replace(/[*_~`]/g, (c) => `${c}\u200b`);
}

// ---------------------------------------------------------------------------------------------------------------
// JSON

// what JSON.stringify leaves raw of UNSAFE: all of it but C0 and lone surrogates, each UTF-16 unit escaped on its own
const JSON_UNSAFE = new RegExp(`[${UNSAFE_CHARS.slice('\\u0000-\\u001f'.length)}]|\\udb40[\\udc00-\\udc7f]`, 'g');

/**
 * `JSON.stringify`, with the characters it leaves raw that a terminal or viewer would act on (DEL, C1, bidi and
 * zero-width characters, U+2028/9) written as `\uXXXX` escapes. C0 controls and lone surrogates JSON.stringify
 * escapes itself (ECMA-262 QuoteJSONString, well-formed since ES2019). These characters can occur only inside
 * string literals, so the result parses back to the same value.
 */
export function safeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(JSON_UNSAFE, (c) =>
    [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Whole results

/**
 * A copy of a finding with every text field that can carry data passed through `escape`. `configurationValues`
 * stays as it is (renderers print it as JSON with {@link safeJson}), and so does the fingerprint (an identity).
 */
export function escapeFinding(f: Finding, esc: (text: string) => string): Finding {
  return {
    ...f,
    title: esc(f.title),
    evidence: {
      ...f.evidence,
      summary: esc(f.evidence.summary),
      nodes: f.evidence.nodes.map(esc),
      values: Object.fromEntries(
        Object.entries(f.evidence.values).map(([k, v]) => [esc(k), typeof v === 'string' ? esc(v) : v]),
      ),
    },
    ...(f.stateReason === undefined ? {} : { stateReason: esc(f.stateReason) }),
    remediation: {
      ...f.remediation,
      summary: esc(f.remediation.summary),
      command: f.remediation.command === null ? null : esc(f.remediation.command),
      links: f.remediation.links.map(esc),
    },
  };
}

/** A copy of a cluster result with its names, findings and reasons passed through `escape`. */
export function escapeCluster(c: ClusterResult, esc: (text: string) => string): ClusterResult {
  return {
    ...c,
    account: c.account === null ? null : esc(c.account),
    region: c.region === null ? null : esc(c.region),
    name: esc(c.name),
    findings: c.findings.map((f) => escapeFinding(f, esc)),
    notEvaluated: c.notEvaluated.map((n) => ({ ...n, reason: esc(n.reason) })),
  };
}

/** A copy of a run with every text that can carry data passed through `escape`. */
export function escapeRun(run: RunResult, esc: (text: string) => string): RunResult {
  return {
    ...run,
    runId: esc(run.runId),
    startedAt: esc(run.startedAt),
    finishedAt: esc(run.finishedAt),
    clusters: run.clusters.map((c) => escapeCluster(c, esc)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Cutting text to a limit

/**
 * Cuts text to at most `max` UTF-16 units ending with an ellipsis: at a space when one is among the last 40
 * characters kept, and never inside a surrogate pair.
 */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let cut = max - 1;
  const space = value.lastIndexOf(' ', cut);
  if (space > 0 && cut - space <= 40) cut = space;
  const last = value.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return `${value.slice(0, cut).trimEnd()}…`;
}

/** The first `max` UTF-16 units of mrkdwn text, never ending inside a surrogate pair or an escape like `&lt;`. */
export function cutMrkdwn(text: string, max: number): string {
  const cut = text.slice(0, max);
  return cut.replace(/[\ud800-\udbff]$/, '').replace(/&[a-z]{0,3}$/, '');
}
