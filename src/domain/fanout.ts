/**
 * A fan-out page as the engine sees it: a pending fan-out of an object recipient to its
 * subscribers, leased to one process, and the runs that page creates. Plain types; the store
 * maps them to rows (store/fanouts.ts).
 */
import type { RunOutcome, RunState, TriggerSource } from './run.js';

/** A reserved page of a fan-out, leased to one process, with the trigger it expands. */
export interface FanoutPage {
  /** null: nothing was reserved (the fan-out had nobody left); there is nothing to commit. */
  pageId: string | null;
  fanoutId: string;
  depth: number;
  trigger: {
    id: string; workflow_key: string; workflow_sha: string; actor: { collection: string; id: string } | null;
    tenant_id: string | null; cancellation_key: string | null; data: Record<string, unknown>;
    settings: RunState['settings'] | null; source: TriggerSource | null;
  };
  object: { collection: string; id: string };
  /** Subscribers in walk order; `cancelled` = a cancel named them while the fan-out expanded. */
  subscribers: { collection: string; id: string; properties: Record<string, unknown> | null; cancelled: boolean }[];
}

/** One run of a page as it is created: queued at its first step, cancelled, or where its first advance left it. */
export interface NewFanoutRun {
  id: string;
  collection: string;
  recipientId: string;
  status: RunOutcome['status'];
  position: number;
  state: RunState;
  wakeAt: Date | null;
  data?: Record<string, unknown>;
  errorCount?: number;
}

