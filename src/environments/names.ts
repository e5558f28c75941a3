/**
 * Environment slugs and where each one's data lives.
 *
 * The first environment (development, where content is edited) lives in the schema Herald was
 * opened on — so an install from before environments keeps its keys and data there, as its
 * development environment. Every other environment gets a schema of its own next to it:
 * `herald_env_<slug>` beside `public`, or `<schema>_env_<slug>` beside any other schema.
 */

/** Knock's two environments, in promotion order. */
export const DEFAULT_ENVIRONMENTS: readonly string[] = ['development', 'production'];

const SLUG = /^[a-z][a-z0-9_-]{0,29}$/;

/** Parses HERALD_ENVIRONMENTS ("development,staging,production"): slugs in promotion order. */
export function parseEnvironments(text: string): string[] {
  const slugs = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (slugs.length === 0) throw new Error('HERALD_ENVIRONMENTS must name at least one environment');
  for (const slug of slugs) {
    if (!SLUG.test(slug)) throw new Error(`HERALD_ENVIRONMENTS: "${slug}" is not a valid environment slug (a-z, 0-9, "-" and "_", starting with a letter, at most 30)`);
  }
  const seen = new Set<string>();
  for (const slug of slugs) {
    const id = schemaPart(slug);
    if (seen.has(id)) throw new Error(`HERALD_ENVIRONMENTS: "${slug}" is listed twice (or collides with another slug once "-" becomes "_")`);
    seen.add(id);
  }
  return slugs;
}

/** The schema of a non-first environment, beside `base` (the first environment's schema). */
export function environmentSchema(base: string, slug: string): string {
  return base === 'public' ? `herald_env_${schemaPart(slug)}` : `${base}_env_${schemaPart(slug)}`;
}

const schemaPart = (slug: string) => slug.replaceAll('-', '_');
