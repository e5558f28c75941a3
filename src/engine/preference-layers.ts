import type { PreferenceLayer } from '../domain/preferences.js';

export type { PreferenceLayer };

/**
 * The preference sets that apply to a run, highest precedence first (knock-api.md §5.11):
 * with a tenant, the recipient's set for that tenant over the tenant's default set
 * (`tenant.settings.preference_set`); without one — or when neither has tenant-specific
 * preferences — the recipient's `default` set.
 */
export function preferenceLayers(
  recipientSets: Map<string, Record<string, unknown>> | undefined,
  tenantId: string | null,
  tenant: Record<string, unknown> | null,
): PreferenceLayer[] {
  const settings = tenant?.settings as { preference_set?: Record<string, unknown> } | undefined;
  const tenantDefault = settings?.preference_set ?? null;
  const recipientTenantSet = tenantId ? recipientSets?.get(tenantId) : undefined;
  if (tenantId && (recipientTenantSet || tenantDefault)) {
    return [
      { name: `recipient's "${tenantId}" preference set`, set: recipientTenantSet },
      { name: `tenant "${tenantId}" default preferences`, set: tenantDefault },
    ];
  }
  return [{ name: 'recipient\'s "default" preference set', set: recipientSets?.get('default') }];
}
