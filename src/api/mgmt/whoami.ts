import { Type } from '@sinclair/typebox';
import type { App } from '../types.js';

/**
 * Knock's plan features, answered for a self-hosted install. knock-cli reads
 * `translations_allowed` (it skips translations when false): Herald has them (template-routes.ts).
 */
const ACCOUNT_FEATURES = {
  batch_items_render_limit_allowed: false,
  custom_branding_allowed: true,
  data_retention_days: null,
  data_warehouse_extension_allowed: false,
  datadog_extension_allowed: false,
  dsync_allowed: false,
  guides_monthly_notified_recipients_limit: null,
  guides_per_tenant_scope_allowed: false,
  heap_extension_allowed: false,
  knock_branding_required: false,
  litmus_email_preview_allowed: false,
  message_sent_limit: null,
  new_relic_extension_allowed: false,
  permission_groups_allowed: false,
  segment_extension_allowed: false,
  self_serve_allowed: true,
  sso_allowed: false,
  tenant_preferences_allowed: false,
  translations_allowed: true,
} as const;

const WhoamiResponse = Type.Object({
  account_name: Type.String(),
  account_slug: Type.String(),
  account_features: Type.Object({}, { additionalProperties: true }),
  service_token_name: Type.Union([Type.String(), Type.Null()]),
  type: Type.Union([Type.Literal('service_token'), Type.Literal('oauth_context')]),
  user_email: Type.Null(),
  user_id: Type.Null(),
  user_name: Type.Null(),
});

export function registerWhoamiRoute(app: App): void {
  app.get('/v1/whoami', {
    config: { auth: 'service_token' },
    schema: { tags: ['management'], summary: 'Verify the service token (Knock mgmt: getWhoami)', response: { 200: WhoamiResponse } },
  }, async (request) => ({
    // One Herald is one account.
    account_name: 'Herald',
    account_slug: 'herald',
    account_features: ACCOUNT_FEATURES,
    service_token_name: request.auth?.kind === 'service_token' ? request.auth.name : null,
    type: 'service_token' as const,
    user_email: null,
    user_id: null,
    user_name: null,
  }));
}
