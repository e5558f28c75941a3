/**
 * What the engine asks of email tracking when it creates an email message (no imports: the
 * engine depends on this shape only; email-tracking.ts implements it).
 */
export interface TrackingFlags {
  /** Rewrite links through the click redirect. */
  links: boolean;
  /** Add the open pixel. */
  opens: boolean;
}

export interface EmailTracking {
  /** The message's rendered HTML with its links rewritten and/or the open pixel added, per `flags`. */
  apply(html: string, message: { id: string }, flags: TrackingFlags): Promise<string>;
}
