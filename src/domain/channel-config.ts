/**
 * Channels configured by the operator (config file `channels` or `HERALD_CHANNELS`). Provider
 * settings may hold secrets (SMTP password, API keys): they come only from configuration, are
 * stored for the delivery workers of every process, and are never returned by the API.
 */
export const CHANNEL_TYPES = ['email', 'sms', 'push', 'chat', 'http', 'in_app_feed'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export interface ProviderConfig {
  provider: string;
  settings?: Record<string, unknown>;
}

export interface ChannelConfig {
  key: string;
  type: ChannelType;
  provider: string;
  name?: string;
  settings?: Record<string, unknown>;
  /** Providers tried in order after `provider` when it fails retryably or its circuit is open. */
  fallbacks?: ProviderConfig[];
}

/** A channel group: an ordered list of channels; `all` sends on each the recipient can receive, `first` on the first. */
export interface ChannelGroupConfig {
  key: string;
  channel_type?: ChannelType;
  mode: 'all' | 'first';
  channels: string[];
}

/** Channel types whose messages a delivery job sends (in-app feed messages are delivered at once). */
export function needsDelivery(type: string): boolean {
  return type !== 'in_app_feed';
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
    if (!isObject(c.settings, true)) throw new Error(`${at}.settings must be an object`);
    checkTrackingSettings(c.settings as Record<string, unknown> | undefined, c.type as ChannelType, at);
    if (c.fallbacks !== undefined && !Array.isArray(c.fallbacks)) throw new Error(`${at}.fallbacks must be a list of {provider, settings}`);
    const fallbacks = ((c.fallbacks ?? []) as unknown[]).map((f, j) => {
      const fb = f as Record<string, unknown>;
      if (!isObject(f, false) || typeof fb.provider !== 'string' || fb.provider === '') throw new Error(`${at}.fallbacks[${j}].provider must be a non-empty string`);
      if (!isObject(fb.settings, true)) throw new Error(`${at}.fallbacks[${j}].settings must be an object`);
      return { provider: fb.provider, settings: fb.settings as Record<string, unknown> | undefined };
    });
    return { key: c.key, type: c.type as ChannelType, provider: c.provider, name: c.name as string | undefined, settings: c.settings as Record<string, unknown> | undefined, fallbacks };
  });
}

/** Knock's tracking settings of a channel (README "Link and open tracking"). */
export const TRACKING_SETTINGS = ['link_tracking', 'open_tracking'] as const;

/**
 * `settings.link_tracking` / `settings.open_tracking`: booleans, off when absent; Herald tracks
 * email only, so on another channel type they are refused rather than silently ignored.
 */
function checkTrackingSettings(settings: Record<string, unknown> | undefined, type: ChannelType, at: string): void {
  for (const name of TRACKING_SETTINGS) {
    const v = settings?.[name];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new Error(`${at}.settings.${name} must be true or false`);
    if (v && type !== 'email') throw new Error(`${at}.settings.${name}: Herald tracks links and opens on email channels only`);
  }
}

function isObject(v: unknown, optional: boolean): boolean {
  if (v === undefined) return optional;
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a `channel_groups` list against the configured channel keys. */
export function parseChannelGroupConfigs(value: unknown, source: string): ChannelGroupConfig[] {
  if (!Array.isArray(value)) throw new Error(`${source} must be a JSON array of channel groups`);
  const seen = new Set<string>();
  return value.map((raw, i) => {
    const at = `${source}[${i}]`;
    if (!isObject(raw, false)) throw new Error(`${at} must be an object`);
    const g = raw as Record<string, unknown>;
    if (typeof g.key !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/i.test(g.key)) throw new Error(`${at}.key must be a non-empty key of letters, digits, "-" and "_"`);
    if (seen.has(g.key)) throw new Error(`${at}.key "${g.key}" is configured twice`);
    seen.add(g.key);
    if (!Array.isArray(g.channels) || g.channels.length === 0 || !g.channels.every((k) => typeof k === 'string' && k !== '')) throw new Error(`${at}.channels must be a non-empty list of channel keys`);
    if (g.mode !== undefined && g.mode !== 'all' && g.mode !== 'first') throw new Error(`${at}.mode must be "all" or "first"`);
    if (g.channel_type !== undefined && !CHANNEL_TYPES.includes(g.channel_type as ChannelType)) throw new Error(`${at}.channel_type must be one of ${CHANNEL_TYPES.join(', ')}`);
    return { key: g.key, channel_type: g.channel_type as ChannelType | undefined, mode: (g.mode as 'all' | 'first' | undefined) ?? 'all', channels: g.channels as string[] };
  });
}

export interface EmailLayoutConfig {
  key: string;
  /** HTML around the rendered html_body; `{{ content }}` is where it goes (Liquid, with the step's scope). */
  html_layout?: string;
  text_layout?: string;
}

export function parseEmailLayouts(value: unknown, source: string): EmailLayoutConfig[] {
  if (!Array.isArray(value)) throw new Error(`${source} must be a JSON array of layouts`);
  return value.map((raw, i) => {
    const at = `${source}[${i}]`;
    if (!isObject(raw, false)) throw new Error(`${at} must be an object`);
    const l = raw as Record<string, unknown>;
    if (typeof l.key !== 'string' || l.key === '') throw new Error(`${at}.key must be a non-empty string`);
    for (const f of ['html_layout', 'text_layout'] as const) {
      if (l[f] !== undefined && typeof l[f] !== 'string') throw new Error(`${at}.${f} must be a string`);
    }
    return { key: l.key, html_layout: l.html_layout as string | undefined, text_layout: l.text_layout as string | undefined };
  });
}
