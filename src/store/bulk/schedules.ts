import { USERS, toEntityKey, type RecipientRequest } from '../../domain/recipients.js';
import { createSchedules, type CreateSchedulesInput } from '../schedule-writes.js';
import type { BulkHandler } from './types.js';

/** One schedule of `schedules.bulk.create` (knock-api.md §2.6): one recipient per item. */
export type BulkScheduleItem = Omit<CreateSchedulesInput, 'recipients'> & { recipient: RecipientRequest };

/**
 * Creates each item's schedule exactly as `POST /v1/schedules` would for one recipient; an item
 * that fails a check (unknown workflow, a rule that never occurs, a bad time zone) is reported
 * in error_items and the others are created.
 */
export const createScheduleItems: BulkHandler<BulkScheduleItem> = {
  async apply(tx, { recipient, ...schedule }, { now }) {
    await createSchedules(tx, { ...schedule, recipients: [recipient] }, now);
  },
  describe: (item) => {
    const key = toEntityKey(item.recipient);
    return key.collection === USERS ? { id: key.id } : key;
  },
};
