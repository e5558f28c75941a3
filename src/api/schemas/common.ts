import { Type, type Static } from '@sinclair/typebox';

/** Cursor pagination parameters shared by every list endpoint (page_size 1–50, default 50). */
export const CursorQuery = Type.Object({
  after: Type.Optional(Type.String()),
  before: Type.Optional(Type.String()),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 50 })),
});
export type CursorQuery = Static<typeof CursorQuery>;

export const ObjectReference = Type.Object({
  id: Type.String({ minLength: 1 }),
  collection: Type.String({ minLength: 1 }),
});

/** A user id, or `{id, collection}` for an object. */
export const RecipientReference = Type.Union([Type.String({ minLength: 1 }), ObjectReference]);
export type RecipientReference = Static<typeof RecipientReference>;

/** A user id, an inline user (`{id, ...props}`) or an inline object (`{id, collection, ...props}`). */
export const RecipientRequest = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: true }),
]);
export type RecipientRequest = Static<typeof RecipientRequest>;

export const TenantRequest = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: true }),
]);

export function pageInfo(pageSize: number, after: string | null, before: string | null) {
  return { __typename: 'PageInfo', after, before, page_size: pageSize };
}
