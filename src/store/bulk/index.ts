import { deleteObjects, setObjects } from './objects.js';
import { addObjectSubscriptions, deleteObjectSubscriptions } from './subscriptions.js';
import { deleteTenants, setTenants } from './tenants.js';
import { createScheduleItems } from './schedules.js';
import { deleteUsers, identifyUsers, setUserPreferences } from './users.js';
import type { BulkHandlers } from './types.js';

/**
 * Every kind of bulk operation Herald runs: BulkOperation.name → the handler applying one item.
 * To add one, write a `BulkHandler` and add a line here (see /work/notes/bulk-handlers.md);
 * routes enqueue by these names, so the type below keeps them in step.
 */
export const bulkHandlers = {
  'users.bulk_identify': identifyUsers,
  'users.bulk_delete': deleteUsers,
  'users.bulk_set_preferences': setUserPreferences,
  'objects.bulk_set': setObjects,
  'objects.bulk_delete': deleteObjects,
  'objects.bulk_add_subscriptions': addObjectSubscriptions,
  'objects.bulk_delete_subscriptions': deleteObjectSubscriptions,
  'tenants.bulk_set': setTenants,
  'tenants.bulk_delete': deleteTenants,
  'schedules.bulk_create': createScheduleItems,
} satisfies BulkHandlers;

export type BulkOperationName = keyof typeof bulkHandlers;
