/**
 * The NOTIFY that announces new feed messages to every API process. checkpoint.ts sends it
 * inside the statement that inserts the messages, so it is delivered exactly when they commit
 * (and never for a rolled-back batch). One notification per (user, channel) with new messages;
 * the payload is small and names no message: listeners re-read the feed, which also covers
 * anything they missed.
 */
export const NEW_MESSAGES_CHANNEL = 'herald_new_messages';

export interface NewMessagesNotice {
  channelId: string;
  userId: string;
}

/** Parses the payload `{"c": channel id, "r": user id}`; anything else is ignored (null). */
export function parseNewMessagesNotice(payload: string): NewMessagesNotice | null {
  try {
    const v = JSON.parse(payload) as { c?: unknown; r?: unknown };
    return typeof v.c === 'string' && typeof v.r === 'string' ? { channelId: v.c, userId: v.r } : null;
  } catch {
    return null;
  }
}
