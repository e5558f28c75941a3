import type { CallSummary, OutboundMessage, SendResult } from './types.js';

/**
 * What the chat providers (Slack, Microsoft Teams, Discord) share: reading the rendered chat
 * content, posting once per connection of the recipient, and folding the per-connection outcomes
 * into one result.
 *
 * One message covers every connection in the recipient's channel data. Each post leaves its own
 * call (so its own delivery log row). The message is `sent` when at least one post succeeded:
 * retrying it would post again to the connections that already have it. When none succeeded it
 * is `retryable` if any failure was, else `permanent`.
 */
export type ChatConnection = Record<string, unknown>;

export interface ChatText {
  /** The markdown block's content ('' when the template has none). */
  text: string;
  summary: string | null;
  /** The rendered `json_body` (e.g. Slack Block Kit, Discord embeds, an Adaptive Card). */
  json: Record<string, unknown> | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
export const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

export function chatConnectionsOf(message: OutboundMessage): ChatConnection[] {
  const list = message.content.connections;
  if (Array.isArray(list)) return list.filter(isObject);
  return isObject(message.content.connection) ? [message.content.connection] : [];
}

export function chatText(message: OutboundMessage): ChatText {
  const template = isObject(message.content.template) ? message.content.template : {};
  const blocks = Array.isArray(template.blocks) ? template.blocks.filter(isObject) : [];
  const block = blocks.find((b) => b.type === 'markdown') ?? blocks[0];
  return {
    text: typeof block?.content === 'string' ? block.content : '',
    summary: nonEmptyString(template.summary) ? template.summary : null,
    json: isObject(template.json_content) ? template.json_content : null,
  };
}

/** The connection's incoming webhook URL, when it has one. */
export function incomingWebhookUrl(connection: ChatConnection): string | null {
  const hook = connection.incoming_webhook;
  return isObject(hook) && nonEmptyString(hook.url) ? hook.url.trim() : null;
}

/**
 * The parts of a webhook URL that must never reach a log: the URL itself and every long path
 * segment or query value (the tokens, ids and signatures Slack, Teams and Discord put in their
 * webhook URLs), so a logged path reads like `/services/T0001/B0001/[REDACTED]`.
 */
export function webhookSecrets(raw: string): string[] {
  const out = [raw];
  let url: URL;
  try { url = new URL(raw); } catch { return out; }
  out.push(url.href);
  const segments = url.pathname.split('/').filter((s) => s !== '');
  segments.forEach((s, i) => { if (s.length >= 16 || (i === segments.length - 1 && s.length >= 8)) out.push(s); });
  for (const pair of url.search.slice(1).split('&')) {
    const value = pair.slice(pair.indexOf('=') + 1);
    if (pair.includes('=') && value.length >= 16) out.push(value);
  }
  for (const value of url.searchParams.values()) if (value.length >= 16) out.push(value);
  // Longest first, so a whole value is redacted before any of its parts.
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

/** A call that never went out (bad URL, no token, unsupported connection), for the delivery log. */
export function notSentCall(reason: string, request: Partial<CallSummary['request']> = {}): CallSummary {
  return {
    request: { method: 'POST', host: '', path: '/', query: null, headers: {}, body: {}, ...request },
    response: { status: 0, headers: {}, body: `not sent: ${reason}` },
  };
}

export function notSent(reason: string, request?: Partial<CallSummary['request']>): SendResult {
  return { outcome: 'permanent', error: reason, call: notSentCall(reason, request) };
}

/** Parses a webhook URL: only http(s) URLs are posted to. */
export function parseWebhookUrl(raw: string): URL | null {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

/**
 * Posts to every connection in turn with `post` and folds the outcomes. Errors name the
 * connection by its position and kind, never by its URL.
 */
export async function sendToConnections(
  message: OutboundMessage,
  noun: string,
  post: (connection: ChatConnection, index: number) => Promise<SendResult>,
): Promise<SendResult> {
  const connections = chatConnectionsOf(message);
  if (connections.length === 0) return notSent(`the message has no ${noun} connections`);
  const results: SendResult[] = [];
  for (const [index, connection] of connections.entries()) results.push(await post(connection, index));
  const calls = results.flatMap((r) => [r.call, ...(r.moreCalls ?? [])]);
  const [call, ...moreCalls] = calls;
  const extra = moreCalls.length > 0 ? { moreCalls } : {};
  const sent = results.find((r): r is Extract<SendResult, { outcome: 'sent' }> => r.outcome === 'sent');
  if (sent) return { outcome: 'sent', providerMessageId: sent.providerMessageId, call, ...extra };
  const errors = results.map((r, i) => `connection ${i + 1} (${describe(connections[i])}): ${r.outcome === 'sent' ? 'sent' : r.error}`);
  const error = connections.length === 1 ? (results[0] as { error: string }).error : errors.join('; ');
  const outcome = results.some((r) => r.outcome === 'retryable') ? 'retryable' : 'permanent';
  return { outcome, error, call, ...extra };
}

function describe(connection: ChatConnection): string {
  if (incomingWebhookUrl(connection)) return 'incoming webhook';
  if (nonEmptyString(connection.channel_id)) return `channel ${connection.channel_id}`;
  if (nonEmptyString(connection.user_id)) return `user ${connection.user_id}`;
  return 'unrecognised connection';
}
