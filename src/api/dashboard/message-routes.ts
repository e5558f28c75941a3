/**
 * Messages for the dashboard: the list (with a channel-type filter) and one message with its
 * rendered content, events and delivery logs, secrets redacted (device tokens, chat connection
 * tokens and webhook URLs, credentials in logged requests).
 */
import { Type, type Static } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { listDashboardMessages } from '../../store/dashboard-messages.js';
import { listDeliveryLogs } from '../../store/deliveries.js';
import { getMessage, listMessageEvents, type MessageRow } from '../../store/messages.js';
import { serializeMessageContents } from '../serializers/messages.js';
import type { ApiDeps, App } from '../types.js';
import { dashboardContext } from './context.js';
import { parseList, parseRecipient } from './query-params.js';
import { redactSecrets } from './redact.js';
import { MessageContent, MessageDetail, MessageList, MessageListQuery } from './schemas.js';
import { messageSummary } from './serializers.js';

const CHANNEL_TYPES = ['email', 'sms', 'push', 'chat', 'in_app_feed', 'http'];
const MESSAGE_STATUSES = ['queued', 'sent', 'delivered', 'delivery_attempted', 'undelivered', 'not_sent', 'bounced'];
const MessageParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** The rendered content, typed for display; `raw` is the public API's content, redacted. */
function contentOf(m: MessageRow): Static<typeof MessageContent> | null {
  if (!m.content && m.channel.type !== 'in_app_feed') return null;
  const raw = redactSecrets(serializeMessageContents(m).data) as Record<string, unknown>;
  const c = (m.content ?? {}) as Record<string, unknown>;
  const type = m.channel.type;
  const pick = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Static<typeof MessageContent>;
  switch (type) {
    case 'email':
      return pick({ type, subject: str(c.subject_line) ?? str(c.subject), html: str(c.html_body), text: str(c.text_body), from: str(c.from), to: str(c.to), raw });
    case 'sms':
      return pick({ type, text: str(c.body), to: str(c.to), raw });
    case 'push':
      return pick({ type, title: str(c.title), text: str(c.body), data: redactSecrets(c.data), raw });
    case 'chat':
      return pick({ type, text: str(c.markdown_body) ?? str(c.summary) ?? str(c.body), blocks: redactSecrets(c.blocks ?? c.json_content ?? c.json), raw });
    case 'in_app_feed':
      return pick({ type, blocks: c.blocks ?? [], raw });
    default:
      return pick({ type, data: redactSecrets(c.body ?? c), raw });
  }
}

export function registerMessageRoutes(app: App, deps: ApiDeps): void {
  const contextOf = dashboardContext(deps);
  const config = { auth: 'secret' as const, dashboard: true };

  app.get('/dashboard/api/messages', {
    config,
    schema: { tags: ['dashboard'], querystring: MessageListQuery, response: { 200: MessageList } },
  }, async (request) => {
    const { db } = await contextOf(request);
    const q = request.query;
    const pageSize = q.page_size ?? 50;
    const recipient = parseRecipient(q.recipient);
    const channelType = parseList(q.channel_type, CHANNEL_TYPES, 'channel_type');
    const page = await listDashboardMessages(db, {
      recipients: recipient ? [recipient] : undefined,
      statuses: parseList(q.status, MESSAGE_STATUSES, 'status'),
      workflows: q.workflow ? [q.workflow] : undefined,
      tenants: q.tenant ? [q.tenant] : undefined,
      channelType: channelType?.[0],
    }, { after: q.after, pageSize });
    return { items: page.messages.map(messageSummary), page_info: { after: page.after, before: null, page_size: pageSize } };
  });

  app.get('/dashboard/api/messages/:id', {
    config,
    schema: { tags: ['dashboard'], params: MessageParams, response: { 200: MessageDetail } },
  }, async (request) => {
    const { db } = await contextOf(request);
    const m = await getMessage(db, request.params.id);
    if (!m) throw errors.notFound(`Message "${request.params.id}"`);
    const [events, logs] = await Promise.all([listMessageEvents(db, m.id, { pageSize: 100 }), listDeliveryLogs(db, m.id, { pageSize: 50 })]);
    return {
      message: messageSummary(m),
      run_id: m.recipient_run_id,
      content: contentOf(m),
      events: events.events.map((e) => ({ id: e.id, type: e.type, data: redactSecrets(e.data), inserted_at: new Date(e.inserted_at).toISOString() })),
      delivery_logs: logs.logs.map((l) => ({
        id: l.id,
        attempt: l.attempt ?? null,
        provider: l.service_name ?? null,
        request: redactSecrets(l.request),
        response: redactSecrets(l.response),
        inserted_at: new Date(l.inserted_at).toISOString(),
      })),
    };
  });
}
