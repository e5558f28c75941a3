import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { errors } from '../../domain/errors.js';
import { USERS, type EntityKey } from '../../domain/recipients.js';
import { parseTimestamp } from '../../domain/timestamps.js';
import { findChannel } from '../../store/channels.js';
import {
  getMessage, getMessages, listMessageEvents, listMessages, parseTriggerData,
  type EngagementFilter, type InsertedAtRange, type MessageCriteria,
} from '../../store/messages.js';
import { bulkUpdateMessages, setMessagesStatus, type BulkAction, type StatusAction } from '../../store/message-status.js';
import { CursorQuery, pageInfo } from '../schemas/common.js';
import { serializeBulkOperation, serializeMessage, serializeMessageContents, serializeMessageEvent } from '../serializers/messages.js';
import type { ApiDeps, App } from '../types.js';
import { publicBaseUrl } from '../public-url.js';
import { recordCompletedBulkOperation } from '../../store/bulk-operations.js';

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const DeliveryStatus = literals(['queued', 'sent', 'delivered', 'delivery_attempted', 'undelivered', 'not_sent', 'bounced']);
export const EngagementStatus = literals(['seen', 'unseen', 'read', 'unread', 'archived', 'unarchived', 'link_clicked', 'interacted'] as const);

/** `inserted_at[gte]=` (node SDK) and `inserted_at.gte=` (browser client) both parse to this. */
export const InsertedAtQuery = Type.Object({
  gt: Type.Optional(Type.String()),
  gte: Type.Optional(Type.String()),
  lt: Type.Optional(Type.String()),
  lte: Type.Optional(Type.String()),
});

export function parseInsertedAt(range: Static<typeof InsertedAtQuery> | undefined): InsertedAtRange | undefined {
  if (!range) return undefined;
  const out: InsertedAtRange = {};
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
    const raw = range[op];
    if (raw === undefined || raw === '') continue;
    const at = parseTimestamp(raw);
    if (!at) throw errors.invalidParams(`inserted_at.${op} must be an ISO-8601 timestamp.`, [{ field: `inserted_at.${op}`, message: 'must be an ISO-8601 timestamp', type: 'invalid' }]);
    out[op] = at;
  }
  return out;
}

/** The message filters shared by messages.list, users.listMessages and objects.listMessages. */
export const MessageListQuery = Type.Composite([CursorQuery, Type.Object({
  channel_id: Type.Optional(Type.String()),
  tenant: Type.Optional(Type.String()),
  source: Type.Optional(Type.String()),
  status: Type.Optional(Type.Array(DeliveryStatus)),
  engagement_status: Type.Optional(Type.Array(EngagementStatus)),
  message_ids: Type.Optional(Type.Array(Type.String(), { maxItems: 50 })),
  workflow_categories: Type.Optional(Type.Array(Type.String())),
  workflow_run_id: Type.Optional(Type.String()),
  workflow_recipient_run_id: Type.Optional(Type.String()),
  trigger_data: Type.Optional(Type.String()),
  inserted_at: Type.Optional(InsertedAtQuery),
})]);
export type MessageListQuery = Static<typeof MessageListQuery>;

/** Turns list query parameters into store criteria (resolving a channel key to its id). */
export async function messageCriteria(deps: Pick<ApiDeps, 'db'>, q: MessageListQuery, recipient?: EntityKey): Promise<MessageCriteria> {
  let channelId: string | undefined;
  if (q.channel_id) {
    const channel = await findChannel(deps.db, q.channel_id);
    if (!channel) throw errors.channelInvalid(q.channel_id);
    channelId = channel.id;
  }
  return {
    recipients: recipient ? [recipient] : undefined,
    channelId,
    tenants: q.tenant !== undefined ? [q.tenant] : undefined,
    workflows: q.source !== undefined ? [q.source] : undefined,
    statuses: q.status?.length ? q.status : undefined,
    // Several engagement statuses match messages having any of them.
    engagementAny: q.engagement_status as EngagementFilter[] | undefined,
    messageIds: q.message_ids,
    categories: q.workflow_categories,
    workflowRunId: q.workflow_run_id,
    recipientRunId: q.workflow_recipient_run_id,
    triggerData: parseTriggerData(q.trigger_data),
    insertedAt: parseInsertedAt(q.inserted_at),
  };
}

/** Lists messages as Knock's items page, newest first. */
export async function listMessagesPage(deps: Pick<ApiDeps, 'db'>, q: MessageListQuery, recipient?: EntityKey) {
  const pageSize = q.page_size ?? 50;
  const page = await listMessages(deps.db, await messageCriteria(deps, q, recipient), { after: q.after, before: q.before, pageSize });
  return { items: page.messages.map(serializeMessage), page_info: pageInfo(pageSize, page.after, page.before) };
}

