/**
 * The dashboard API's shapes (`/dashboard/api/*`): the contract between Herald and the dashboard
 * in dashboard/ (docs/dashboard-api.md explains each endpoint). Routes validate their input and
 * serialize their answers with these schemas, so an answer never carries a field not listed here
 * (a secret included by mistake is dropped by the serializer, not sent).
 *
 * Times are ISO 8601 strings; ids are the ones the public API uses. Everything here is read with
 * a dashboard session (cookie) or the secret key, for the session's (the key's) environment.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Id } from '../schemas/common.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ format: 'date-time' });
/** A free-form JSON value (trigger data, step settings, event details). */
const Json = Type.Unknown();
const JsonObject = Type.Record(Type.String(), Type.Unknown());

// --- sign-in / session -------------------------------------------------------------------

export const SignInBody = Type.Object({
  /** An environment's secret key (sk_…) or HERALD_DASHBOARD_TOKEN. */
  token: Type.String({ minLength: 1, maxLength: 512 }),
  /** With HERALD_DASHBOARD_TOKEN: the environment to open (default the first). Ignored with a secret key, whose environment it is. */
  environment: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
}, { additionalProperties: false });
export type SignInBody = Static<typeof SignInBody>;

export const SwitchEnvironmentBody = Type.Object({ environment: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

export const EnvironmentSummary = Type.Object({ slug: Type.String(), name: Type.String() });

export const SessionBody = Type.Object({
  /** The environment every call with this session reads and writes. */
  environment: Type.String(),
  /** The environments this session may switch to (with a secret key: only its own). */
  environments: Type.Array(EnvironmentSummary),
  /** True for a HERALD_DASHBOARD_TOKEN session (PUT /dashboard/api/session/environment). */
  can_switch_environment: Type.Boolean(),
  /** How the session was opened. */
  credential: Type.Union([Type.Literal('secret_key'), Type.Literal('dashboard_token')]),
  /** When the session cookie stops working (12 h after sign-in). */
  expires_at: Time,
});
export type SessionBody = Static<typeof SessionBody>;

// --- overview ----------------------------------------------------------------------------

export const OverviewBody = Type.Object({
  generated_at: Time,
  /** The last 60 minutes, oldest first, one entry per minute (zeros included). */
  triggers_per_minute: Type.Array(Type.Object({ minute: Time, count: Type.Integer() })),
  runs: Type.Object({
    queued: Type.Integer(),
    processing: Type.Integer(),
    /** Waiting (delay, batch, throttle window, wait for event…). */
    paused: Type.Integer(),
    /** Runnable now (queued or paused whose time has come). */
    due: Type.Integer(),
    /** How long the oldest due run has waited; 0 when none is due. */
    oldest_due_age_ms: Type.Integer(),
  }),
  /** Messages of the last hour by channel type, provider and delivery status. */
  deliveries_last_hour: Type.Array(Type.Object({
    channel_type: Type.String(),
    provider: Type.String(),
    status: Type.String(),
    count: Type.Integer(),
  })),
  circuits: Type.Array(Type.Object({
    channel_key: Type.String(),
    provider: Type.String(),
    state: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]),
    opened_at: Type.Optional(Time),
  })),
  /** Failed steps and undelivered messages of the last hour, grouped by what failed and why. */
  failures_last_hour: Type.Array(Type.Object({
    kind: Type.Union([Type.Literal('step'), Type.Literal('delivery')]),
    workflow: Type.Optional(Type.String()),
    channel_key: Type.Optional(Type.String()),
    reason: Type.String(),
    count: Type.Integer(),
    last_at: Time,
  })),
});
export type OverviewBody = Static<typeof OverviewBody>;

// --- workflows ---------------------------------------------------------------------------

/** A step as drawn: branches carry their own steps (nested), every other setting is in `settings`. */
export const WorkflowStep = Type.Recursive((Self) => Type.Object({
  ref: Type.String(),
  type: Type.String(),
  name: Type.Optional(Type.String()),
  channel_key: Type.Optional(Type.String()),
  channel_group_key: Type.Optional(Type.String()),
  conditions: Type.Optional(Json),
  settings: Type.Optional(Json),
  /** channel steps: the template (Liquid source, not rendered). */
  template: Type.Optional(Json),
  /** branch steps: each branch's name, conditions and steps. */
  branches: Type.Optional(Type.Array(Type.Object({
    name: Type.Optional(Type.String()),
    terminates: Type.Optional(Type.Boolean()),
    conditions: Type.Optional(Json),
    steps: Type.Array(Self),
  }))),
}), { $id: 'DashboardWorkflowStep' });

