/**
 * The Liquid environment every Herald template renders in.
 *
 * Templates are user-authored, so the engine is locked down: an empty in-memory template
 * map means `{% include %}` / `{% render %}` can never read the file system, own-property
 * lookups keep templates out of prototypes, and render time is capped. Undefined variables
 * and unknown filters render as empty, as in Knock. Dates render in UTC.
 */
import { Liquid, type Template } from 'liquidjs';

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

/** A template failed to parse or render; `field` names the template field when known. */
export class TemplateRenderError extends Error {
  constructor(message: string, readonly field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemplateRenderError';
  }
}

function createLiquid(escapeOutput: boolean): Liquid {
  const engine = new Liquid({
    templates: {},
    strictFilters: false,
    strictVariables: false,
    ownPropertyOnly: true,
    timezoneOffset: 0,
    renderLimit: 2_000,
    // In HTML-bearing fields (markdown bodies) every `{{ output }}` is HTML-escaped, so data
    // cannot inject markup; HTML the template author wrote still passes through.
    ...(escapeOutput ? { outputEscape: 'escape' as const } : {}),
  });
  /**
   * `{{ data | json }}`: the value as compact JSON (Knock's filter, used e.g. to pass data to
   * trigger-workflow steps). Undefined becomes `null` so the output is always valid JSON.
   */
  engine.registerFilter('json', (value: unknown) => JSON.stringify(value ?? null));
  return engine;
}

/** The plain environment (text fields, URLs, JSON) and the HTML-escaping one (markdown bodies). */
export const liquid = createLiquid(false);
const escapingLiquid = createLiquid(true);

const MAX_CACHED = 1_000;
const parsedBy = new Map<Liquid, Map<string, Template[]>>([[liquid, new Map()], [escapingLiquid, new Map()]]);

/** Parsing dominates small renders; workflows reuse the same few template strings. */
function parse(engine: Liquid, source: string): Template[] {
  const parsed = parsedBy.get(engine)!;
  const hit = parsed.get(source);
  if (hit) return hit;
  const templates = engine.parse(source);
  if (parsed.size >= MAX_CACHED) parsed.delete(parsed.keys().next().value as string);
  parsed.set(source, templates);
  return templates;
}

/**
 * Renders `source` with `scope`; any parse or render failure becomes a TemplateRenderError.
 * `escapeOutput` HTML-escapes every `{{ output }}` (for fields that become HTML).
 */
export async function renderString(source: string, scope: LiquidScope, field?: string, opts: { escapeOutput?: boolean } = {}): Promise<string> {
  const engine = opts.escapeOutput ? escapingLiquid : liquid;
  try {
    return String(await engine.render(parse(engine, source), scope));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TemplateRenderError(field ? `Could not render ${field}: ${reason}` : `Could not render template: ${reason}`, field, { cause: err });
  }
}
