/**
 * A fan-out page as the engine sees it: a pending fan-out of an object recipient to its
 * subscribers, leased to one process, and the runs that page creates. Plain types; the store
 * maps them to rows (store/fanouts.ts).
 */
import type { RunOutcome, RunState, TriggerSource } from './run.js';

/** A pending fan-out leased to one process, with the trigger it expands and its next page. */
export interface FanoutPage {
  fanoutId: string;
  depth: number;
  /** Where this page starts (null = the beginning): the commit checks it has not moved. */
  cursor: { collection: string; id: string } | null;
  trigger: {
    id: string; workflow_key: string; workflow_sha: string; actor: { collection: string; id: string } | null;
    tenant_id: string | null; cancellation_key: string | null; data: Record<string, unknown>;
    settings: RunState['settings'] | null; source: TriggerSource | null;
  };
  object: { collection: string; id: string };
  /** Subscribers a cancel named while the fan-out expanded (`collection\0id`), as read with the lease. */
  cancelled: ReadonlySet<string>;
  /** Subscribers in walk order; `cancelled` = a cancel named them while the fan-out expanded. */
  subscribers: { collection: string; id: string; properties: Record<string, unknown> | null; cancelled: boolean }[];
  /** Fewer subscribers than the page size: this is the fan-out's last page. */
  last: boolean;
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

