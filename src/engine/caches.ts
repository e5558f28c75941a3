import type { WorkflowDefinition } from '../domain/workflow.js';
import type { ChannelRow } from '../store/channels.js';

/** Per-engine read caches; never module-level, so separate Heralds (and databases) stay apart. */
export interface EngineCaches {
  /** Workflow versions by sha: immutable, so never stale. */
  definitions: Map<string, WorkflowDefinition>;
  /** Channels by key, refreshed after a few seconds. */
  channels: Map<string, { at: number; row: ChannelRow | null }>;
}

export function createEngineCaches(): EngineCaches {
  return { definitions: new Map(), channels: new Map() };
}
