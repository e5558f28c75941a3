/**
 * Channels for the dashboard: each with its provider and fallbacks, settings shown as the
 * management API shows them (booleans, numbers and a short list of non-secret strings; every
 * other value masked), and each provider's circuit state.
 */
import { CIRCUIT_OPEN_MS } from '../../queue/delivery-task.js';
import { channelCircuits, channelFallbacks } from '../../store/dashboard-stats.js';
import { listChannelsWithSettings } from '../../store/channels.js';
import { maskProviderSettings } from '../../workflows/mgmt-channels.js';
import type { ApiDeps, App } from '../types.js';
import { dashboardContext } from './context.js';
import { ChannelList } from './schemas.js';

export function registerChannelRoutes(app: App, deps: ApiDeps): void {
  const contextOf = dashboardContext(deps);

  app.get('/dashboard/api/channels', {
    config: { auth: 'secret', dashboard: true },
    schema: { tags: ['dashboard'], response: { 200: ChannelList } },
  }, async (request) => {
    const { db } = await contextOf(request);
    const now = deps.clock.now().getTime();
    const [channels, circuits, fallbacksOf] = await Promise.all([listChannelsWithSettings(db, { limit: 1000 }), channelCircuits(db), channelFallbacks(db)]);
    return {
      items: channels.map((c) => {
        const chain = fallbacksOf.get(c.id) ?? [];
        const providers = [c.provider, ...chain.map((f) => String(f.provider ?? ''))];
        return {
          id: c.id,
          key: c.key,
          name: c.name ?? null,
          type: c.type,
          provider: c.provider,
          settings: maskProviderSettings(c.settings ?? {}),
          fallbacks: chain.map((f) => ({ provider: String(f.provider ?? ''), settings: maskProviderSettings((f.settings ?? {}) as Record<string, unknown>) })),
          circuits: providers.map((provider, index) => {
            const row = circuits.find((r) => r.channel_id === c.id && r.provider_index === index);
            const openUntil = row?.open_until ? new Date(row.open_until).getTime() : null;
            const state = openUntil === null ? 'closed' as const : openUntil > now ? 'open' as const : 'half_open' as const;
            return { provider: row?.provider ?? provider, state, ...(openUntil !== null ? { opened_at: new Date(openUntil - CIRCUIT_OPEN_MS).toISOString() } : {}), consecutive_failures: row?.consecutive_failures ?? 0 };
          }),
        };
      }),
    };
  });
}
