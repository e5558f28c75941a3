/**
 * Recipients and actors as Knock models them: a user is named by a bare id, an object by
 * `{id, collection}`. Internally both are (collection, id) with users in '$users'.
 */
export const USERS = '$users';
export const TENANTS = '$tenants';

export type RecipientReference = string | { id: string; collection: string };
export type RecipientRequest = string | ({ id: string; collection?: string } & Record<string, unknown>);

export interface EntityKey {
  collection: string;
  id: string;
}

export function toEntityKey(ref: RecipientReference | RecipientRequest): EntityKey {
  if (typeof ref === 'string') return { collection: USERS, id: ref };
  return { collection: typeof ref.collection === 'string' ? ref.collection : USERS, id: ref.id };
}

/** The Knock-facing reference: a bare id for users, `{id, collection}` otherwise. */
export function toReference(key: EntityKey): RecipientReference {
  return key.collection === USERS ? key.id : { id: key.id, collection: key.collection };
}

export const sameEntity = (a: EntityKey, b: EntityKey) => a.collection === b.collection && a.id === b.id;
