import type { WorkflowDefinition } from '../domain/workflow.js';
import type { ChannelInfo, EmailLayout, EngineStore } from './ports.js';

/** Per-engine read caches; never module-level, so separate Heralds (and databases) stay apart. */
export interface EngineCaches {
  /** Workflow versions by sha: immutable, so never stale. */
  definitions: Map<string, WorkflowDefinition>;
  /** Channels by key, refreshed after a few seconds. */
  channels: Map<string, { at: number; row: ChannelInfo | null }>;
  /** Email layouts by key, refreshed after a few seconds. */
  layouts: Map<string, { at: number; row: EmailLayout | null }>;
  /**
   * Active workflows' current sha by key. Only a hint: the trigger's write re-checks it in the
   * same statement, and a stale hint falls back to reading the workflow.
   */
  activeHeads: Map<string, string>;
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
