import { DefinitionError, STATES_ERRORS, StatesError } from './errors.js';

/**
 * JSONPath as the Amazon States Language uses it for InputPath, OutputPath, ResultPath, ItemsPath, Choice
 * variables and the `.$` fields of Parameters / ItemSelector / ResultSelector
 * (https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html): reference paths only —
 * `$`, `$.a.b`, `$['a']`, `$[0]`, and `$$.…` for the context object. Wildcards, filters, slices and intrinsic
 * functions are refused when the definition is loaded (DefinitionError), so a definition that starts using one
 * fails loudly here instead of running differently from AWS.
 */

type Segment = string | number;

export interface ParsedPath {
  /** `$$`: the context object rather than the state's data */
  context: boolean;
  segments: Segment[];
}

const SEGMENT = /^(?:\.([^.[\]]+)|\['([^']*)'\]|\[(\d+)\])/;

/** Parses a reference path; throws DefinitionError for anything else. */
export function parsePath(path: string): ParsedPath {
  const context = path.startsWith('$$');
  if (!path.startsWith('$')) throw new DefinitionError(`path ${JSON.stringify(path)} does not start with $`);
  let rest = path.slice(context ? 2 : 1);
  const segments: Segment[] = [];
  while (rest.length > 0) {
    const match = SEGMENT.exec(rest);
    if (!match) {
      throw new DefinitionError(
        `path ${JSON.stringify(path)} is not a reference path this interpreter models (only $.a.b, $['a'] and $[0])`,
      );
    }
    const [whole, dotted, quoted, index] = match;
    segments.push(index !== undefined ? Number(index) : (dotted ?? quoted ?? ''));
    rest = rest.slice(whole.length);
  }
  return { context, segments };
}

/** The value at `path` in `data` (or in `context` for `$$` paths); throws `error` when there is none. */
export function readPath(
  data: unknown,
  path: string,
  context: unknown,
  error: string = STATES_ERRORS.runtime,
): unknown {
  const parsed = parsePath(path);
  let value: unknown = parsed.context ? context : data;
  for (const segment of parsed.segments) {
    const next = step(value, segment);
    if (next === undefined) {
      throw new StatesError(error, `Invalid path '${path}': No results for path: ${describe(parsed, segment)}`);
    }
    value = next;
  }
  return value;
}

/** Whether `path` selects something in `data` (for the Choice state's IsPresent). */
export function pathExists(data: unknown, path: string, context: unknown): boolean {
  const parsed = parsePath(path);
  let value: unknown = parsed.context ? context : data;
  for (const segment of parsed.segments) {
    value = step(value, segment);
    if (value === undefined) return false;
  }
  return true;
}

/**
 * ResultPath: where a state's result goes in its input. `null` keeps the input and discards the result; `$` (the
 * default) replaces the input; `$.a.b` sets that field, creating objects on the way. A path through something that
 * is not an object is `States.ResultPathMatchFailure`, as in AWS.
 */
export function applyResultPath(input: unknown, result: unknown, resultPath: string | null | undefined): unknown {
  if (resultPath === null) return input;
  const { context, segments } = parsePath(resultPath ?? '$');
  if (context) throw new DefinitionError(`ResultPath ${resultPath} cannot point into the context object`);
  if (segments.length === 0) return result;
  if (!isObject(input)) {
    throw new StatesError(
      STATES_ERRORS.resultPathMatchFailure,
      `Unable to apply ResultPath '${resultPath}' to input ${JSON.stringify(input)}: the input is not an object`,
    );
  }
  const root: Record<string, unknown> = structuredClone(input);
  let target: Record<string, unknown> = root;
  for (const [i, segment] of segments.entries()) {
    if (typeof segment === 'number') {
      throw new DefinitionError(`ResultPath ${resultPath} indexes an array; only field names are modelled`);
    }
    if (i === segments.length - 1) {
      target[segment] = result;
      break;
    }
    const next = target[segment];
    if (next === undefined) target[segment] = {};
    else if (!isObject(next)) {
      throw new StatesError(
        STATES_ERRORS.resultPathMatchFailure,
        `Unable to apply ResultPath '${resultPath}': field '${segment}' is not an object`,
      );
    }
    target = target[segment] as Record<string, unknown>;
  }
  return root;
}

/**
 * A payload template (Parameters, ItemSelector, ResultSelector): a field whose name ends in `.$` takes the value
 * at its path; everything else is copied. A path that selects nothing is `States.ParameterPathFailure`.
 */
export function fillTemplate(template: unknown, data: unknown, context: unknown): unknown {
  if (Array.isArray(template)) return template.map((item) => fillTemplate(item, data, context));
  if (!isObject(template)) return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) {
      out[key.slice(0, -2)] = readPath(data, String(value), context, STATES_ERRORS.parameterPathFailure);
    } else {
      out[key] = fillTemplate(value, data, context);
    }
  }
  return out;
}

/** Checks every `.$` path of a payload template at load time (no intrinsic functions are modelled). */
export function checkTemplate(template: unknown, where: string): void {
  if (Array.isArray(template)) {
    for (const item of template) checkTemplate(item, where);
    return;
  }
  if (!isObject(template)) return;
  for (const [key, value] of Object.entries(template)) {
    if (!key.endsWith('.$')) {
      checkTemplate(value, where);
      continue;
    }
    if (typeof value !== 'string') throw new DefinitionError(`${where}: field ${key} must hold a path`);
    if (value.startsWith('States.')) {
      throw new DefinitionError(
        `${where}: field ${key} uses the intrinsic function ${value.split('(')[0]}, which this interpreter does not model`,
      );
    }
    parsePath(value);
  }
}

function step(value: unknown, segment: Segment): unknown {
  if (typeof segment === 'number') return Array.isArray(value) ? value[segment] : undefined;
  return isObject(value) ? value[segment] : undefined;
}

function describe(parsed: ParsedPath, failing: Segment): string {
  const upTo = parsed.segments.slice(0, parsed.segments.indexOf(failing) + 1);
  return `${parsed.context ? '$$' : '$'}${upTo.map((s) => (typeof s === 'number' ? `[${s}]` : `['${s}']`)).join('')}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
