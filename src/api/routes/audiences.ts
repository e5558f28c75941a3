import { Type } from '@sinclair/typebox';
import { errors } from '../../domain/errors.js';
import { USERS, type EntityKey } from '../../domain/recipients.js';
import { addAudienceMembers, audienceExists, ensureAudience, listAudienceMembers, removeAudienceMembers } from '../../store/audiences.js';
import { ensureEntities, identifyInline } from '../../store/entities.js';
import { CursorQuery, Id, pageInfo } from '../schemas/common.js';
import { Nullable } from '../schemas/identify.js';
import { InlineIdentifyUser } from '../schemas/inline-user.js';
import { serializeAudienceMember } from '../serializers/audiences.js';
import type { ApiDeps, App } from '../types.js';

/*
 * Audience members (knock-api.md §2.6). Knock creates audiences in its dashboard and refuses
 * members for one that does not exist unless `create_audience=true`; Herald has no dashboard,
 * so adding members creates the audience unless the caller explicitly sends
 * `create_audience=false`, which keeps Knock's refusal (404) for callers who rely on it.
 * Listing or removing from an audience that was never created is a 404.
 */

const Params = Type.Object({ key: Type.String({ minLength: 1 }) });
const Member = Type.Object({
  user: InlineIdentifyUser,
  tenant: Type.Optional(Nullable(Id)),
});
const MembersBody = Type.Object({ members: Type.Array(Member, { minItems: 1, maxItems: 1000, description: 'Up to 1,000 members' }) });
const AddQuery = Type.Object({ create_audience: Type.Optional(Type.Boolean()) });

/** Fields of an inline user other than its id: only then is it identified (else just ensured). */
const hasProperties = (user: Record<string, unknown>) => Object.keys(user).some((k) => k !== 'id');

export function registerAudienceRoutes(app: App, deps: ApiDeps): void {
  const tags = ['audiences'];
  const missing = (key: string) => errors.notFound(`Audience "${key}"`);

  app.post('/v1/audiences/:key/members', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Add members (inline users are identified); creates the audience unless create_audience=false', params: Params, querystring: AddQuery, body: MembersBody },
  }, async (request, reply) => {
    const { key } = request.params;
    const now = deps.clock.now();
    // Users in id order, so two concurrent adds lock the same rows in the same order.
    const members = [...request.body.members].sort((a, b) => (a.user.id < b.user.id ? -1 : a.user.id > b.user.id ? 1 : 0));
    await deps.db.transaction(async (tx) => {
      if (request.query.create_audience === false) {
        if (!(await audienceExists(tx, key))) throw missing(key);
      } else {
        await ensureAudience(tx, key, now);
      }
      const plain: EntityKey[] = [];
      for (const { user } of members) {
        const userKey = { collection: USERS, id: user.id };
        if (hasProperties(user)) await identifyInline(tx, userKey, user, now);
        else plain.push(userKey);
      }
      await ensureEntities(tx, plain, now);
      await addAudienceMembers(tx, key, members.map((m) => ({ userId: m.user.id, tenant: m.tenant ?? null })), now);
    });
    return reply.code(204).send();
  });

  app.get('/v1/audiences/:key/members', {
    config: { auth: 'secret' },
    schema: { tags, summary: "List an audience's members, oldest first, with their users", params: Params, querystring: CursorQuery },
  }, async (request) => {
    const { key } = request.params;
    const pageSize = request.query.page_size ?? 50;
    const page = await deps.db.transaction(async (tx) => {
      if (!(await audienceExists(tx, key))) throw missing(key);
      return listAudienceMembers(tx, key, { after: request.query.after, before: request.query.before, pageSize });
    });
    return { entries: page.entries.map(serializeAudienceMember), page_info: pageInfo(pageSize, page.after, page.before) };
  });

  app.delete('/v1/audiences/:key/members', {
    config: { auth: 'secret' },
    schema: { tags, summary: 'Remove members (by user id and tenant); unknown members are ignored', params: Params, body: MembersBody },
  }, async (request, reply) => {
    const { key } = request.params;
    await deps.db.transaction(async (tx) => {
      if (!(await audienceExists(tx, key))) throw missing(key);
      await removeAudienceMembers(tx, key, request.body.members.map((m) => ({ userId: m.user.id, tenant: m.tenant ?? null })));
    });
    return reply.code(204).send();
  });
}
