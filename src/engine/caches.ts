import type { WorkflowDefinition } from '../domain/workflow.js';
import type { ChannelInfo, EmailLayout, EngineStore } from './ports.js';

/** Per-engine read caches; never module-level, so separate Heralds (and databases) stay apart. */
export interface EngineCaches {
  /** Workflow versions by sha: immutable, so never stale. */
  definitions: Map<string, WorkflowDefinition>;
  /** Channels by key, refreshed after a few seconds (readFresh). */
  channels: Map<string, FreshEntry<ChannelInfo | null>>;
  /** Email layouts by key, refreshed after a few seconds (readFresh). */
  layouts: Map<string, FreshEntry<EmailLayout | null>>;
  /**
   * Active workflows' current sha by key. Only a hint: the trigger's write re-checks it in the
   * same statement, and a stale hint falls back to reading the workflow.
   */
  activeHeads: Map<string, string>;
}

/** A cached read and when it started. */
export interface FreshEntry<T> {
  at: number;
  value: Promise<T>;
}

/** How long a channel or layout read is reused: they change rarely, and a change shows within this. */
export const FRESH_MS = 10_000;

/**
 * `load(key)` through `cache`, reused for FRESH_MS. The read in flight is what is cached, so the
 * runs of a whole batch or fan-out page (planned concurrently) that find the entry missing or
 * expired share one query instead of each sending its own (2,000 identical queries per page
 * every ten seconds before). A failed read is forgotten, so the next caller tries again.
 */
export function readFresh<T>(cache: Map<string, FreshEntry<T>>, key: string, load: (key: string) => Promise<T>): Promise<T> {
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && now - hit.at < FRESH_MS) return hit.value;
  const entry: FreshEntry<T> = { at: now, value: load(key) };
  cache.set(key, entry);
  entry.value.catch(() => { if (cache.get(key) === entry) cache.delete(key); });
  return entry.value;
}

export function createEngineCaches(): EngineCaches {
  return { definitions: new Map(), channels: new Map(), layouts: new Map(), activeHeads: new Map() };
}

/** The definition of a workflow version; versions are immutable (content-addressed) so this never goes stale. */
export async function cachedDefinition(store: EngineStore, caches: EngineCaches, sha: string): Promise<WorkflowDefinition | null> {
  const cached = caches.definitions.get(sha);
  if (cached) return cached;
  const def = await store.workflowVersion(sha);
  if (def) caches.definitions.set(sha, def);
  return def;
}
