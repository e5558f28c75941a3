import pino from 'pino';
import { createHerald, type Herald, type HeraldOptions } from '../../src/herald.js';
import type { Db } from '../../src/store/db.js';
import { writeWorkflowsDir } from '../../test/support/harness.js';
import { defer } from './lifecycle.js';
import { warmRenderPool } from '../../src/templates/liquid.js';

export interface BenchHerald {
  herald: Herald;
  workflowsDir: string;
  /** Base URL when `listen` was asked for. */
  url: string;
}

/** A Herald on the bench's database with the given workflows, closed at exit; workers are not started. */
export async function startHerald(db: Db, workflows: Record<string, unknown>[], opts: { listen?: boolean } & Partial<HeraldOptions> = {}): Promise<BenchHerald> {
  const workflowsDir = writeWorkflowsDir(workflows);
  const { listen, ...rest } = opts;
  const herald = await createHerald({ db, logger: pino({ level: 'silent' }), workflowsDir, ...rest });
  // As `herald start` does: render processes started before the measured phase.
  warmRenderPool();
  let closed = false;
  const close = async () => { if (!closed) { closed = true; await herald.close(); } };
  defer(close);
  let url = '';
  if (listen) {
    await herald.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = herald.app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }
  return { herald, workflowsDir, url };
}

/**
 * Creates `n` runs of `workflowKey` quickly (not a measured phase): triggers of up to 1,000
 * recipients each, a few in flight. Recipients are `${prefix}${i}`.
 */
export async function enqueueRuns(herald: Herald, workflowKey: string, n: number, opts: { prefix?: string; cancellationKey?: string; perTrigger?: number; inFlight?: number } = {}): Promise<void> {
  const per = opts.perTrigger ?? 1000;
  const triggers = Math.ceil(n / per);
  let next = 0;
  await Promise.all(Array.from({ length: opts.inFlight ?? 4 }, async () => {
    while (next < triggers) {
      const t = next++;
      const recipients = Array.from({ length: Math.min(per, n - t * per) }, (_, i) => `${opts.prefix ?? 'u'}${t * per + i}`);
      await herald.engine.trigger(workflowKey, { recipients, cancellation_key: opts.cancellationKey ?? null, data: { n: t } }, {});
    }
  }));
}

/** The in-app feed step every bench workflow ends with. */
export const feedStep = { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi **{{ recipient.id }}**' } };
