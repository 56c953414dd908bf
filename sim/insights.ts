/**
 * A small, honest interpreter for the subset of the CloudWatch Logs Insights query language the auditor sends:
 *
 *   fields a, b …                        (accepted; stats decide the result)
 *   | filterIndex field = "text"         or `field in ["a", "b"]`: at most one, scans only the events a field index
 *                                        of the log group holds with one of the values (scannedEvents)
 *   | filter <condition>                 field like /regex/ | field like "text" | field = "text" | field != "text",
 *                                        combined with and / or / not and parentheses
 *   | stats sum(strcontains(field, "text")) as name, count(*) as name …     (no `by`)
 *
 * Anything else is a syntax error, so a query the simulator cannot evaluate fails loudly instead of returning
 * made-up numbers. Fields: @message, @logStream, @timestamp, @log, and the keys of a JSON @message (nested keys
 * joined with dots, as Logs Insights flattens them: `kubernetes.container_name`).
 */

export interface InsightsEvent {
  timestamp: number;
  message: string;
  stream: string;
  logGroup: string;
}

export interface InsightsQuery {
  /** the query's filterIndex, if it has one */
  index: { field: string; values: string[] } | null;
  filters: Condition[];
  stats: Aggregate[];
}

/** A field index of a log group: its field, and from when (epoch ms) it holds events. */
export interface FieldIndexState {
  field: string;
  since: number;
}

/**
 * The events a query scans (and bills: bytesScanned counts their bytes). Without filterIndex, every event of the
 * window (Logs Insights is priced per GB of data scanned, https://aws.amazon.com/cloudwatch/pricing/; a `filter`
 * decides what matches, not what is read: with `filter` on a group without the index "it will scan every log event
 * in that … log group", CWL_QuerySyntax-FilterIndex-Filter.html below). With
 * filterIndex, per https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-FilterIndex-Filter.html:
 * a log group not indexed on the field is skipped ("will skip scanning the log group that doesn't have the field
 * indexed"); in an indexed one only the events with the field and one of the values are scanned, and "only results
 * from after the field index was created" come back. The simulator's index is exact; AWS's "attempts to" scan only
 * those, so a real figure can be higher, never lower.
 */
export function scannedEvents(
  query: InsightsQuery,
  events: ReadonlyArray<InsightsEvent>,
  indexes: ReadonlyArray<FieldIndexState>,
): InsightsEvent[] {
  const { index } = query;
  if (!index) return [...events];
  const held = indexes.find((i) => i.field === index.field);
  if (!held) return [];
  return events.filter((event) => {
    const value = fieldOf(event, index.field);
    return event.timestamp >= held.since && value !== undefined && index.values.includes(value);
  });
}

export type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; operand: Condition }
  | { kind: 'like'; field: string; pattern: RegExp | string; negate: boolean }
  | { kind: 'equals'; field: string; value: string; negate: boolean };

export type Aggregate =
  | { kind: 'sumContains'; field: string; needle: string; as: string }
  | { kind: 'count'; field: string | null; as: string };

/** A query outside the supported subset, or malformed. */
export class InsightsSyntaxError extends Error {
  override readonly name = 'InsightsSyntaxError';
}

type Token =
  | { type: 'word'; value: string }
  | { type: 'string'; value: string }
  | { type: 'regex'; value: RegExp }
  | { type: 'punct'; value: string };

export function parseInsightsQuery(text: string): InsightsQuery {
  const tokens = tokenize(text);
  const parser = new Parser(tokens);
  return parser.query();
}

/** Evaluates a query over events; one result row (field → value) when any event passes the filters, else none. */
export function runInsightsQuery(
  query: InsightsQuery,
  events: ReadonlyArray<InsightsEvent>,
): { rows: Array<Array<{ field: string; value: string }>>; matched: number } {
  const matched = events.filter((event) => query.filters.every((condition) => holds(condition, event)));
  if (query.stats.length === 0) {
    return {
      rows: matched.map((event) => [
        { field: '@timestamp', value: new Date(event.timestamp).toISOString().replace('T', ' ').replace('Z', '') },
        { field: '@message', value: event.message },
      ]),
      matched: matched.length,
    };
  }
  if (matched.length === 0) return { rows: [], matched: 0 };
  const row = query.stats.map((aggregate) => ({ field: aggregate.as, value: String(aggregateOf(aggregate, matched)) }));
  return { rows: [row], matched: matched.length };
}

function aggregateOf(aggregate: Aggregate, events: ReadonlyArray<InsightsEvent>): number {
  if (aggregate.kind === 'count') {
    return aggregate.field === null
      ? events.length
      : events.filter((e) => fieldOf(e, aggregate.field ?? '') !== undefined).length;
  }
  return events.filter((event) => (fieldOf(event, aggregate.field) ?? '').includes(aggregate.needle)).length;
}

