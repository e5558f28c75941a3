import { createHash } from 'node:crypto';
import { toEntityKey, toReference, USERS, type EntityKey, type RecipientReference } from '../../domain/recipients.js';
import type { BulkOperationRow } from '../../store/bulk-operations.js';
import type { EntityRow } from '../../store/entities.js';
import { messageCursor, type MessageEventRow, type MessageRow } from '../../store/messages.js';
import { serializeEntity } from './entities.js';

const iso = (d: Date | string | null | undefined) => (d === null || d === undefined ? null : new Date(d).toISOString());

const recipientOf = (m: MessageRow) => toReference({ collection: m.recipient_collection, id: m.recipient_id });

/** Stored actors are references; anything malformed is dropped rather than failing the page. */
export function actorKeys(m: MessageRow): EntityKey[] {
  return (m.actors ?? []).flatMap((a) => {
    if (typeof a === 'string') return [toEntityKey(a)];
    if (a && typeof a === 'object' && typeof (a as { id?: unknown }).id === 'string') return [toEntityKey(a as RecipientReference)];
    return [];
  });
}

/** Engagement statuses are exactly the timestamps that are set, in Knock's order. */
export function engagementStatuses(m: MessageRow): string[] {
  const out: string[] = [];
  if (m.seen_at) out.push('seen');
  if (m.read_at) out.push('read');
  if (m.interacted_at) out.push('interacted');
  if (m.link_clicked_at) out.push('link_clicked');
  if (m.archived_at) out.push('archived');
  return out;
}

/**
 * Knock's `version_id` is a UUID. Herald versions workflows by content hash (sha256 hex), so the
 * version is named by the hash's first 128 bits written as a UUID; a message with no recorded
 * version gets the nil UUID, and a hash that is not hex is hashed first.
 */
export function versionId(sha: string | null): string {
  if (!sha) return '00000000-0000-0000-0000-000000000000';
  const hex = /^[0-9a-f]{32,}$/i.test(sha) ? sha.toLowerCase() : createHash('sha256').update(sha).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function source(m: MessageRow) {
  return {
    __typename: 'NotificationSource',
    key: m.workflow_key,
    version_id: versionId(m.workflow_sha),
    categories: m.categories ?? [],
    step_ref: m.step_ref,
    type: 'workflow',
    workflow_run_id: m.workflow_run_id,
    workflow_recipient_run_id: m.recipient_run_id,
  };
}

const engagementTimestamps = (m: MessageRow) => ({
  seen_at: iso(m.seen_at),
  read_at: iso(m.read_at),
  interacted_at: iso(m.interacted_at),
  link_clicked_at: iso(m.link_clicked_at),
  // Knock reports link clicks under both names.
  clicked_at: iso(m.link_clicked_at),
  archived_at: iso(m.archived_at),
});

/** Knock's Message. */
export function serializeMessage(m: MessageRow) {
  return {
    __typename: 'Message',
    id: m.id,
    channel_id: m.channel_id,
    channel: {
      __typename: 'Channel',
      id: m.channel.id,
      key: m.channel.key,
      provider: m.channel.provider,
      type: m.channel.type,
      name: m.channel.name,
      created_at: iso(m.channel.created_at),
      updated_at: iso(m.channel.updated_at),
    },
    recipient: recipientOf(m),
    actors: actorKeys(m).map(toReference),
    status: m.status,
    engagement_statuses: engagementStatuses(m),
    source: source(m),
    tenant: m.tenant_id,
    data: m.data,
    metadata: messageMetadata(m),
    inserted_at: iso(m.inserted_at),
    updated_at: iso(m.updated_at),
    ...engagementTimestamps(m),
    workflow: m.workflow_key,
    scheduled_at: null,
  };
}

/** Knock's `metadata` (e.g. `{external_id}`), with the provider that sent it after failover. */
function messageMetadata(m: MessageRow): Record<string, unknown> | null {
  if (!m.provider && !m.external_id) return m.metadata;
  return { ...m.metadata, provider: m.provider, external_id: m.external_id };
}

const SECRET_CONNECTION_FIELDS = new Set(['access_token', 'url', 'token', 'bot_token']);

/** Chat connections carry tokens and webhook URLs (which embed their secret): never returned. */
function redactConnection(c: unknown): unknown {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return c;
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, SECRET_CONNECTION_FIELDS.has(k) && typeof v === 'string' ? '[REDACTED]' : redactConnection(v)]));
}

function publicContent(type: string, content: Record<string, unknown>): Record<string, unknown> {
  if (type !== 'chat') return content;
  return {
    ...content,
    connection: redactConnection(content.connection),
    connections: Array.isArray(content.connections) ? content.connections.map(redactConnection) : content.connections,
    ...(content.token !== undefined ? { token: redactConnection(content.token) } : {}),
  };
}

