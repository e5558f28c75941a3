/**
 * Secrets out of whatever the dashboard shows from recorded data (run event details, fetch
 * requests, delivery logs, channel data): values under credential-like names, and credential-like
 * strings (`Bearer …`, `Basic …`, Herald's own keys) wherever they are, become "[redacted]".
 * Delivery logs are already redacted when written (providers/http-call.ts); this is the second line.
 */
export const REDACTED = '[redacted]';

const SECRET_NAME = /(^|[-_ .])(authorization|proxy-authorization|cookie|set-cookie|token|access[-_]?token|refresh[-_]?token|bot[-_]?token|id[-_]?token|secret|client[-_]?secret|password|passwd|pass|api[-_]?key|apikey|private[-_]?key|signing[-_]?key|auth[-_]?token|credentials?|x-api-key|x-knock-user-token)$/i;
const SECRET_VALUE = /^(bearer|basic|token)\s+\S+|^(sk|pk)_[A-Za-z0-9_-]{8,}|^-----BEGIN [A-Z ]*PRIVATE KEY-----/i;

function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) || /secret|password|token|api[-_]?key|authorization/i.test(name);
}

/** A deep copy with secrets replaced; depth- and size-bounded (recorded data is bounded already). */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 20) return REDACTED;
  if (typeof value === 'string') return SECRET_VALUE.test(value.trim()) ? REDACTED : value;
  if (Array.isArray(value)) {
    // Header lists as [name, value] pairs or {name, value} objects.
    if (value.length === 2 && typeof value[0] === 'string' && isSecretName(value[0])) return [value[0], REDACTED];
    return value.map((v) => redactSecrets(v, depth + 1));
  }
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    // Header lists as {name, value} (delivery logs) or {key, value} (http_fetch settings).
    for (const label of ['name', 'key']) {
      if (typeof obj[label] === 'string' && 'value' in obj && isSecretName(obj[label] as string)) return { ...obj, value: REDACTED };
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, isSecretName(k) && v !== null && v !== undefined && typeof v !== 'boolean' ? REDACTED : redactSecrets(v, depth + 1)]));
  }
  return value;
}
