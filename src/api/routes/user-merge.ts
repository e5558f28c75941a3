import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { mergeUsers } from '../../store/user-merge.js';
import { Id } from '../schemas/common.js';
import { serializeUser } from '../serializers/entities.js';
import type { ApiDeps, App } from '../types.js';

const Params = Type.Object({ user_id: Type.String({ minLength: 1 }) });
const Body = Type.Object({ from_user_id: Type.String({ ...Id, description: 'The user merged into user_id, then deleted' }) });

export function registerUserMergeRoute(app: App, deps: ApiDeps): void {
  app.post('/v1/users/:user_id/merge', {
    config: { auth: 'secret' },
    schema: {
      tags: ['users'],
      summary: "Merge another user into this one (its properties under this user's, channel data, preference sets, subscriptions, audience memberships, messages), then delete it",
      params: Params,
      body: Body,
    },
  }, async (request) => {
    const { user_id: userId } = request.params;
    const { from_user_id: fromId } = request.body;
    if (fromId === userId) {
      throw errors.invalidParams('A user cannot be merged into itself.', [{ field: 'from_user_id', message: 'is the same as user_id', type: 'invalid' }]);
    }
    const outcome = await deps.db.transaction((tx) => mergeUsers(tx, userId, fromId, deps.clock.now()));
    if ('missing' in outcome) throw errors.notFound(`User "${outcome.missing === 'user' ? userId : fromId}"`);
    return serializeUser(outcome.merged);
  });
}