function holds(condition: Condition, event: InsightsEvent): boolean {
  switch (condition.kind) {
    case 'and':
      return holds(condition.left, event) && holds(condition.right, event);
    case 'or':
      return holds(condition.left, event) || holds(condition.right, event);
    case 'not':
      return !holds(condition.operand, event);
    case 'like': {
      const value = fieldOf(event, condition.field);
      const found =
        value !== undefined &&
        (typeof condition.pattern === 'string' ? value.includes(condition.pattern) : condition.pattern.test(value));
      return condition.negate ? !found : found;
    }
    case 'equals': {
      const equal = fieldOf(event, condition.field) === condition.value;
      return condition.negate ? !equal : equal;
    }
  }
}

export function fieldOf(event: InsightsEvent, field: string): string | undefined {
  switch (field) {
    case '@message':
      return event.message;
    case '@logStream':
      return event.stream;
    case '@log':
      return event.logGroup;
    case '@timestamp':
      return String(event.timestamp);
    default:
      return jsonField(event.message, field);
  }
}

function jsonField(message: string, field: string): string | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    let value: unknown = JSON.parse(message);
    if (value !== null && typeof value === 'object' && field in value) {
      value = (value as Record<string, unknown>)[field];
    } else {
      // a nested key, flattened with dots (a top-level key with a dot in its name is found above)
      for (const key of field.split('.')) {
        if (value === null || typeof value !== 'object' || !(key in value)) return undefined;
        value = (value as Record<string, unknown>)[key];
      }
    }
    return typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i] ?? '';
    if (/\s/.test(char)) {
      i++;
    } else if (char === '"' || char === "'") {
      const { value, end } = readQuoted(text, i);
      tokens.push({ type: 'string', value });
      i = end;
    } else if (char === '/' && previousIsLike(tokens)) {
      const { value, end } = readRegex(text, i);
      tokens.push({ type: 'regex', value });
      i = end;
    } else if (text.startsWith('!=', i) || text.startsWith('=~', i)) {
      tokens.push({ type: 'punct', value: text.slice(i, i + 2) });
      i += 2;
    } else if ('|(),=*[]'.includes(char)) {
      tokens.push({ type: 'punct', value: char });
      i++;
    } else if (/[@A-Za-z_]/.test(char)) {
      const match = /^[@A-Za-z_][\w.@]*/.exec(text.slice(i));
      const word = match?.[0] ?? char;
      tokens.push({ type: 'word', value: word });
      i += word.length;
    } else {
      throw new InsightsSyntaxError(`unexpected character ${JSON.stringify(char)} at ${i}`);
    }
  }
  return tokens;
}

function previousIsLike(tokens: ReadonlyArray<Token>): boolean {
  const last = tokens[tokens.length - 1];
  return (
    (last?.type === 'word' && last.value.toLowerCase() === 'like') || (last?.type === 'punct' && last.value === '=~')
  );
}

function readQuoted(text: string, start: number): { value: string; end: number } {
  const quote = text[start];
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const char = text[i] ?? '';
    if (char === '\\') {
      const next = text[i + 1] ?? '';
      value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      i += 2;
    } else if (char === quote) {
      return { value, end: i + 1 };
    } else {
      value += char;
      i++;
    }
  }
  throw new InsightsSyntaxError(`unterminated string starting at ${start}`);
}

function readRegex(text: string, start: number): { value: RegExp; end: number } {
  let i = start + 1;
  let source = '';
  while (i < text.length && text[i] !== '/') {
    if (text[i] === '\\') {
      source += text.slice(i, i + 2);
      i += 2;
    } else {
      source += text[i];
      i++;
    }
  }
  if (i >= text.length) throw new InsightsSyntaxError(`unterminated regular expression starting at ${start}`);
  // Logs Insights spells case-insensitivity as a leading (?i).
  const insensitive = source.startsWith('(?i)');
  try {
    return { value: new RegExp(insensitive ? source.slice(4) : source, insensitive ? 'i' : ''), end: i + 1 };
  } catch (error) {
    throw new InsightsSyntaxError(`bad regular expression /${source}/: ${(error as Error).message}`);
  }
}

class Parser {
  #at = 0;
  constructor(private readonly tokens: ReadonlyArray<Token>) {}

