/**
 * Entry of a render process (render-pool.ts): renders the fields of one request at a time with
 * the locked-down Liquid environment and answers with the texts or the errors. The pool kills
 * it when a render overruns; its heap limit ends it (not Herald) when a render exhausts memory.
 */
import { renderJobs, type RenderJob } from './liquid-environment.js';

export interface RenderRequest {
  id: number;
  jobs: RenderJob[];
  scope: object;
}

export interface RenderReply {
  id: number;
  results: ReturnType<typeof renderJobs>;
}

/** Sent once, when the process has loaded and can render: its start-up is not a render's time. */
export interface ReadyReply { ready: true }

process.on('message', (req: RenderRequest) => {
  process.send!({ id: req.id, results: renderJobs(req.jobs, req.scope) } satisfies RenderReply);
});
process.send!({ ready: true } satisfies ReadyReply);
// Herald went away (or closed the pool): nothing is left to render for.
process.on('disconnect', () => process.exit(0));
