import type { CallSummary, SendResult } from './types.js';

/**
 * What the push providers (fcm, apns, expo) share: one message covers every push token of its
 * recipient, each token gets its own provider call (or ticket), and the per-token outcomes fold
 * into one SendResult for the delivery task:
 * - sent when at least one token was accepted (the other tokens are not retried: a retry would
 *   push the accepted ones again);
 * - otherwise permanent when every token is invalid, retryable when some token failed
 *   retryably, permanent else;
 * - `invalidTokens` always lists the tokens the provider reported unregistered or malformed, so
 *   they leave the recipient's channel data whatever the outcome.
 */
export type TokenOutcome =
  | { token: string; kind: 'sent'; id: string }
  | { token: string; kind: 'invalid' | 'retryable' | 'permanent'; error: string };

/** Push tokens of a rendered push content: `tokens[]`, else the single `token`. */
export function contentTokens(content: Record<string, unknown>): string[] {
  const list = Array.isArray(content.tokens) ? content.tokens.filter((t): t is string => typeof t === 'string' && t !== '') : [];
  if (list.length > 0) return [...new Set(list)];
  return typeof content.token === 'string' && content.token !== '' ? [content.token] : [];
}

/** A call summary for a send that never reached the provider (bad settings, no tokens). */
export function noCall(url: string, reason: string): CallSummary {
  let host = '';
  let path = '/';
  try {
    const u = new URL(url);
    host = u.host;
    path = u.pathname;
  } catch { /* an unusable base_url: keep the empty host */ }
  return {
    request: { method: 'POST', host, path, query: null, headers: {}, body: {} },
    response: { status: 0, headers: {}, body: `not sent: ${reason}` },
  };
}

/** A permanent outcome for configuration errors, which no retry fixes. */
export function settingsError(url: string, error: string): SendResult {
  return { outcome: 'permanent', error, call: noCall(url, error) };
}

/** Runs `fn` over `items` with at most `limit` at a time; results keep the items' order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** A short token for error messages (the whole token is in the logged request anyway). */
const short = (token: string) => (token.length > 16 ? `${token.slice(0, 8)}…${token.slice(-4)}` : token);

/** Folds per-token outcomes and every call made for them (in order) into one SendResult. */
export function combineTokenOutcomes(outcomes: TokenOutcome[], calls: CallSummary[], fallbackUrl: string): SendResult {
  const [call, ...moreCalls] = calls.length > 0 ? calls : [noCall(fallbackUrl, 'no push tokens')];
  const more = moreCalls.length > 0 ? { moreCalls } : {};
  const invalid = outcomes.filter((o) => o.kind === 'invalid').map((o) => o.token);
  const invalidTokens = invalid.length > 0 ? { invalidTokens: [...new Set(invalid)] } : {};
  const sent = outcomes.find((o): o is Extract<TokenOutcome, { kind: 'sent' }> => o.kind === 'sent');
  if (sent) return { outcome: 'sent', providerMessageId: sent.id, call, ...more, ...invalidTokens };

  const failures = outcomes.filter((o): o is Exclude<TokenOutcome, { kind: 'sent' }> => o.kind !== 'sent');
  const describe = (list: typeof failures) => list.slice(0, 3).map((o) => `token ${short(o.token)}: ${o.error}`).join('; ')
    + (list.length > 3 ? `; and ${list.length - 3} more` : '');
  if (failures.length === 0) return { outcome: 'permanent', error: 'no push tokens to send to', call, ...more };
  if (failures.every((o) => o.kind === 'invalid')) {
    return { outcome: 'permanent', error: `every push token is invalid (${describe(failures)})`, call, ...more, ...invalidTokens };
  }
  const retryable = failures.filter((o) => o.kind === 'retryable');
  if (retryable.length > 0) return { outcome: 'retryable', error: describe(retryable), call, ...more, ...invalidTokens };
  return { outcome: 'permanent', error: describe(failures.filter((o) => o.kind === 'permanent')), call, ...more, ...invalidTokens };
}
