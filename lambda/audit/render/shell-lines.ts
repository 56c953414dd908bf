/**
 * Lays a shell command out over lines that fit a width and that a POSIX shell still reads as the very same
 * command, so it can be copied from the text report and pasted as it is.
 *
 * Lines break between words with ` \` (a backslash-newline is removed before the shell splits words: POSIX
 * Shell Command Language, 2.2.1 Escape Character), and the next line may be indented. A word longer than a line
 * (a JSON `--configuration-values`) is split inside: outside single quotes by a backslash-newline, inside single
 * quotes by closing the quote, a backslash-newline, and reopening it (`'ab'\⏎'cd'` is the word `abcd`: adjacent
 * quoted parts form one word). A continuation inside a word starts in column 0, since leading blanks there would
 * become part of the word or split it. Nothing of the command's text changes: removing the inserted sequences
 * gives it back byte for byte.
 *
 * https://pubs.opengroup.org/onlinepubs/9799919799/utilities/V3_chap02.html#tag_19_02
 */

type Context = 'top' | 'single' | 'double' | 'substitution';

/** How a word may be split before a character: not at all, by backslash-newline, or by closing single quotes. */
type SplitKind = 'none' | 'continue' | 'quote';

interface Word {
  text: string;
  /** per character: how the word may be split right before it */
  splits: SplitKind[];
}

/** Splits a command into words at unquoted blanks, noting where each word could be split inside. */
function lex(command: string): Word[] {
  const words: Word[] = [];
  const stack: Context[] = ['top'];
  let text = '';
  let splits: SplitKind[] = [];
  let escaped = false;
  const push = (ch: string, kind: SplitKind) => {
    text += ch;
    splits.push(kind);
  };
  for (let i = 0; i < command.length; i++) {
    const ch = command[i] ?? '';
    const context = stack.at(-1) ?? 'top';
    const previous = command[i - 1];
    // Never split an escape from its character, `$(`/`${`, or between the quotes' own characters.
    const splittable =
      text.length > 0 &&
      !escaped &&
      !(previous === '$' && (ch === '(' || ch === '{')) &&
      !(context === 'single' && ch === "'");
    const kind: SplitKind = splittable ? (context === 'single' ? 'quote' : 'continue') : 'none';
    if (escaped) {
      escaped = false;
      push(ch, kind);
      continue;
    }
    if (context === 'single') {
      if (ch === "'") stack.pop();
      push(ch, kind);
      continue;
    }
    if (ch === '\\') {
      escaped = true;
      push(ch, kind);
      continue;
    }
    if (context === 'top' && (ch === ' ' || ch === '\t')) {
      if (text) words.push({ text, splits });
      text = '';
      splits = [];
      continue;
    }
    if (ch === "'" && context !== 'double') stack.push('single');
    else if (ch === '"' && context === 'double') stack.pop();
    else if (ch === '"') stack.push('double');
    else if (ch === '(' && previous === '$') stack.push('substitution');
    else if (ch === ')' && context === 'substitution') stack.pop();
    push(ch, kind);
  }
  if (text) words.push({ text, splits });
  return words;
}

/**
 * Cuts a word into pieces: the first at most `firstRoom` columns, the others (from column 0) at most `room`; the
 * last leaves `tail` columns free for what follows it on its line.
 */
function splitWord(word: Word, firstRoom: number, room: number, tail: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  let reopen = false;
  let available = firstRoom;
  while (start < word.text.length) {
    const lead = reopen ? "'" : '';
    if (lead.length + word.text.length - start + tail <= available) break;
    let cut = -1;
    let preferred = -1;
    for (let p = start + 1; p < word.text.length; p++) {
      const kind = word.splits[p] ?? 'none';
      if (kind === 'none') continue;
      const length = lead.length + (p - start) + (kind === 'quote' ? 2 : 1);
      if (length > available) break;
      cut = p;
      // Prefer to break after a JSON or URL separator when that keeps most of the line.
      if (',:./'.includes(word.text[p - 1] ?? '') && length >= available * 0.6) preferred = p;
    }
    const at = preferred > 0 ? preferred : cut;
    if (at < 0) break; // nothing fits: the rest overflows rather than be cut where the shell would not rejoin it
    const kind = word.splits[at];
    pieces.push(`${lead}${word.text.slice(start, at)}${kind === 'quote' ? "'\\" : '\\'}`);
    reopen = kind === 'quote';
    start = at;
    available = room;
  }
  pieces.push(`${reopen ? "'" : ''}${word.text.slice(start)}`);
  return pieces;
}

/**
 * Words grouped so that a line breaks between groups where it can: an option and its value (`--region
 * eu-west-1`) stay together.
 */
function groups(words: ReadonlyArray<Word>): Word[][] {
  const out: Word[][] = [];
  for (const word of words) {
    const previous = out.at(-1);
    const option = previous?.length === 1 && previous[0]?.text.startsWith('-');
    if (previous && option && !word.text.startsWith('-')) previous.push(word);
    else out.push([word]);
  }
  return out;
}

/**
 * The command over lines of at most `width` columns where it can be: the first line starts with `first`, lines
 * continued between words with `rest`. Removing every inserted ` \⏎<rest>`, `\⏎` and `'\⏎'` gives the command back.
 */
export function shellLines(command: string, width: number, first: string, rest: string): string[] {
  const words = lex(command);
  const lines: string[] = [];
  let line = first;
  let empty = true;
  let index = 0;
  const place = (word: Word) => {
    const last = index === words.length - 1;
    index++;
    const tail = last ? 0 : 2; // room for " \"
    if (!empty && line.length + 1 + word.text.length + tail > width) {
      lines.push(`${line} \\`);
      line = rest;
      empty = true;
    }
    const prefix = empty ? '' : ' ';
    if (line.length + prefix.length + word.text.length + tail > width) {
      const pieces = splitWord(word, width - line.length - prefix.length, width, tail);
      const head = pieces.shift() ?? '';
      const end = pieces.pop();
      if (end === undefined) {
        line += prefix + head;
      } else {
        lines.push(line + prefix + head, ...pieces);
        line = end;
      }
    } else {
      line += prefix + word.text;
    }
    empty = false;
  };
  for (const group of groups(words)) {
    const text = group.map((w) => w.text).join(' ');
    const last = index + group.length === words.length;
    // A group that fits on a fresh line but not on this one starts the next line.
    if (!empty && line.length + 1 + text.length + (last ? 0 : 2) > width && rest.length + text.length + 2 <= width) {
      lines.push(`${line} \\`);
      line = rest;
      empty = true;
    }
    for (const word of group) place(word);
  }
  lines.push(line);
  return lines;
}