  query(): InsightsQuery {
    const query: InsightsQuery = { index: null, filters: [], stats: [] };
    do {
      const command = this.#word().toLowerCase();
      if (command === 'fields') this.#fields();
      else if (command === 'filterindex') {
        if (query.index) throw new InsightsSyntaxError('only one filterIndex command is supported');
        query.index = this.#filterIndex();
      } else if (command === 'filter') query.filters.push(this.#or());
      else if (command === 'stats') {
        if (query.stats.length > 0) throw new InsightsSyntaxError('only one stats command is supported');
        query.stats = this.#stats();
      } else throw new InsightsSyntaxError(`unsupported command "${command}"`);
    } while (this.#take('punct', '|'));
    if (this.#at < this.tokens.length) {
      throw new InsightsSyntaxError(`unexpected ${describe(this.tokens[this.#at])}`);
    }
    return query;
  }

  /** `field = "v"` or `field in ["v", …]`: the only comparisons filterIndex takes (CWL_QuerySyntax-FilterIndex). */
  #filterIndex(): { field: string; values: string[] } {
    const field = this.#word();
    if (this.#take('punct', '=')) return { field, values: [this.#string()] };
    if (!this.#peekWord('in')) throw new InsightsSyntaxError(`filterIndex on ${field}: expected = or in`);
    this.#at++;
    this.#expect('punct', '[');
    const values: string[] = [];
    do values.push(this.#string());
    while (this.#take('punct', ','));
    this.#expect('punct', ']');
    return { field, values };
  }

  #fields(): void {
    do this.#word();
    while (this.#take('punct', ','));
  }

  #stats(): Aggregate[] {
    const aggregates: Aggregate[] = [];
    do {
      const fn = this.#word().toLowerCase();
      this.#expect('punct', '(');
      let build: (as: string) => Aggregate;
      if (fn === 'sum') {
        if (this.#word().toLowerCase() !== 'strcontains')
          throw new InsightsSyntaxError('sum() supports strcontains() only');
        this.#expect('punct', '(');
        const field = this.#word();
        this.#expect('punct', ',');
        const needle = this.#string();
        this.#expect('punct', ')');
        build = (as) => ({ kind: 'sumContains', field, needle, as });
      } else if (fn === 'count') {
        const field = this.#take('punct', '*') || this.#peekIs('punct', ')') ? null : this.#word();
        build = (as) => ({ kind: 'count', field, as });
      } else {
        throw new InsightsSyntaxError(`unsupported stats function "${fn}"`);
      }
      this.#expect('punct', ')');
      if (this.#peekWord('by')) throw new InsightsSyntaxError('stats … by is not supported');
      if (this.#word().toLowerCase() !== 'as') throw new InsightsSyntaxError('each stats function needs "as <name>"');
      aggregates.push(build(this.#word()));
    } while (this.#take('punct', ','));
    if (this.#peekWord('by')) throw new InsightsSyntaxError('stats … by is not supported');
    return aggregates;
  }

  #or(): Condition {
    let left = this.#and();
    while (this.#peekWord('or')) {
      this.#at++;
      left = { kind: 'or', left, right: this.#and() };
    }
    return left;
  }

  #and(): Condition {
    let left = this.#unary();
    while (this.#peekWord('and')) {
      this.#at++;
      left = { kind: 'and', left, right: this.#unary() };
    }
    return left;
  }

  #unary(): Condition {
    if (this.#peekWord('not')) {
      this.#at++;
      return { kind: 'not', operand: this.#unary() };
    }
    if (this.#take('punct', '(')) {
      const inner = this.#or();
      this.#expect('punct', ')');
      return inner;
    }
    const field = this.#word();
    if (this.#peekWord('not')) {
      this.#at++;
      if (this.#word().toLowerCase() !== 'like') throw new InsightsSyntaxError('expected "like" after "not"');
      return { kind: 'like', field, pattern: this.#pattern(), negate: true };
    }
    if (this.#peekWord('like')) {
      this.#at++;
      return { kind: 'like', field, pattern: this.#pattern(), negate: false };
    }
    if (this.#take('punct', '=~')) return { kind: 'like', field, pattern: this.#pattern(), negate: false };
    if (this.#take('punct', '=')) return { kind: 'equals', field, value: this.#string(), negate: false };
    if (this.#take('punct', '!=')) return { kind: 'equals', field, value: this.#string(), negate: true };
    throw new InsightsSyntaxError(`unsupported condition on ${field}: expected like, =~, = or !=`);
  }

  #pattern(): RegExp | string {
    const token = this.tokens[this.#at++];
    if (token?.type === 'regex' || token?.type === 'string') return token.value;
    throw new InsightsSyntaxError(`expected a /regex/ or "text", got ${describe(token)}`);
  }

  #string(): string {
    const token = this.tokens[this.#at++];
    if (token?.type !== 'string') throw new InsightsSyntaxError(`expected "text", got ${describe(token)}`);
    return token.value;
  }

  #word(): string {
    const token = this.tokens[this.#at++];
    if (token?.type !== 'word') throw new InsightsSyntaxError(`expected a name, got ${describe(token)}`);
    return token.value;
  }

  #take(type: Token['type'], value: string): boolean {
    if (!this.#peekIs(type, value)) return false;
    this.#at++;
    return true;
  }

  #peekIs(type: Token['type'], value: string): boolean {
    const token = this.tokens[this.#at];
    return token?.type === type && token.value === value;
  }

  #peekWord(word: string): boolean {
    const token = this.tokens[this.#at];
    return token?.type === 'word' && token.value.toLowerCase() === word;
  }

  #expect(type: Token['type'], value: string): void {
    if (!this.#take(type, value)) {
      throw new InsightsSyntaxError(`expected "${value}", got ${describe(this.tokens[this.#at])}`);
    }
  }
}

function describe(token: Token | undefined): string {
  if (!token) return 'the end of the query';
  if (token.type === 'regex') return String(token.value);
  return JSON.stringify(token.value);
}
