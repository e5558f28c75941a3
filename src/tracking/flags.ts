import type { TrackingFlags } from './port.js';

const flag = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);

/**
 * Which tracking applies to an email message: a step's `channel_overrides.link_tracking` /
 * `open_tracking` win over the channel's settings of the same names (Knock's step-level
 * overrides); both default to off, as Knock's do.
 */
export function trackingFlags(channelSettings: Record<string, unknown> | null | undefined, overrides: Record<string, unknown> | null | undefined): TrackingFlags {
  const s = channelSettings ?? {};
  const o = overrides ?? {};
  return {
    links: flag(o.link_tracking) ?? flag(s.link_tracking) ?? false,
    opens: flag(o.open_tracking) ?? flag(s.open_tracking) ?? false,
  };
}
