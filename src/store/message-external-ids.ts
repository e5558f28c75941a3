/**
 * Provider ids of messages (migration 031): what a provider's status webhook finds a message by,
 * kept out of `messages`' indexes so a delivery's settle updates the message in place. Written
 * by the settle (deliveries.ts), read by message-delivery-status.ts.
 */

/**
 * A CTE body deleting the provider ids of the messages a `DELETE FROM messages` CTE named
 * `deleted` removed; that CTE must return `id, provider, external_id`. No foreign key cascades
 * from messages (migrations/015), so every statement deleting messages includes this.
 */
export function deleteExternalIdsSql(deleted: string): string {
  return `DELETE FROM message_external_ids x USING ${deleted} d
           WHERE x.provider = d.provider AND x.external_id = d.external_id AND x.message_id = d.id`;
}
