import { Type, type Static } from '@sinclair/typebox';
import { ID_MAX_LENGTH, ID_PATTERN } from '../../domain/limits.js';

/**
 * Every id or key a caller chooses (users, objects, collections, tenants, channels, workflows,
 * cancellation keys): the same limit everywhere, so whatever a trigger creates can be read and
 * deleted through its path. Path parameters get the same check in plugins/input-checks.ts.
 */
export const Id = Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH, pattern: ID_PATTERN });

/** Cursor pagination parameters shared by every list endpoint (page_size 1–50, default 50). */
export const CursorQuery = Type.Object({
  after: Type.Optional(Type.String()),
  before: Type.Optional(Type.String()),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 50 })),
});
export type CursorQuery = Static<typeof CursorQuery>;

export const ObjectReference = Type.Object({
  id: Id,
  collection: Id,
});

/** A user id, or `{id, collection}` for an object. */
export const RecipientReference = Type.Union([Id, ObjectReference]);
export type RecipientReference = Static<typeof RecipientReference>;

/** A user id, an inline user (`{id, ...props}`) or an inline object (`{id, collection, ...props}`). */
export const RecipientRequest = Type.Union([
  Id,
  Type.Object({ id: Id, collection: Type.Optional(Id) }, { additionalProperties: true }),
]);
export type RecipientRequest = Static<typeof RecipientRequest>;

export const TenantRequest = Type.Union([
  Id,
  Type.Object({ id: Id }, { additionalProperties: true }),
]);

export function pageInfo(pageSize: number, after: string | null, before: string | null) {
  return { __typename: 'PageInfo', after, before, page_size: pageSize };
}
