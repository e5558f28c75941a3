import { USERS } from '../../domain/recipients.js';
import { deleteEntity, identifyInline } from '../entities.js';
import { writePreferenceSet } from '../preferences.js';
import type { BulkHandler } from './types.js';

/** users.bulk.identify: each item is an InlineIdentifyUserRequest, merged like PUT /v1/users/{id}. */
export const identifyUsers: BulkHandler<{ id: string } & Record<string, unknown>> = {
  async apply(tx, user, { now }) {
    await identifyInline(tx, { collection: USERS, id: user.id }, user, now);
  },
  describe: (user) => ({ id: user.id }),
};

/** users.bulk.delete: each item is a user id; a user that does not exist is not an error. */
export const deleteUsers: BulkHandler<string> = {
  async apply(tx, id) {
    await deleteEntity(tx, { collection: USERS, id });
  },
  describe: (id) => ({ id }),
};

/**
 * users.bulk.setPreferences: each item is a user id; the one preference set in the params
 * replaces that user's set with the same id (creating the user, as PUT preferences does).
 */
export const setUserPreferences: BulkHandler<string, { set_id: string; preferences: Record<string, unknown> }> = {
  async apply(tx, id, { params, now }) {
    await writePreferenceSet(tx, { collection: USERS, id }, params.set_id, params.preferences, 'replace', now);
  },
  describe: (id) => ({ id }),
};
