/**
 * The Liquid environment every Herald template renders in. It runs inside the render workers
 * (render-worker.ts); nothing else should render Liquid directly.
 *
 * Templates are user-authored, so the engine is locked down: `{% render %}` / `{% include %}`
 * read only the partials sent with the render (never the file system), nested at most
 * PARTIAL_MAX_DEPTH deep; `t` reads only the translations sent with it; own-property
 * lookups keep templates out of prototypes, and time, allocation and source size are capped
 * (render-limits.ts). Undefined variables and unknown filters render as empty, as in Knock.
 * Dates render in UTC.
 */
import { Liquid, type Context, type Emitter, type Template } from 'liquidjs';
import { PARTIAL_MAX_DEPTH, PARTIAL_MAX_RENDERS, RENDER_MEMORY_LIMIT, RENDER_OUTPUT_MAX_CHARS, RENDER_TIME_LIMIT_MS, TEMPLATE_SOURCE_MAX_CHARS } from './render-limits.js';
import { translate, type Translator } from './translate.js';

/**
 * The partials and translations one render may use (render-pool.ts ships them): partial key →
 * sha of its content, and the translation files of the recipient's locale chain (first match
 * wins), each by sha. The texts themselves travel once per render process and are kept there
 * by sha (ContentBlobs).
 */
export interface RenderContent {
  partials: Record<string, string>;
  translations: { locale: string; namespace: string; sha: string }[];
}

/**
 * Partial sources and translation files by sha, as the render process holds them: filled from
 * the blobs each request carries (render-worker.ts), never evicted behind the pool's back.
 */
export const contentBlobs = new Map<string, string>();
/** Translation files parsed once per sha. */
const parsedTranslations = new Map<string, Record<string, unknown>>();

/** What the render in progress may use (renders are synchronous: one at a time per process). */
let current: { content: RenderContent | null; depth: number; renders: number } = { content: null, depth: 0, renders: 0 };

function partialSha(key: string): string {
  const sha = current.content?.partials[key];
  if (sha === undefined || !contentBlobs.has(sha)) throw new Error(`the partial "${key}" does not exist`);
  return sha;
}

/**
 * Partials come from the render's content and nowhere else: this file system has no files,
 * only the partials of the render in progress, named by key.
 */
const partialFs = {
  exists: async () => true,
  // Every name "exists", so an unknown one fails in readFileSync with the partial's name.
  existsSync: () => true,
  readFile: async (key: string) => partialFs.readFileSync(key),
  readFileSync: (key: string) => contentBlobs.get(partialSha(key))!,
  resolve: (_dir: string, key: string) => key,
  contains: async () => true,
  containsSync: () => true,
  sep: '/',
  dirname: () => '',
};

/**
 * liquidjs caches parsed partials by name (`partials:<key>`); a key's content changes, its sha
 * does not, so parsed partials are kept by sha. Reading the cache is also where every partial
 * render passes, so the number of partial renders per render is counted here.
 */
const partialCaches: Map<string, Template[]>[] = [];

function partialCache(): { read(k: string): Template[] | undefined; write(k: string, v: Template[] | Promise<Template[]>): void; remove(k: string): void } {
  const bySha = new Map<string, Template[]>();
  partialCaches.push(bySha);
  const keyOf = (cacheKey: string) => cacheKey.slice(cacheKey.indexOf(':') + 1);
  return {
    read(cacheKey) {
      if (++current.renders > PARTIAL_MAX_RENDERS) throw new Error(`partials were rendered more than ${PARTIAL_MAX_RENDERS} times in one template`);
      const sha = current.content?.partials[keyOf(cacheKey)];
      return sha === undefined ? undefined : bySha.get(sha);
    },
    write(cacheKey, value) {
      const sha = current.content?.partials[keyOf(cacheKey)];
      if (sha === undefined || !Array.isArray(value)) return;
      if (bySha.size >= 10_000) bySha.clear();
      bySha.set(sha, value);
    },
    remove(cacheKey) {
      const sha = current.content?.partials[keyOf(cacheKey)];
      if (sha !== undefined) bySha.delete(sha);
    },
  };
}

/** Forgets every partial and translation text (the pool asks for it when its record of what this process holds is full). */
export function resetContentBlobs(): void {
  contentBlobs.clear();
  parsedTranslations.clear();
  for (const cache of partialCaches) cache.clear();
}

