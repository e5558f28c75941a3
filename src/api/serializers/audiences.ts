import type { AudienceMemberRow } from '../../store/audiences.js';
import { serializeUser } from './entities.js';

/** Knock's AudienceMember: the full User, its id, the membership's tenant (or null) and when it was added. */
export function serializeAudienceMember(row: AudienceMemberRow) {
  return {
    __typename: 'AudienceMember',
    user: serializeUser(row.user),
    user_id: row.user_id,
    tenant: row.tenant,
    added_at: new Date(row.added_at).toISOString(),
  };
}