const CONTENT_TYPENAMES: Record<string, string> = {
  in_app_feed: 'MessageInAppFeedContent',
  email: 'MessageEmailContent',
  sms: 'MessageSmsContent',
  push: 'MessagePushContent',
  chat: 'MessageChatContent',
  http: 'MessageHttpContent',
};

/** Knock's MessageContents: the rendered content, typed by the channel it was rendered for. */
export function serializeMessageContents(m: MessageRow) {
  const typename = CONTENT_TYPENAMES[m.channel.type] ?? 'MessageContent';
  const content = m.content ?? (m.channel.type === 'in_app_feed' ? { blocks: [] } : {});
  return {
    __typename: 'MessageContents',
    message_id: m.id,
    inserted_at: iso(m.inserted_at),
    data: { __typename: typename, ...publicContent(m.channel.type, content) },
  };
}

/** Knock's MessageEvent; the recipient is the message's. */
export function serializeMessageEvent(e: MessageEventRow, m: MessageRow) {
  return {
    __typename: 'MessageEvent',
    id: e.id,
    type: e.type,
    recipient: recipientOf(m),
    data: e.data,
    inserted_at: iso(e.inserted_at),
  };
}

export type FeedMode = 'compact' | 'rich';

/** Compact mode keeps only scalar data: nested arrays and objects are dropped. */
function compactData(data: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!data) return data;
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v === null || typeof v !== 'object'));
}

const entityKeyString = (k: EntityKey) => `${k.collection}\u0000${k.id}`;

/** An actor that was never identified still shows, by its reference. */
function unknownActor(k: EntityKey) {
  return k.collection === USERS ? { __typename: 'User', id: k.id } : { __typename: 'Object', id: k.id, collection: k.collection };
}

/**
 * Knock's FeedItem. `actors` are full User/Object resources, loaded for the whole page by the
 * caller (`actors` map from `entityKeyString`). Rich mode adds `activities` (serialized by the
 * caller: a batch's first activities, or the message's own trigger) and `total_activities`.
 */
export function serializeFeedItem(m: MessageRow, actors: ReadonlyMap<string, EntityRow>, mode: FeedMode, activities: unknown[] = []) {
  const keys = actorKeys(m);
  const shown = mode === 'compact' ? keys.slice(0, 1) : keys;
  const item: Record<string, unknown> = {
    __typename: 'FeedItem',
    id: m.id,
    __cursor: messageCursor(m),
    actors: shown.map((k) => {
      const row = actors.get(entityKeyString(k));
      return row ? serializeEntity(row) : unknownActor(k);
    }),
    total_actors: m.total_actors ?? keys.length,
    blocks: (m.content?.blocks as unknown[] | undefined) ?? [],
    data: mode === 'compact' ? compactData(m.data) : m.data,
    source: source(m),
    tenant: m.tenant_id,
    inserted_at: iso(m.inserted_at),
    updated_at: iso(m.updated_at),
    ...engagementTimestamps(m),
  };
  if (mode === 'rich') {
    item.activities = activities;
    item.total_activities = m.total_activities ?? 1;
  }
  return item;
}

/** Keys for the one query that loads every actor on a page. */
export function feedActorKeys(messages: MessageRow[], mode: FeedMode): EntityKey[] {
  const seen = new Map<string, EntityKey>();
  for (const m of messages) {
    const keys = actorKeys(m);
    for (const k of mode === 'compact' ? keys.slice(0, 1) : keys) seen.set(entityKeyString(k), k);
  }
  return [...seen.values()];
}

export function actorMap(rows: EntityRow[]): Map<string, EntityRow> {
  return new Map(rows.map((r) => [entityKeyString(r), r]));
}

/**
 * Knock's BulkOperation (Herald completes bulk work before answering). `progress_path` is an
 * absolute URL (the spec's format is `uri`), so the caller passes the API's base URL.
 */
export function serializeBulkOperation(op: BulkOperationRow, baseUrl: string) {
  return {
    __typename: 'BulkOperation',
    id: op.id,
    name: op.name,
    status: op.status,
    estimated_total_rows: op.total_rows,
    processed_rows: op.status === 'completed' ? op.total_rows : 0,
    success_count: op.success_count,
    error_count: op.error_count,
    error_items: [],
    progress_path: `${baseUrl}/v1/bulk_operations/${op.id}`,
    inserted_at: iso(op.inserted_at),
    updated_at: iso(op.completed_at ?? op.inserted_at),
    started_at: iso(op.inserted_at),
    completed_at: op.completed_at ? iso(op.completed_at) : null,
    failed_at: null,
  };
}
