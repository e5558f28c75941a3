import { Type } from '@sinclair/typebox';
import { Id } from '../schemas/common.js';
import { AnyObject, Nullable } from '../schemas/identify.js';
import { InlineIdentifyUser } from '../schemas/inline-user.js';
import type { ApiDeps, App } from '../types.js';
import { acceptBulkOperation } from './bulk-operations.js';

/*
 * users.bulk.* (knock-api.md §2.2): each answers a queued BulkOperation at once; the items are
 * applied in the background (src/store/bulk/users.ts) and progress is polled at progress_path.
 */

const MAX = 1000;
const UserIds = Type.Array(Id, { maxItems: MAX, description: 'Up to 1,000 user ids' });
const Setting = Type.Unsafe<boolean | Record<string, unknown> | null>({ type: ['boolean', 'object', 'null'] });

const IdentifyBody = Type.Object({ users: Type.Array(InlineIdentifyUser, { maxItems: MAX }) });
const DeleteBody = Type.Object({ user_ids: UserIds });
const PreferencesBody = Type.Object({
  user_ids: UserIds,
  preferences: Type.Object({
    id: Type.Optional(Type.String({ ...Id, description: 'The set to overwrite: "default" (the default) or a tenant id' })),
    workflows: Type.Optional(Nullable(AnyObject)),
    categories: Type.Optional(Nullable(AnyObject)),
    channel_types: Type.Optional(Nullable(AnyObject)),
    channels: Type.Optional(Nullable(AnyObject)),
    commercial_subscribed: Type.Optional(Setting),
  }, { additionalProperties: true }),
});

export function registerUserBulkRoutes(app: App, deps: ApiDeps): void {
  const tags = ['users', 'bulk operations'];

  app.post('/v1/users/bulk/identify', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Identify up to 1,000 users (merge upsert each); answers a queued BulkOperation', body: IdentifyBody },
  }, async (request) => acceptBulkOperation(deps, request, 'users.bulk_identify', request.body.users));

  app.post('/v1/users/bulk/delete', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Delete up to 1,000 users; answers a queued BulkOperation', body: DeleteBody },
  }, async (request) => acceptBulkOperation(deps, request, 'users.bulk_delete', request.body.user_ids));

  // Always a replace, as Knock documents: `__persistence_strategy__` is not honoured here.
  app.post('/v1/users/bulk/preferences', {
    config: { auth: 'secret' },
    schema: { tags, summary: "Overwrite one preference set of up to 1,000 users; answers a queued BulkOperation", body: PreferencesBody },
  }, async (request) => {
    const { id, __persistence_strategy__: _s, __typename: _t, ...preferences } = request.body.preferences as Record<string, unknown>;
    return acceptBulkOperation(deps, request, 'users.bulk_set_preferences', request.body.user_ids, {
      set_id: typeof id === 'string' ? id : 'default',
      preferences,
    });
  });
}
