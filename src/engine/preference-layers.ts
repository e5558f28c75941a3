import type { PreferenceLayer } from '../domain/preferences.js';

export type { PreferenceLayer };

/** The layer names, as reasons and explanations print them. */
export const layerNames = {
  recipientSet: (setId: string) => `recipient's "${setId}" preference set`,
  tenantDefault: (tenantId: string) => `tenant "${tenantId}" default preferences`,
  environmentDefault: 'environment default preferences',
} as const;

/**
 * The preference sets that apply to a run, highest precedence first (knock-api.md §5.11):
 * with a tenant, the recipient's set for that tenant over the tenant's default set
 * (`tenant.settings.preference_set`); without one — or when neither has tenant-specific
 * preferences — the recipient's `default` set. The environment default set is always the last
 * (lowest) layer. Absent sets are kept as `set: null` so an explanation lists every layer consulted.
 */
export function preferenceLayers(
  recipientSets: ReadonlyMap<string, Record<string, unknown>> | undefined,
  tenantId: string | null,
  tenant: Record<string, unknown> | null,
  environmentDefault: Record<string, unknown> | null = null,
): PreferenceLayer[] {
  const environment: PreferenceLayer = { name: layerNames.environmentDefault, set: environmentDefault };
  const settings = tenant?.settings as { preference_set?: Record<string, unknown> | null } | null | undefined;
  const tenantDefault = settings?.preference_set ?? null;
  const recipientTenantSet = tenantId ? recipientSets?.get(tenantId) ?? null : null;
  if (tenantId && (recipientTenantSet || tenantDefault)) {
    return [
      { name: layerNames.recipientSet(tenantId), set: recipientTenantSet },
      { name: layerNames.tenantDefault(tenantId), set: tenantDefault },
      environment,
    ];
  }
  return [{ name: layerNames.recipientSet('default'), set: recipientSets?.get('default') ?? null }, environment];
}