/**
 * With a public key and a verified user token, status changes reach only that user's own
 * messages; another user's message is simply not found.
 */
export function publicUserScope(request: FastifyRequest): EntityKey | undefined {
  const auth = request.auth;
  return auth?.kind === 'public' && auth.userId ? { collection: USERS, id: auth.userId } : undefined;
}

/** Knock's SDKs send `Content-Type: application/json` with no body on these; treat it as `{}`. */
const emptyBodyIsObject = async (request: FastifyRequest) => {
  if (request.body === undefined || request.body === null) request.body = {};
};

const nullable = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const Metadata = Type.Object({}, { additionalProperties: true });

const MessageParams = Type.Object({ message_id: Type.String({ minLength: 1 }) });
const SetStatusParams = Type.Object({ message_id: Type.String({ minLength: 1 }), status: literals(['seen', 'read', 'archived', 'interacted'] as const) });
const UnsetStatusParams = Type.Object({ message_id: Type.String({ minLength: 1 }), status: literals(['seen', 'read', 'archived', 'unseen', 'unread', 'unarchived'] as const) });
const UNSET: Record<Static<typeof UnsetStatusParams>['status'], StatusAction> = {
  seen: 'unseen', unseen: 'unseen', read: 'unread', unread: 'unread', archived: 'unarchived', unarchived: 'unarchived',
};
const InteractedBody = Type.Object({ metadata: nullable(Metadata) });

const BatchParams = Type.Object({ status: literals(['seen', 'unseen', 'read', 'unread', 'archived', 'unarchived', 'interacted'] as const) });
const BatchBody = Type.Object({ message_ids: Type.Array(Type.String(), { maxItems: 1000 }), metadata: nullable(Metadata) });

const BulkParams = Type.Object({
  channel_id: Type.String({ minLength: 1 }),
  action: literals(['seen', 'unseen', 'read', 'unread', 'archived', 'unarchived', 'interacted', 'archive', 'unarchive', 'delete'] as const),
});
const BulkBody = Type.Object({
  archived: nullable(literals(['exclude', 'include', 'only'] as const)),
  delivery_status: nullable(DeliveryStatus),
  engagement_status: nullable(EngagementStatus),
  has_tenant: nullable(Type.Boolean()),
  newer_than: nullable(Type.String()),
  older_than: nullable(Type.String()),
  recipient_ids: nullable(Type.Array(Type.String())),
  // What the browser client sends instead of recipient_ids.
  user_ids: nullable(Type.Array(Type.String())),
  tenants: nullable(Type.Array(Type.String())),
  trigger_data: nullable(Type.String()),
  workflows: nullable(Type.Array(Type.String())),
});
type BulkBody = Static<typeof BulkBody>;

function bulkTimestamp(value: string | null | undefined, field: string): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const at = parseTimestamp(value);
  if (!at) throw errors.invalidParams(`${field} must be an ISO-8601 timestamp.`, [{ field, message: 'must be an ISO-8601 timestamp', type: 'invalid' }]);
  return at;
}

/** Bulk body filters as criteria; an empty list means "no filter", as with an absent one. */
function bulkCriteria(channelId: string, b: BulkBody, scope: EntityKey | undefined): MessageCriteria {
  const list = (v: string[] | null | undefined) => (v && v.length ? v : undefined);
  const ids = [...new Set([...(b.recipient_ids ?? []), ...(b.user_ids ?? [])])];
  if (scope && ids.some((id) => id !== scope.id)) throw errors.forbidden('A user token may only update its own messages.');
  const recipients = scope ? [scope] : ids.length ? ids.map((id) => ({ collection: USERS, id })) : undefined;
  const engagementAll: EngagementFilter[] = [];
  if (b.engagement_status) engagementAll.push(b.engagement_status);
  if (b.archived === 'exclude') engagementAll.push('unarchived');
  if (b.archived === 'only') engagementAll.push('archived');
  return {
    recipients,
    channelId,
    statuses: b.delivery_status ? [b.delivery_status] : undefined,
    engagementAll,
    hasTenant: b.has_tenant ?? undefined,
    tenants: list(b.tenants),
    workflows: list(b.workflows),
    triggerData: parseTriggerData(b.trigger_data ?? undefined),
    insertedAt: { gt: bulkTimestamp(b.newer_than, 'newer_than'), lt: bulkTimestamp(b.older_than, 'older_than') },
  };
}

