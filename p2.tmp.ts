import pino from 'pino';
import { createHerald } from './src/herald.js';
import { openPglite } from './src/store/pglite-adapter.js';
import type { Db, Queryable } from './src/store/db.js';
import { writeWorkflowsDir } from './test/support/harness.js';
const raw = await openPglite();
const stats = new Map<string, { n: number; ms: number }>();
const wrapQ = (q: Queryable): Queryable => ({
  async query(sql, params) { const t = performance.now(); try { return await q.query(sql, params); } finally { const k = sql.replace(/\s+/g, ' ').slice(0, 70); const s = stats.get(k) ?? { n: 0, ms: 0 }; s.n++; s.ms += performance.now() - t; stats.set(k, s); } },
  exec: (s) => q.exec(s),
});
const db: Db = { ...raw, ...wrapQ(raw), transaction: (fn) => { const t = performance.now(); return raw.transaction((tx) => fn(wrapQ(tx))).finally(() => { const s = stats.get('TX TOTAL') ?? { n: 0, ms: 0 }; s.n++; s.ms += performance.now() - t; stats.set('TX TOTAL', s); }); } };
const hello = { key: 'hello', name: 'Hello', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi' } }] };
const h = await createHerald({ db, logger: pino({ level: 'silent' }), workflowsDir: writeWorkflowsDir([hello]) });
stats.clear();
let t0 = performance.now();
for (let i = 0; i < 500; i++) await h.engine.trigger('hello', { recipients: ['ada'], data: { n: 1 } }, {});
console.log('trigger', ((performance.now() - t0) / 500).toFixed(2));
for (const [k, v] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) console.log(v.n, (v.ms / v.n).toFixed(3), k);
stats.clear();
t0 = performance.now();
const n = await h.worker.drain();
console.log('drain per run', ((performance.now() - t0) / n).toFixed(2));
for (const [k, v] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) console.log(v.n, (v.ms / v.n).toFixed(3), k);
await h.close(); await raw.close();
