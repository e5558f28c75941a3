/**
 * Entry of a render process (render-pool.ts): renders the fields of one request at a time with
 * the locked-down Liquid environment and answers with the texts or the errors. The pool kills
 * it when a render overruns; its heap limit ends it (not Herald) when a render exhausts memory.
 */
import { contentBlobs, renderJobs, resetContentBlobs, type RenderContent, type RenderJob } from './liquid-environment.js';

/**
 * One message to a render process: the renders of several callers (each its jobs and its own
 * scope), sent together so that many runs cost one round trip (render-pool.ts).
 */
export interface RenderRequest {
  id: number;
  groups: { jobs: RenderJob[]; scope: object; content?: RenderContent | null }[];
  /** Partial and translation texts by sha that this process does not hold yet. */
  blobs?: Record<string, string>;
  /** Forget every text held so far first (the pool's record of them was full). */
  reset?: boolean;
}

export interface RenderReply {
  id: number;
  results: ReturnType<typeof renderJobs>[];
}

/** Sent once, when the process has loaded and can render: its start-up is not a render's time. */
export interface ReadyReply { ready: true }

process.on('message', (req: RenderRequest) => {
  if (req.reset) resetContentBlobs();
  for (const [sha, text] of Object.entries(req.blobs ?? {})) contentBlobs.set(sha, text);
  // Each group has its own time budget (renderJobs), as if it had come alone.
  process.send!({ id: req.id, results: req.groups.map((g) => renderJobs(g.jobs, g.scope, g.content ?? null)) } satisfies RenderReply);
});
process.send!({ ready: true } satisfies ReadyReply);
// Herald went away (or closed the pool): nothing is left to render for.
process.on('disconnect', () => process.exit(0));
