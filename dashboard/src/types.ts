/**
 * What the dashboard reads, as docs/dashboard-api.md and Knock's API describe it. Fields the
 * pages can do without are optional: a page shows what is there rather than failing on a
 * field that is missing.
 */

export interface Session {
  environment: string;
  environments: { slug: string; name: string }[];
  can_switch_environment: boolean;
}

export interface PageInfo {
  after?: string | null;
  before?: string | null;
  page_size?: number;
}

export interface Overview {
  generated_at: string;
  triggers_per_minute: { minute: string; count: number }[];
  runs: { queued: number; processing: number; paused: number; due: number; oldest_due_age_ms: number | null };
  deliveries_last_hour: { channel_type: string; provider: string; status: string; count: number }[];
  circuits: { channel_key: string; provider: string; state: string; opened_at?: string | null }[];
  failures_last_hour: { kind: string; workflow?: string | null; channel_key?: string | null; reason: string; count: number; last_at: string }[];
}

export interface StepSummary {
  ref: string;
  type: string;
  channel_key?: string | null;
  name?: string | null;
  /** Branch steps: each branch with its own steps. */
  branches?: { name?: string | null; key?: string | null; terminates?: boolean; conditions?: unknown; steps: StepSummary[] }[];
  conditions?: unknown;
  settings?: Record<string, unknown> | null;
  [k: string]: unknown;
}

export interface WorkflowSummary {
  key: string;
  name?: string | null;
  active: boolean;
  categories?: string[];
  steps: StepSummary[];
  trigger_data_schema?: Record<string, unknown> | null;
  last_triggered_at?: string | null;
}

export interface WorkflowDetail extends WorkflowSummary {
  versions?: { sha?: string; version?: string | number; created_at: string; [k: string]: unknown }[];
  description?: string | null;
}

export type Recipient = string | { collection: string; id: string };

export interface Run {
  id: string;
  workflow: string;
  workflow_run_id?: string;
  recipient: Recipient;
  actor?: Recipient | null;
  tenant?: string | null;
  status: string;
  cancellation_key?: string | null;
  inserted_at: string;
  updated_at?: string;
  halt_reason?: string | null;
  halted_reason?: string | null;
  [k: string]: unknown;
}

export interface TimelineEntry {
  at: string;
  type: string;
  step_ref?: string | null;
  step_type?: string | null;
  outcome?: string | null;
  reason?: string | null;
  late_ms?: number | null;
  attempt?: number;
  detail?: unknown;
}

export interface MessageSummary {
  id: string;
  channel_type?: string;
  channel_key?: string | null;
  channel_id?: string;
  status: string;
  recipient?: Recipient;
  workflow?: string | null;
  source?: { key?: string; workflow?: string } | null;
  tenant?: string | null;
  inserted_at?: string;
  engagement_statuses?: string[];
  [k: string]: unknown;
}

export interface RunDetail {
  run: Run;
  timeline: TimelineEntry[];
  batch?: { id?: string; key: string | null; step_ref?: string; window_ends_at?: string | null; total_activities?: number; activities: { actor?: Recipient | null; data?: unknown; inserted_at: string }[] } | null;
  messages: MessageSummary[];
  preference_explanations?: { step_ref: string; channel_key?: string | null; allowed: boolean; explanation: unknown }[];
  fetches?: { step_ref: string; request: unknown; response: unknown }[];
}

export interface MessageDetail {
  message: MessageSummary;
  run_id?: string | null;
  content?: {
    type?: string;
    subject?: string | null;
    html?: string | null;
    html_body?: string | null;
    text?: string | null;
    text_body?: string | null;
    body?: string | null;
    title?: string | null;
    payload?: unknown;
    blocks?: unknown;
    [k: string]: unknown;
  } | null;
  events?: { id?: string; type: string; inserted_at?: string; data?: unknown; [k: string]: unknown }[];
  delivery_logs?: { id?: string; attempt?: number | null; provider?: string | null; inserted_at?: string; request?: unknown; response?: unknown; [k: string]: unknown }[];
}

export interface Channel {
  key: string;
  id?: string;
  type?: string;
  channel_type?: string;
  provider: string;
  name?: string | null;
  settings?: Record<string, unknown> | null;
  fallbacks?: { provider: string; settings?: Record<string, unknown> }[];
  /** One per provider: the primary first, then the fallbacks. */
  circuits?: { provider: string; state: string; opened_at?: string | null; consecutive_failures?: number }[];
  [k: string]: unknown;
}

export interface ExplainAnswer {
  recipient: Recipient;
  workflow: string;
  tenant: string | null;
  would_send: boolean;
  channels: { step_ref: string; channel_key: string; channel_type: string | null; would_send: boolean; reason: string | null; preference: unknown }[];
}

export interface Paged<T> {
  items?: T[];
  entries?: T[];
  page_info?: PageInfo;
}

/** `{ items }` (dashboard) or `{ entries }` (Knock) — whichever the answer has. */
export const rows = <T,>(p: Paged<T> | undefined): T[] => p?.items ?? p?.entries ?? [];

export const recipientLabel = (r: Recipient | null | undefined): string =>
  r == null ? '—' : typeof r === 'string' ? r : `${r.collection}/${r.id}`;

/** The path of a recipient's page. */
export const recipientPath = (r: Recipient): string =>
  typeof r === 'string' ? `/recipients/users/${encodeURIComponent(r)}` : r.collection === '$tenants'
    ? `/recipients/tenants/${encodeURIComponent(r.id)}`
    : `/recipients/objects/${encodeURIComponent(r.collection)}/${encodeURIComponent(r.id)}`;