export function registerMessageRoutes(app: App, deps: ApiDeps): void {
  const tags = ['messages'];

  app.get('/v1/messages', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'List messages', querystring: MessageListQuery },
  }, async (request) => listMessagesPage(deps, request.query));

  app.get('/v1/users/:user_id/messages', {
    config: { auth: 'secret' },
    schema: { tags, summary: "List a user's messages", params: Type.Object({ user_id: Type.String({ minLength: 1 }) }), querystring: MessageListQuery },
  }, async (request) => listMessagesPage(deps, request.query, { collection: USERS, id: request.params.user_id }));

  app.get('/v1/messages/batch/content', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Get the contents of several messages', querystring: Type.Object({ message_ids: Type.Array(Type.String(), { minItems: 1, maxItems: 50 }) }) },
  }, async (request) => (await getMessages(deps.db, request.query.message_ids)).map(serializeMessageContents));

  const requireMessage = async (id: string, scope?: EntityKey) => {
    const message = await getMessage(deps.db, id, scope);
    if (!message) throw errors.notFound(`Message "${id}"`);
    return message;
  };

  app.get('/v1/messages/:message_id', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Get a message', params: MessageParams },
  }, async (request) => serializeMessage(await requireMessage(request.params.message_id)));

  app.get('/v1/messages/:message_id/content', {
    config: { auth: 'secret' },
    schema: { tags, summary: "Get a message's rendered content", params: MessageParams },
  }, async (request) => serializeMessageContents(await requireMessage(request.params.message_id)));

  app.get('/v1/messages/:message_id/events', {
    config: { auth: 'secret' },
    schema: { tags, summary: "List a message's events, newest first", params: MessageParams, querystring: CursorQuery },
  }, async (request) => {
    const message = await requireMessage(request.params.message_id);
    const pageSize = request.query.page_size ?? 50;
    const page = await listMessageEvents(deps.db, message.id, { after: request.query.after, before: request.query.before, pageSize });
    return { items: page.events.map((e) => serializeMessageEvent(e, message)), page_info: pageInfo(pageSize, page.after, page.before) };
  });

  const setOne = async (request: FastifyRequest, id: string, action: StatusAction, metadata?: Record<string, unknown> | null) => {
    const scope = publicUserScope(request);
    const [message] = await setMessagesStatus(deps.db, [id], action, { now: deps.clock.now(), metadata, recipient: scope });
    if (!message) throw errors.notFound(`Message "${id}"`);
    return serializeMessage(message);
  };

  app.put('/v1/messages/:message_id/:status', {
    config: { auth: 'public' },
    preValidation: emptyBodyIsObject,
    schema: { tags, summary: 'Mark a message seen, read, archived or interacted', params: SetStatusParams, body: InteractedBody },
  }, async (request) => {
    const { message_id: id, status } = request.params;
    return setOne(request, id, status, status === 'interacted' ? request.body.metadata : undefined);
  });

  app.delete('/v1/messages/:message_id/:status', {
    config: { auth: 'public' },
    schema: { tags, summary: 'Mark a message unseen, unread or unarchived', params: UnsetStatusParams },
  }, async (request) => setOne(request, request.params.message_id, UNSET[request.params.status]));

  app.post('/v1/messages/batch/:status', {
    config: { auth: 'public' },
    schema: { tags, summary: 'Change the status of several messages', params: BatchParams, body: BatchBody },
  }, async (request) => {
    const { status } = request.params;
    const messages = await setMessagesStatus(deps.db, request.body.message_ids, status, {
      now: deps.clock.now(),
      metadata: status === 'interacted' ? request.body.metadata : undefined,
      recipient: publicUserScope(request),
    });
    return messages.map(serializeMessage);
  });

  // Knock queues bulk operations; Herald runs the whole update as one statement before
  // answering, so the operation it returns is already completed.
  app.post('/v1/channels/:channel_id/messages/bulk/:action', {
    config: { auth: 'public' },
    preValidation: emptyBodyIsObject,
    schema: { tags, summary: "Change the status of a channel's messages in bulk", params: BulkParams, body: BulkBody },
  }, async (request) => {
    const { channel_id: channelIdOrKey, action } = request.params;
    const channel = await findChannel(deps.db, channelIdOrKey);
    if (!channel) throw errors.channelInvalid(channelIdOrKey);
    const criteria = bulkCriteria(channel.id, request.body, publicUserScope(request));
    const now = deps.clock.now();
    // The update and its BulkOperation record commit together, so progress_path always resolves.
    const op = await deps.db.transaction(async (tx) => {
      const result = await bulkUpdateMessages(tx, criteria, action as BulkAction, now);
      return recordCompletedBulkOperation(tx, { id: result.id, name: `channel_messages.bulk_${action}`, matched: result.matched, at: now });
    });
    return serializeBulkOperation(op, publicBaseUrl(deps, request));
  });
}
