import { type Document, isMap, isScalar, LineCounter, parseDocument, YAMLMap } from 'yaml';
import type { Addon } from './model.js';

/**
 * An EKS add-on's `configurationValues`: read, and changed without losing what the user already set.
 *
 * EKS takes the values as JSON or as YAML: the "Create an Amazon EKS add-on" guide shows the same values "in JSON
 * format" and "in YAML format" and passes `--configuration-values 'file://example.yaml'`
 * (https://docs.aws.amazon.com/eks/latest/userguide/creating-an-add-on.html, awsdocs/amazon-eks-user-guide
 * latest/ug/workloads/creating-an-add-on.adoc). `update-addon --configuration-values` sets the values as a whole,
 * so a change has to be merged into the current text, never sent alone.
 *
 * YAML is read with the `yaml` package (YAML 1.2, core schema, of which JSON is a subset); JSON is tried first so
 * that JSON values keep JSON's own rules (duplicate keys: the last wins) and stay JSON when merged.
 */

export type ConfigurationValues = Record<string, unknown>;
export type ConfigurationFormat = 'json' | 'yaml';

/** What an add-on's `configurationValues` say. */
export interface ReadConfiguration {
  /** the values; `{}` when unset; null when they could not be read */
  values: ConfigurationValues | null;
  /** how they are written; null when unset or unreadable */
  format: ConfigurationFormat | null;
  /** why they could not be read, one line; null when they could */
  problem: string | null;
}

/** Reads `configurationValues` as DescribeAddon returns them (a string, absent when unset). */
export function readConfigurationValues(text: string | null | undefined): ReadConfiguration {
  if (text === null || text === undefined || text.trim() === '') return { values: {}, format: null, problem: null };
  const json = parseJson(text);
  if (json.ok) {
    return isPlainObject(json.value)
      ? { values: json.value, format: 'json', problem: null }
      : { values: null, format: null, problem: `a JSON ${kindOf(json.value)}, not an object of settings` };
  }
  const yaml = parseYaml(text);
  if (!yaml.ok) return { values: null, format: null, problem: yaml.problem };
  const values: unknown = yaml.document.toJS();
  if (!isPlainObject(values)) {
    return { values: null, format: null, problem: `a YAML ${kindOf(values)}, not a mapping of settings` };
  }
  return { values, format: 'yaml', problem: null };
}

/** The add-on's values with a change merged in, as the text to give `--configuration-values`. */
export type MergedConfiguration =
  | {
      kind: 'merged';
      /** the merged values */
      values: ConfigurationValues;
      /** the merged values written as the current ones are (JSON when there were none) */
      text: string;
      format: ConfigurationFormat;
    }
  | {
      kind: 'unmergeable';
      /** the change alone */
      values: ConfigurationValues;
      /** why the current values could not be merged into, one line */
      problem: string;
    };

/**
 * Merges `change` into the current `configurationValues` (null or empty: none): objects key by key, anything else
 * replaced. JSON stays JSON; YAML stays YAML with the user's comments, order and quoting kept (the `yaml` Document
 * API edits the parsed tree in place). Values that do not parse cannot be merged into, and the result says so.
 */
export function mergeConfigurationValues(current: string | null, change: ConfigurationValues): MergedConfiguration {
  const read = readConfigurationValues(current);
  if (read.values === null) return { kind: 'unmergeable', values: change, problem: read.problem ?? 'unreadable' };
  if (read.format !== 'yaml' || current === null) {
    const values = mergeValues(read.values, change);
    return { kind: 'merged', values, text: JSON.stringify(values), format: 'json' };
  }
  const parsed = parseYaml(current);
  if (!parsed.ok) return { kind: 'unmergeable', values: change, problem: parsed.problem };
  const { document } = parsed;
  mergeIntoMap(document, document.contents as YAMLMap, change);
  // New strings are written double-quoted: always valid YAML, and a string never turns into a number or boolean.
  const text = document.toString({ defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }).replace(/\n$/, '');
  const values = mergeValues(read.values, change);
  const check = readConfigurationValues(text);
  if (check.format !== 'yaml' || !sameValues(check.values, values)) {
    return { kind: 'unmergeable', values: change, problem: 'the merged YAML would not say the same as the change' };
  }
  return { kind: 'merged', values, text, format: 'yaml' };
}

/** `current` with `change` applied: objects merged key by key, anything else replaced. */
export function mergeValues(current: ConfigurationValues, change: ConfigurationValues): ConfigurationValues {
  const merged: ConfigurationValues = { ...current };
  for (const [key, value] of Object.entries(change)) {
    const existing = merged[key];
    merged[key] = isPlainObject(existing) && isPlainObject(value) ? mergeValues(existing, value) : value;
  }
  return merged;
}

function mergeIntoMap(document: Document, map: YAMLMap, change: ConfigurationValues): void {
  for (const [key, value] of Object.entries(change)) {
    const existing = map.get(key, true);
    if (isMap(existing) && isPlainObject(value)) {
      mergeIntoMap(document, existing, value);
    } else if (isScalar(existing) && !isPlainObject(value) && !Array.isArray(value)) {
      // keeps the comment that sits on the old value
      existing.value = value;
    } else {
      map.set(key, document.createNode(value));
    }
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function parseYaml(text: string): { ok: true; document: Document } | { ok: false; problem: string } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  const error = document.errors[0];
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    const message = error.message.split('\n')[0] || error.code;
    return { ok: false, problem: `neither JSON nor valid YAML (${message} at line ${line}, column ${col})` };
  }
  if (!(document.contents instanceof YAMLMap)) {
    const value: unknown = document.toJS();
    return { ok: false, problem: `a YAML ${kindOf(value)}, not a mapping of settings` };
  }
  return { ok: true, document };
}

function sameValues(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isPlainObject(value: unknown): value is ConfigurationValues {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'null';
  return typeof value === 'string' ? 'string' : typeof value;
}

/**
 * Merges `change` into an add-on's current values as the audit saw them (`addon` null: the add-on was not seen,
 * so the change stands alone). Evidence without the original text (older payloads, hand-built evidence) merges
 * into the parsed values, written as JSON.
 */
export function mergeIntoAddon(addon: Addon | null, change: ConfigurationValues): MergedConfiguration {
  if (addon === null) return mergeConfigurationValues(null, change);
  if (addon.configurationProblem !== null) {
    return { kind: 'unmergeable', values: change, problem: addon.configurationProblem };
  }
  const text = addon.configurationValues ?? (addon.configuration ? JSON.stringify(addon.configuration) : null);
  return mergeConfigurationValues(text, change);
}
