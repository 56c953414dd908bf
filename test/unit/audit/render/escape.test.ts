import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  markdownCode,
  markdownFence,
  markdownProse,
  markdownText,
  safeJson,
  slackText,
  visibleText,
} from '#audit/render/escape.js';
import { cmarkGfm } from '../../../fixtures/hostile-checks.js';

/** cmark-gfm's rendering of one paragraph, without the <p> around it. */
const paragraph = (markdown: string) =>
  cmarkGfm(markdown)
    .trim()
    .replace(/^<p>|<\/p>$/g, '');

describe('visibleText', () => {
  it('writes control, C1, bidi, zero-width characters and lone surrogates out, and keeps everything else', () => {
    expect(visibleText('a\nb\r\tc\u001b[31m\u0000\u007f')).toBe('a\\nb\\r\\tc\\x1B[31m\\x00\\x7F');
    expect(visibleText('\u009b\u0085\u202e\u2066\u200b\ufeff\u2028')).toBe(
      '\\x9B\\x85\\u202E\\u2066\\u200B\\uFEFF\\u2028',
    );
    expect(visibleText('x\ud800y\udfffz')).toBe('x\\uD800y\\uDFFFz');
    expect(visibleText('soft\u00adhyphen, tag h: \udb40\udc68')).toBe('soft\\xADhyphen, tag h: \\u{E0068}');
    expect(visibleText('grüße 🙂 日本 <b>&"\'')).toBe('grüße 🙂 日本 <b>&"\'');
  });
});

describe('markdownText', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['**bold** _em_ ~~s~~ `c`', '**bold** _em_ ~~s~~ `c`'],
    ['[x](https://evil.example) ![i](y)', '[x](https://evil.example) ![i](y)'],
    ['<https://evil.example>', '&lt;https://evil.example&gt;'],
    ['see www.evil.example now', 'see www.evil.example now'],
    ['go https://evil.example now', 'go https://evil.example now'],
    ['mail a@evil.example', 'mail a\u200b@evil.example'],
    ['&amp; &#60;', '&amp;amp; &amp;#60;'],
    ['a | b', 'a | b'],
  ])('renders %j through cmark-gfm as the very text', (text, html) => {
    expect(paragraph(`x ${markdownText(text)}`)).toBe(`x ${html}`);
  });

  it.each([
    ['# heading', '# heading'],
    ['- item', '- item'],
    ['+ item', '+ item'],
    ['1. item', '1. item'],
    ['2) item', '2) item'],
    ['> quote', '&gt; quote'],
    ['    code', '    code'],
    ['===', '==='],
  ])('starts a line with %j and stays a paragraph', (text, html) => {
    expect(cmarkGfm(`${markdownText(text)}\n`).trim()).toBe(`<p>${html}</p>`);
  });

  it('keeps a table row to its cells', () => {
    const html = cmarkGfm(`| a | b |\n|---|---|\n| ${markdownText('x | y')} | ${markdownText('`|`')} |\n`);
    expect(html.match(/<td>/g)).toHaveLength(2);
    expect(html).toContain('<td>x | y</td>');
  });

  it('leaves plain names readable in the Markdown source', () => {
    expect(markdownText('111111111111/eu-west-1/checkout-prod')).toBe('111111111111/eu-west-1/checkout-prod');
  });
});

describe('markdownCode and markdownFence', () => {
  it('delimit code by more backticks than it holds', () => {
    expect(markdownCode('a')).toBe('`a`');
    expect(markdownCode('a`b')).toBe('``a`b``');
    expect(markdownCode('`x`')).toBe('`` `x` ``');
    expect(paragraph(markdownCode('``` <b> ```'))).toBe('<code>``` &lt;b&gt; ```</code>');
    const fence = markdownFence('echo ```\n```\nrm', 'sh');
    expect(fence).toEqual(['````sh', 'echo ```', '```', 'rm', '````']);
    expect(cmarkGfm(`${fence.join('\n')}\nafter\n`)).toBe(
      '<pre><code class="language-sh">echo ```\n```\nrm\n</code></pre>\n<p>after</p>\n',
    );
  });

  it('markdownProse makes the rules’ backticked spans code and the rest text', () => {
    expect(paragraph(markdownProse('run `kubectl get <x>` then <b>'))).toBe(
      'run <code>kubectl get &lt;x&gt;</code> then &lt;b&gt;',
    );
  });
});

describe('escapeHtml', () => {
  it('escapes markup and both quote kinds, makes controls visible and keeps line feeds and tabs', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>\u001b\u202e\n\t`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;\\x1B\\u202E\n\t',
    );
  });
});

describe('slackText', () => {
  it('escapes Slack’s three characters and breaks formatting marks', () => {
    expect(slackText('<!channel> <https://e.example|x> & *b* _i_ ~s~ `c`')).toBe(
      '&lt;!channel&gt; &lt;https://e.example|x&gt; &amp; *\u200bb*\u200b _\u200bi_\u200b ~\u200bs~\u200b `\u200bc`\u200b',
    );
    expect(slackText('\u001b[31m')).toBe('\\x1B[31m');
  });
});

describe('safeJson', () => {
  it('writes C1, bidi and zero-width characters as \\u escapes and parses back to the same value', () => {
    const value = { a: '\u009b31m\u202e\u200b\u2028x', b: ['\u0000\u001b', 'lone \ud800', 'tag \udb40\udc68 🙂'] };
    const json = safeJson(value, 2);
    expect(json).toContain('"\\u009b31m\\u202e\\u200b\\u2028x"');
    expect(json).toContain('"lone \\ud800"');
    expect(json).toContain('"tag \\udb40\\udc68 🙂"');
    expect(JSON.parse(json)).toEqual(value);
  });
});
