/**
 * What a recipient must have for a channel type (Knock §5.10 step 2), checked before
 * preferences: `email` for email, a phone number for SMS, tokens or connections in its channel
 * data for push and chat. A webhook needs nothing of the recipient; the in-app feed neither.
 */
export type ChannelAddress =
  | { ok: true; email?: string; phone?: string; tokens?: string[]; connections?: Record<string, unknown>[] }
  | { ok: false; reason: string };

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** Push tokens from channel data: `tokens[]` and `devices[].token` (Knock accepts either), de-duplicated. */
export function pushTokens(data: Record<string, unknown> | null): string[] {
  if (!data) return [];
  const tokens = Array.isArray(data.tokens) ? data.tokens.filter(nonEmpty) : [];
  const devices = Array.isArray(data.devices) ? data.devices.map((d) => (d as { token?: unknown })?.token).filter(nonEmpty) : [];
  return [...new Set([...tokens, ...devices])];
}

/** Chat connections from channel data (Slack, Teams, Discord): `connections[]` objects. */
export function chatConnections(data: Record<string, unknown> | null): Record<string, unknown>[] {
  if (!data || !Array.isArray(data.connections)) return [];
  return data.connections.filter((c): c is Record<string, unknown> => !!c && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length > 0);
}

export function channelAddress(
  type: string,
  recipient: Record<string, unknown> | undefined,
  channelData: Record<string, unknown> | null,
  toNumber?: string | null,
): ChannelAddress {
  switch (type) {
    case 'email':
      return nonEmpty(recipient?.email) ? { ok: true, email: recipient.email.trim() } : { ok: false, reason: 'recipient has no email' };
    case 'sms': {
      const phone = nonEmpty(toNumber) ? toNumber.trim() : nonEmpty(recipient?.phone_number) ? recipient.phone_number.trim() : null;
      return phone ? { ok: true, phone } : { ok: false, reason: 'recipient has no phone_number' };
    }
    case 'push': {
      const tokens = pushTokens(channelData);
      return tokens.length > 0 ? { ok: true, tokens } : { ok: false, reason: 'recipient has no push tokens in its channel data for this channel' };
    }
    case 'chat': {
      const connections = chatConnections(channelData);
      return connections.length > 0 ? { ok: true, connections } : { ok: false, reason: 'recipient has no chat connections in its channel data for this channel' };
    }
    default:
      return { ok: true };
  }
}
