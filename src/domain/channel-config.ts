/**
 * Channels configured by the operator (config file `channels` or `HERALD_CHANNELS`). Provider
 * settings may hold secrets (SMTP password, API keys): they come only from configuration, are
 * stored for the delivery workers of every process, and are never returned by the API.
 */
export const CHANNEL_TYPES = ['email', 'sms', 'push', 'chat', 'http', 'in_app_feed'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export interface ChannelConfig {
  key: string;
  type: ChannelType;
  provider: string;
  name?: string;
  settings?: Record<string, unknown>;
}

/** Channel types whose messages a delivery job sends (in-app feed messages are delivered at once). */
export function needsDelivery(type: string): boolean {
  return type === 'email';
}

/** Validates a `channels` list, naming the offending entry and field. */
export function parseChannelConfigs(value: unknown, source: string): ChannelConfig[] {
  if (!Array.isArray(value)) throw new Error(`${source} must be a JSON array of channels`);
  const seen = new Set<string>();
  return value.map((raw, i) => {
    const at = `${source}[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${at} must be an object`);
    const c = raw as Record<string, unknown>;
    if (typeof c.key !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/i.test(c.key)) throw new Error(`${at}.key must be a non-empty key of letters, digits, "-" and "_"`);
    if (seen.has(c.key)) throw new Error(`${at}.key "${c.key}" is configured twice`);
    seen.add(c.key);
    if (!CHANNEL_TYPES.includes(c.type as ChannelType)) throw new Error(`${at}.type must be one of ${CHANNEL_TYPES.join(', ')}`);
    if (typeof c.provider !== 'string' || c.provider === '') throw new Error(`${at}.provider must be a non-empty string`);
    if (c.name !== undefined && typeof c.name !== 'string') throw new Error(`${at}.name must be a string`);
    if (c.settings !== undefined && (typeof c.settings !== 'object' || c.settings === null || Array.isArray(c.settings))) throw new Error(`${at}.settings must be an object`);
    return { key: c.key, type: c.type as ChannelType, provider: c.provider, name: c.name as string | undefined, settings: c.settings as Record<string, unknown> | undefined };
  });
}