export const WorkflowSummary = Type.Object({
  key: Type.String(),
  name: Type.String(),
  active: Type.Boolean(),
  categories: Type.Array(Type.String()),
  /** Top-level steps only (ref, type, channel); the workflow page has them all. */
  steps: Type.Array(Type.Object({ ref: Type.String(), type: Type.String(), channel_key: Type.Optional(Type.String()) })),
  trigger_data_schema: Type.Optional(Json),
  last_triggered_at: Nullable(Time),
});

export const WorkflowList = Type.Object({ items: Type.Array(WorkflowSummary) });

export const WorkflowDetail = Type.Object({
  key: Type.String(),
  name: Type.String(),
  active: Type.Boolean(),
  categories: Type.Array(Type.String()),
  description: Type.Optional(Type.String()),
  steps: Type.Array(WorkflowStep),
  trigger_data_schema: Type.Optional(Json),
  last_triggered_at: Nullable(Time),
  /** The sha of the definition runs are started with now. */
  sha: Type.String(),
  /** Definitions this environment has run or stored, newest first (sha = content hash). */
  versions: Type.Array(Type.Object({ sha: Type.String(), created_at: Time })),
});

// --- runs --------------------------------------------------------------------------------

export const RecipientRef = Type.Union([Type.String(), Type.Object({ id: Type.String(), collection: Type.String() })]);

export const RunStatus = Type.Union(['queued', 'processing', 'paused', 'completed', 'cancelled'].map((s) => Type.Literal(s)));

export const DashboardRun = Type.Object({
  id: Type.String(),
  workflow_run_id: Type.String(),
  workflow: Type.String(),
  workflow_sha: Type.String(),
  /** A user id, or `{id, collection}` for an object. */
  recipient: RecipientRef,
  actor: Nullable(RecipientRef),
  tenant: Nullable(Type.String()),
  status: RunStatus,
  cancellation_key: Nullable(Type.String()),
  error_count: Type.Integer(),
  /** Where the run came from (api, schedule, workflow_step, audience…). */
  trigger_source: JsonObject,
  /** The trigger data. */
  data: JsonObject,
  /** When a paused run wakes up (delay end, batch window…). */
  wake_at: Nullable(Time),
  /** Why the run stopped early (a halting step's reason), when it did. */
  halt_reason: Nullable(Type.String()),
  inserted_at: Time,
  updated_at: Time,
});

export const PageInfo = Type.Object({ after: Nullable(Type.String()), before: Nullable(Type.String()), page_size: Type.Integer() });