/**
 * `render` / `include` (and `layout`) wrapped so nesting is bounded: a partial that renders
 * itself fails with a clear error instead of running out of stack.
 */
function bounded(engine: Liquid, name: string): void {
  const Base = engine.tags[name] as unknown as new (...args: any[]) => { render(ctx: Context, emitter: Emitter): Generator<unknown, void, unknown> };
  if (!Base) return;
  class Bounded extends Base {
    override *render(ctx: Context, emitter: Emitter): Generator<unknown, void, unknown> {
      if (current.depth >= PARTIAL_MAX_DEPTH) throw new Error(`partials are nested more than ${PARTIAL_MAX_DEPTH} deep (does a partial render itself?)`);
      current.depth++;
      try {
        yield* super.render(ctx, emitter);
      } finally {
        current.depth--;
      }
    }
  }
  engine.registerTag(name, Bounded as unknown as Parameters<Liquid['registerTag']>[1]);
}

/** The translator of the render in progress: the recipient's locale chain, first match wins. */
const translator: Translator = {
  lookup(namespace, path) {
    for (const file of current.content?.translations ?? []) {
      if (file.namespace !== namespace) continue;
      let parsed = parsedTranslations.get(file.sha);
      if (!parsed) {
        const text = contentBlobs.get(file.sha);
        if (text === undefined) continue;
        try { parsed = JSON.parse(text) as Record<string, unknown>; } catch { parsed = {}; }
        parsedTranslations.set(file.sha, parsed);
      }
      let node: unknown = parsed;
      for (const part of path) {
        node = node && typeof node === 'object' && Object.prototype.hasOwnProperty.call(node, part) ? (node as Record<string, unknown>)[part] : undefined;
      }
      if (node !== undefined && node !== null) return node;
    }
    return undefined;
  },
};

/** One field to render: its source, and whether `{{ output }}` is HTML-escaped (fields that become HTML). */
export interface RenderJob {
  source: string;
  escapeOutput?: boolean;
}

/** Which bound a failed render hit; null = an ordinary template error (syntax, bad filter argument). */
export type RenderLimit = 'time' | 'memory' | 'output' | 'source' | 'partials';

export type RenderResult = { ok: true; text: string } | { ok: false; message: string; limit: RenderLimit | null };

function createLiquid(escapeOutput: boolean): Liquid {
  const engine = new Liquid({
    // No file system: partials are the render's own (partialFs), parsed once per sha.
    fs: partialFs,
    relativeReference: false,
    cache: partialCache(),
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
  /**
   * `{{ "key" | t }}`, `{{ "namespace:key" | t: name: value, count: n }}`: Knock's translation
   * filter, from the recipient's locale chain (translate.ts).
   */
  engine.registerFilter('t', function (this: { context: { memoryLimit: { use(n: number): void } } }, key: unknown, ...args: unknown[]) {
    const text = translate(translator, key, args);
    this.context.memoryLimit.use(text.length);
    return text;
  });
  bounded(engine, 'render');
  bounded(engine, 'include');
  bounded(engine, 'layout');
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
  if (message.includes('partials are nested more than') || message.includes('partials were rendered more than')) return 'partials';
  return null;
}

/**
 * Renders every job against one scope, in this thread, sharing one time budget (the renders
 * of one template's fields are one unit of work). A failure of one field does not stop the
 * others.
 */
export function renderJobs(jobs: RenderJob[], scope: object, content: RenderContent | null = null): RenderResult[] {
  const deadline = performance.now() + RENDER_TIME_LIMIT_MS;
  return jobs.map((job): RenderResult => {
    const engine = job.escapeOutput ? escaping : plain;
    current = { content, depth: 0, renders: 0 };
    try {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return { ok: false, message: 'template render limit exceeded', limit: 'time' };
      // The scope is also the globals, so partials (`render` isolates its scope) see the same
      // variables as the template: recipient, data, actor, tenant, vars ...
      const text = String(engine.renderSync(parse(engine, job.source), scope, { renderLimit: remaining, globals: scope }));
      if (text.length > RENDER_OUTPUT_MAX_CHARS) return { ok: false, message: `the output is longer than ${RENDER_OUTPUT_MAX_CHARS} characters`, limit: 'output' };
      return { ok: true, text };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, message, limit: limitOf(message) };
    }
  });
}
