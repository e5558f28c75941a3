/**
 * The Liquid environment every Herald template renders in. It runs inside the render workers
 * (render-worker.ts); nothing else should render Liquid directly.
 *
 * Templates are user-authored, so the engine is locked down: an empty in-memory template
 * map means `{% include %}` / `{% render %}` can never read the file system, own-property
 * lookups keep templates out of prototypes, and time, allocation and source size are capped
 * (render-limits.ts). Undefined variables and unknown filters render as empty, as in Knock.
 * Dates render in UTC.
 */
import { Liquid, type Template } from 'liquidjs';
import { RENDER_MEMORY_LIMIT, RENDER_OUTPUT_MAX_CHARS, RENDER_TIME_LIMIT_MS, TEMPLATE_SOURCE_MAX_CHARS } from './render-limits.js';

/** One field to render: its source, and whether `{{ output }}` is HTML-escaped (fields that become HTML). */
export interface RenderJob {
  source: string;
  escapeOutput?: boolean;
}

/** Which bound a failed render hit; null = an ordinary template error (syntax, bad filter argument). */
export type RenderLimit = 'time' | 'memory' | 'output' | 'source';

export type RenderResult = { ok: true; text: string } | { ok: false; message: string; limit: RenderLimit | null };

function createLiquid(escapeOutput: boolean): Liquid {
  const engine = new Liquid({
    templates: {},
    strictFilters: false,
    strictVariables: false,
    ownPropertyOnly: true,
    timezoneOffset: 0,
    renderLimit: RENDER_TIME_LIMIT_MS,
    memoryLimit: RENDER_MEMORY_LIMIT,
    parseLimit: TEMPLATE_SOURCE_MAX_CHARS,
    // In HTML-bearing fields (markdown bodies) every `{{ output }}` is HTML-escaped, so data
    // cannot inject markup; HTML the template author wrote still passes through.
    ...(escapeOutput ? { outputEscape: 'escape' as const } : {}),
  });
  /**
   * `{{ data | json }}`: the value as compact JSON (Knock's filter, used e.g. to pass data to
   * trigger-workflow steps). Undefined becomes `null` so the output is always valid JSON.
   * Charged to the memory limit like liquidjs' own filters.
   */
  engine.registerFilter('json', function (this: { context: { memoryLimit: { use(n: number): void } } }, value: unknown) {
    const text = JSON.stringify(value ?? null);
    this.context.memoryLimit.use(text.length);
    return text;
  });
  return engine;
}

const plain = createLiquid(false);
const escaping = createLiquid(true);

/** Parsed templates kept per environment, bounded by their total source size (the worker's heap is small). */
const CACHE_MAX_CHARS = 8_000_000;
const parsedBy = new Map<Liquid, { chars: number; entries: Map<string, Template[]> }>([
  [plain, { chars: 0, entries: new Map() }],
  [escaping, { chars: 0, entries: new Map() }],
]);

/** Parsing dominates small renders; workflows reuse the same few template strings. */
function parse(engine: Liquid, source: string): Template[] {
  const cache = parsedBy.get(engine)!;
  const hit = cache.entries.get(source);
  if (hit) return hit;
  const templates = engine.parse(source);
  cache.entries.set(source, templates);
  cache.chars += source.length;
  for (const [key] of cache.entries) {
    if (cache.chars <= CACHE_MAX_CHARS) break;
    cache.entries.delete(key);
    cache.chars -= key.length;
  }
  return templates;
}

/** liquidjs' limit messages, mapped to the bound they stand for. */
function limitOf(message: string): RenderLimit | null {
  if (message.includes('template render limit exceeded')) return 'time';
  if (message.includes('memory alloc limit exceeded') || message.includes('Invalid string length') || message.includes('Invalid array length')) return 'memory';
  if (message.includes('parse length limit exceeded')) return 'source';
  return null;
}

/**
 * Renders every job against one scope, in this thread, sharing one time budget (the renders
 * of one template's fields are one unit of work). A failure of one field does not stop the
 * others.
 */
export function renderJobs(jobs: RenderJob[], scope: object): RenderResult[] {
  const deadline = performance.now() + RENDER_TIME_LIMIT_MS;
  return jobs.map((job): RenderResult => {
    const engine = job.escapeOutput ? escaping : plain;
    try {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return { ok: false, message: 'template render limit exceeded', limit: 'time' };
      const text = String(engine.renderSync(parse(engine, job.source), scope, { renderLimit: remaining }));
      if (text.length > RENDER_OUTPUT_MAX_CHARS) return { ok: false, message: `the output is longer than ${RENDER_OUTPUT_MAX_CHARS} characters`, limit: 'output' };
      return { ok: true, text };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, message, limit: limitOf(message) };
    }
  });
}
