/**
 * Rendering Liquid for the engine. Every render runs in the render worker pool (render-pool.ts)
 * with the locked-down environment of liquid-environment.ts, so a template can neither block the
 * event loop nor take the process down; the bounds are in render-limits.ts. Templates made only
 * of plain `{{ variable }}` outputs are filled in without Liquid (plain-outputs.ts).
 */
import type { RenderJob, RenderLimit, RenderResult } from './liquid-environment.js';
import { RenderAborted, RenderPool } from './render-pool.js';
import { PARTIAL_MAX_DEPTH, PARTIAL_MAX_RENDERS, RENDER_MEMORY_LIMIT, RENDER_OUTPUT_MAX_CHARS, RENDER_TIME_LIMIT_MS, RENDER_WORKERS, TEMPLATE_SOURCE_MAX_CHARS } from './render-limits.js';
import { contentForRender, type TemplateContent } from './content.js';
import type { ContentForRender } from './render-pool.js';
import { renderPlainOutputs } from './plain-outputs.js';

/**
 * What templates can see (Knock's template variables). No index signature on purpose, so an
 * engine's own scope interface is assignable; extra fields are still visible to templates.
 */
export interface LiquidScope {
  data?: unknown;
  recipient?: unknown;
  actor?: unknown;
  tenant?: unknown;
  vars?: unknown;
  workflow?: unknown;
  /** Set after a batch step. */
  total_activities?: number;
  total_actors?: number;
  activities?: unknown[];
  actors?: unknown[];
}

/**
 * A template failed to parse or render; `field` names the template field when known. `limit`
 * is set when it hit one of the render bounds: such a template fails the same way every time,
 * so the step halts the run at once instead of retrying.
 */
export class TemplateRenderError extends Error {
  constructor(message: string, readonly field?: string, options?: { cause?: unknown; limit?: RenderLimit }) {
    super(message, options);
    this.name = 'TemplateRenderError';
    this.limit = options?.limit ?? null;
  }

  readonly limit: RenderLimit | null;
}

export interface FieldTemplate {
  source: string;
  /** HTML-escape every `{{ output }}` (fields that become HTML). */
  escapeOutput?: boolean;
}

let pool: RenderPool | null = null;

/** Stops the render workers (they are started again on the next render). */
export async function closeRenderPool(): Promise<void> {
  const current = pool;
  pool = null;
  await current?.close();
}

/** Starts the render processes before the first render needs them (see RenderPool.warm). */
export function warmRenderPool(): void {
  pool ??= new RenderPool(RENDER_WORKERS);
  pool.warm();
}

/** What a bound means, in words for run events. */
function limitReason(limit: RenderLimit, detail: string): string {
  switch (limit) {
    case 'time': return `the template took longer than ${RENDER_TIME_LIMIT_MS} ms`;
    case 'memory': return `the template allocated more than its memory limit (${RENDER_MEMORY_LIMIT.toLocaleString('en')} characters or items)`;
    case 'output': return `the template's output is longer than ${RENDER_OUTPUT_MAX_CHARS.toLocaleString('en')} characters`;
    case 'source': return `the template is longer than ${TEMPLATE_SOURCE_MAX_CHARS.toLocaleString('en')} characters`;
    case 'partials': return `${detail.replace(/, line:\d+, col:\d+$/, '')} (limits: ${PARTIAL_MAX_DEPTH} levels, ${PARTIAL_MAX_RENDERS.toLocaleString('en')} partial renders)`;
    default: return detail;
  }
}

const hasLiquid = (source: string) => source.includes('{{') || source.includes('{%');

/** The recipient's `locale` property (Knock picks translations by it). */
function recipientLocale(scope: LiquidScope): unknown {
  const recipient = scope.recipient;
  return recipient && typeof recipient === 'object' ? (recipient as { locale?: unknown }).locale : undefined;
}

/**
 * Renders several fields of one template against one scope in a single round trip to a render
 * worker. Text without Liquid markup is returned as it is, without a round trip. `content` is
 * the environment's partials and translations (what the fields use of it travels with them;
 * translations in the recipient's `locale`). Throws a TemplateRenderError naming the first field
 * that failed.
 */
export async function renderFields<K extends string>(fields: Record<K, FieldTemplate>, scope: LiquidScope, content?: TemplateContent | null): Promise<Record<K, string>> {
  const out = {} as Record<K, string>;
  const names: K[] = [];
  const jobs: RenderJob[] = [];
  for (const name of Object.keys(fields) as K[]) {
    const { source, escapeOutput } = fields[name];
    if (!hasLiquid(source)) {
      out[name] = source;
      continue;
    }
    // Plain `{{ variable }}` outputs are filled in here, without a round trip (plain-outputs.ts).
    const plain = renderPlainOutputs(source, scope, !!escapeOutput);
    if (plain !== null) out[name] = plain;
    else {
      names.push(name);
      jobs.push({ source, escapeOutput });
    }
  }
  if (jobs.length === 0) return out;
  let needs: ContentForRender | null;
  try {
    needs = contentForRender(content, jobs.map((j) => j.source), recipientLocale(scope));
  } catch (err) {
    const field = names.length === 1 ? names[0] : undefined;
    throw new TemplateRenderError(`Could not render ${field ?? 'template'}: ${(err as Error).message}`, field, { limit: 'partials' });
  }
  let results: RenderResult[];
  try {
    pool ??= new RenderPool(RENDER_WORKERS);
    results = await pool.render(jobs, scope, needs);
  } catch (err) {
    // A render process that stopped for another reason (it could not start, something killed
    // it) is not the template's fault: that failure is retried like any other.
    const limit = err instanceof RenderAborted && err.limit !== 'crash' ? err.limit : undefined;
    const field = names.length === 1 ? names[0] : undefined;
    throw new TemplateRenderError(field ? `Could not render ${field}: ${(err as Error).message}` : `Could not render template: ${(err as Error).message}`, field, { cause: err, limit });
  }
  results.forEach((r, i) => {
    const field = names[i];
    if (!r.ok) {
      const reason = r.limit ? limitReason(r.limit, r.message) : r.message;
      throw new TemplateRenderError(`Could not render ${field}: ${reason}`, field, { limit: r.limit ?? undefined });
    }
    out[field] = r.text;
  });
  return out;
}

/**
 * Renders `source` with `scope`; any parse or render failure becomes a TemplateRenderError.
 * `escapeOutput` HTML-escapes every `{{ output }}` (for fields that become HTML).
 */
export async function renderString(source: string, scope: LiquidScope, field?: string, opts: { escapeOutput?: boolean; content?: TemplateContent | null } = {}): Promise<string> {
  if (!hasLiquid(source)) return source;
  try {
    const { text } = await renderFields({ text: { source, escapeOutput: opts.escapeOutput } }, scope, opts.content);
    return text;
  } catch (err) {
    if (!(err instanceof TemplateRenderError)) throw err;
    const reason = err.message.replace(/^Could not render text: /, '');
    throw new TemplateRenderError(field ? `Could not render ${field}: ${reason}` : `Could not render template: ${reason}`, field, { cause: err.cause, limit: err.limit ?? undefined });
  }
}
