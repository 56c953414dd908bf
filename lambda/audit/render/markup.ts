import { escapeHtml } from './escape.js';

/**
 * The HTML report's one way to build markup: every interpolated value is escaped text unless it is already Html
 * (built by `html` or `raw` in the renderer's own files), so data from a run can never become markup.
 */

/** A fragment of HTML (or inline SVG) that is safe to insert as is (built by `html` or `raw`). */
export class Html {
  constructor(readonly value: string) {}
}

export type Interpolation = Html | string | number | boolean | null | undefined | ReadonlyArray<Interpolation>;

function interpolate(value: Interpolation): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** Template tag: literal parts are markup, interpolated values are escaped unless they are Html. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += interpolate(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/** Markup written in the renderer's own files (never data). */
export function raw(markup: string): Html {
  return new Html(markup);
}