export const RunListQuery = Type.Object({
  workflow: Type.Optional(Id),
  /** A user id, or JSON `{"collection":"…","id":"…"}` for an object. */
  recipient: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  tenant: Type.Optional(Id),
  /** One status, or several comma-separated. */
  status: Type.Optional(Type.String({ maxLength: 100 })),
  cancellation_key: Type.Optional(Id),
  from: Type.Optional(Time),
  to: Type.Optional(Time),
  after: Type.Optional(Type.String({ maxLength: 200 })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
});

export const RunList = Type.Object({ items: Type.Array(DashboardRun), page_info: PageInfo });

export const TimelineEntry = Type.Object({
  at: Time,
  /** run_started, step_started, step_completed, step_skipped, step_failed, run_halted, run_completed, run_cancelled … */
  type: Type.String(),
  step_ref: Type.Optional(Type.String()),
  step_type: Type.Optional(Type.String()),
  outcome: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  /** Why a step was skipped or failed, or the run halted/was cancelled. */
  reason: Type.Optional(Type.String()),
  /** Delay steps: how late the run woke after its delay ended. */
  late_ms: Type.Optional(Type.Number()),
  attempt: Type.Optional(Type.Integer()),
  /** The event's recorded data, secrets redacted. */
  detail: Nullable(Json),
});

export const MessageSummary = Type.Object({
  id: Type.String(),
  channel_id: Type.String(),
  channel_key: Nullable(Type.String()),
  channel_type: Nullable(Type.String()),
  provider: Nullable(Type.String()),
  recipient: RecipientRef,
  workflow: Nullable(Type.String()),
  step_ref: Nullable(Type.String()),
  tenant: Nullable(Type.String()),
  /** Knock's status: queued, sent, delivered, delivery_attempted, undelivered, not_sent, bounced. */
  status: Type.String(),
  engagement_statuses: Type.Array(Type.String()),
  inserted_at: Time,
  updated_at: Time,
});

export const RunDetail = Type.Object({
  run: DashboardRun,
  timeline: Type.Array(TimelineEntry),
  /** When the run is (or was) in a batch: the batch and its activities (newest 50). */
  batch: Type.Optional(Type.Object({
    id: Type.String(),
    key: Nullable(Type.String()),
    step_ref: Type.Optional(Type.String()),
    window_ends_at: Nullable(Time),
    total_activities: Type.Integer(),
    activities: Type.Array(Type.Object({ actor: Nullable(RecipientRef), data: Nullable(Json), inserted_at: Time })),
  })),
  messages: Type.Array(MessageSummary),
  /** Each channel step the run reached: was the recipient's preference for it allowed, and why. */
  preference_explanations: Type.Array(Type.Object({
    step_ref: Type.String(),
    channel_key: Nullable(Type.String()),
    allowed: Type.Boolean(),
    explanation: Json,
  })),
  /** http_fetch steps: the request sent (Authorization and similar headers redacted) and the response. */
  fetches: Type.Array(Type.Object({ step_ref: Type.String(), request: Json, response: Json })),
});

export const RunCancelAnswer = Type.Object({ run: DashboardRun });

// --- messages ----------------------------------------------------------------------------

export const MessageListQuery = Type.Object({
  channel_type: Type.Optional(Type.String({ maxLength: 20 })),
  /** One status or several comma-separated. */
  status: Type.Optional(Type.String({ maxLength: 200 })),
  recipient: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  workflow: Type.Optional(Id),
  tenant: Type.Optional(Id),
  after: Type.Optional(Type.String({ maxLength: 200 })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
});

export const MessageList = Type.Object({ items: Type.Array(MessageSummary), page_info: PageInfo });

export const MessageContent = Type.Object({
  /** email | sms | push | chat | in_app_feed | http */
  type: Type.String(),
  /** email */
  subject: Type.Optional(Type.String()),
  html: Type.Optional(Type.String()),
  text: Type.Optional(Type.String()),
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.String()),
  /** sms: `text`; push: `title`, `text`, `data`; chat: `blocks`/`json`; in-app: `blocks`; http: `body` */
  title: Type.Optional(Type.String()),
  blocks: Type.Optional(Json),
  data: Type.Optional(Json),
  /** The channel's raw rendered content as the public API returns it (GET /v1/messages/:id/content). */
  raw: Json,
});

export const DeliveryLogEntry = Type.Object({
  id: Type.String(),
  attempt: Nullable(Type.Integer()),
  provider: Nullable(Type.String()),
  /** Request and response as recorded; Authorization, tokens and passwords redacted. */
  request: Json,
  response: Json,
  inserted_at: Time,
});

export const MessageDetail = Type.Object({
  message: MessageSummary,
  /** The run that created it, when known. */
  run_id: Nullable(Type.String()),
  content: Nullable(MessageContent),
  events: Type.Array(Type.Object({ id: Type.String(), type: Type.String(), data: Nullable(Json), inserted_at: Time })),
  delivery_logs: Type.Array(DeliveryLogEntry),
});

// --- explain -----------------------------------------------------------------------------

export const ExplainQuery = Type.Object({
  /** A user id, or JSON `{"collection":"…","id":"…"}` for an object. */
  recipient: Type.String({ minLength: 1, maxLength: 1024 }),
  workflow: Id,
  /** Default: every channel step of the workflow. */
  channel_key: Type.Optional(Id),
  tenant: Type.Optional(Id),
});

export const ExplainAnswer = Type.Object({
  recipient: RecipientRef,
  workflow: Type.String(),
  tenant: Nullable(Type.String()),
  /** True when at least one channel would send. */
  would_send: Type.Boolean(),
  channels: Type.Array(Type.Object({
    step_ref: Type.String(),
    channel_key: Type.String(),
    channel_type: Nullable(Type.String()),
    would_send: Type.Boolean(),
    /** Why not, in words (preferences, workflow inactive, no channel data…); null when it would send. */
    reason: Nullable(Type.String()),
    /** The preference evaluation (the same object as POST /v1/users/:id/preferences/explain). */
    preference: Json,
  })),
});

// --- channels ----------------------------------------------------------------------------

export const DashboardChannel = Type.Object({
  id: Type.String(),
  key: Type.String(),
  name: Nullable(Type.String()),
  type: Type.String(),
  provider: Type.String(),
  /** Provider settings with every secret-looking value replaced by "[redacted]". */
  settings: JsonObject,
  fallbacks: Type.Array(Type.Object({ provider: Type.String(), settings: JsonObject })),
  /** One entry per provider (index 0 = the primary, then the fallbacks). */
  circuits: Type.Array(Type.Object({
    provider: Type.String(),
    state: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]),
    opened_at: Type.Optional(Time),
    consecutive_failures: Type.Integer(),
  })),
});

export const ChannelList = Type.Object({ items: Type.Array(DashboardChannel) });
