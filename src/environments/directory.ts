import type { Db } from '../store/db.js';
import type { Engine } from '../engine/engine.js';

/**
 * The environments of one Herald (Knock's development, production, …), in promotion order:
 * content is edited in the first, committed, and promoted one step at a time.
 *
 * Each environment has its own data (users, runs, messages, committed content) in its own
 * schema, opened and migrated on first use. The management API reaches an environment's store
 * only through this port, so it never needs to know how environments are laid out.
 */
export interface EnvironmentDirectory {
  /** Slugs in promotion order (development first). */
  readonly slugs: readonly string[];
  /** True when `slug` names an environment of this Herald. */
  has(slug: string): boolean;
  /** The environment's store (its own schema), opened and migrated on first use. Throws for an unknown slug. */
  db(slug: string): Promise<Db>;
  /** The environment's secret and public keys (created with the environment). */
  keys(slug: string): Promise<{ secret: string; public: string }>;
  /** The environment's engine (test runs from the management API run there); absent where the directory has no engines. */
  engine?(slug: string): Engine;
  /** The environment content is promoted to from `slug`, or undefined for the last one. */
  next(slug: string): string | undefined;
}

/**
 * Every slug answered by one store: the layout before environments had their own data. Kept
 * for tools that open one schema directly (the CLI's store commands, some tests).
 */
export function singleStoreDirectory(db: Db, slugs: readonly string[], keys: { secret: string; public: string }): EnvironmentDirectory {
  const known = (slug: string) => slugs.includes(slug);
  return {
    slugs,
    has: known,
    async db(slug) {
      if (!known(slug)) throw new Error(`unknown environment "${slug}"`);
      return db;
    },
    async keys(slug) {
      if (!known(slug)) throw new Error(`unknown environment "${slug}"`);
      return keys;
    },
    next(slug) {
      const i = slugs.indexOf(slug);
      return i >= 0 && i + 1 < slugs.length ? slugs[i + 1] : undefined;
    },
  };
}
