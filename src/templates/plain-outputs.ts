/**
 * Templates whose only Liquid is plain variable outputs (`Hi {{ recipient.name }}`, no tags, no
 * filters) are filled in here, in the caller's thread, instead of making a round trip to a render
 * process (render-pool.ts). Sending a run's scope there and the text back was most of what
 * rendering cost a fan-out's main thread (issue 12), and most feed, push and SMS templates are
 * this simple.
 *
 * Safe without the render process's bounds: the work is one pass over the template and the
 * values it names (own properties of plain objects only, as the Liquid environment's
 * `ownPropertyOnly`), and an output over RENDER_OUTPUT_MAX_CHARS is left to the render process,
 * which reports it. Anything this cannot fill in exactly as liquidjs would (a tag, a filter,
 * `size`/`first`/`last`, an index, whitespace control, a value that is not a string, finite
 * number, boolean or nothing, or a lookup through anything but a plain object) returns null and
 * renders in a render process as before. test/unit/plain-outputs.test.ts checks the equivalence
 * against the Liquid environment on generated templates and scopes.
 */
import { RENDER_OUTPUT_MAX_CHARS } from './render-limits.js';

/** A template split into literal text and variable paths: text, path, text, path, ..., text. */
type Parsed = { texts: string[]; paths: string[][] };

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names liquidjs gives a meaning of its own (array and string size, first, last). */
const SPECIAL = new Set(['size', 'first', 'last']);

/** Parsed templates by source; bounded by count (sources are capped in size elsewhere). */
const parsed = new Map<string, Parsed | null>();
const PARSED_MAX = 1_000;

function parse(source: string): Parsed | null {
  if (source.includes('{%')) return null;
  const texts: string[] = [];
  const paths: string[][] = [];
  let at = 0;
  for (;;) {
    const open = source.indexOf('{{', at);
    if (open === -1) break;
    const close = source.indexOf('}}', open + 2);
    if (close === -1) return null;
    const inner = source.slice(open + 2, close);
    // Whitespace control (`{{-`, `-}}`) and anything but a dotted name go to Liquid.
    if (inner.startsWith('-') || inner.endsWith('-')) return null;
    const path = inner.trim().split('.');
    if (!path.every((s) => SEGMENT.test(s) && !SPECIAL.has(s))) return null;
    texts.push(source.slice(at, open));
    paths.push(path);
    at = close + 2;
  }
  texts.push(source.slice(at));
  return { texts, paths };
}

function parsedOf(source: string): Parsed | null {
  let hit = parsed.get(source);
  if (hit === undefined) {
    hit = parse(source);
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(source, hit);
  }
  return hit;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** Sentinel: the value cannot be written here exactly as liquidjs would write it. */
const UNSURE = Symbol('unsure');

function lookup(scope: object, path: string[]): string | typeof UNSURE {
  let node: unknown = scope;
  for (const name of path) {
    if (node === undefined || node === null) return '';
    if (!isPlainObject(node)) return UNSURE;
    node = Object.hasOwn(node, name) ? node[name] : undefined;
  }
  if (node === undefined || node === null) return '';
  if (typeof node === 'string') return node;
  if (typeof node === 'boolean') return String(node);
  // NaN and the infinities become null on their way to a render process (JSON).
  if (typeof node === 'number') return Number.isFinite(node) ? String(node) : UNSURE;
  return UNSURE;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/**
 * `source` rendered against `scope` when it is plain outputs only; null when it needs Liquid
 * (a render process). `escapeOutput` HTML-escapes each output as liquidjs' `outputEscape`.
 */
export function renderPlainOutputs(source: string, scope: object, escapeOutput: boolean): string | null {
  const template = parsedOf(source);
  if (template === null) return null;
  let out = template.texts[0];
  for (let i = 0; i < template.paths.length; i++) {
    const value = lookup(scope, template.paths[i]);
    if (value === UNSURE) return null;
    out += (escapeOutput ? escapeHtml(value) : value) + template.texts[i + 1];
    if (out.length > RENDER_OUTPUT_MAX_CHARS) return null;
  }
  return out;
}
