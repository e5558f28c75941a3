import type { SubscriptionRow } from '../../store/subscriptions.js';
import { serializeEntity, serializeObject } from './entities.js';

/** Knock's Subscription: the full object and recipient resources plus the properties. */
export function serializeSubscription(s: SubscriptionRow) {
  return {
    __typename: 'Subscription',
    object: serializeObject(s.object),
    recipient: serializeEntity(s.recipient),
    properties: s.properties,
    inserted_at: new Date(s.inserted_at).toISOString(),
    updated_at: new Date(s.updated_at).toISOString(),
  };
}
