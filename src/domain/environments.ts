/**
 * The environments the management API knows, as Knock names them (`?environment=` on every
 * mgmt content route). For now they are a fixed list and share one set of data: workflows,
 * keys, users and runs are NOT yet separated per environment (issue 13, step 2), so every
 * environment answers with the same workflows. Making the list configurable and giving each
 * environment its own keys and content is the next step.
 */
export const ENVIRONMENTS = ['development', 'production'] as const;

/** Knock edits content in development and promotes it from there. */
export const DEVELOPMENT_ENVIRONMENT = 'development';

export function isKnownEnvironment(known: readonly string[], slug: string): boolean {
  return known.includes(slug);
}
