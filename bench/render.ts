/**
 * Render benchmark: in-app feed templates (body with markdown escaping, action URL, two buttons;
 * a typical run scope) rendered the way Herald renders them now — in the render process pool,
 * every field of a template in one round trip — against the way it used to: liquidjs on the
 * main thread with a parse cache. Reported: renders per second for each, their ratio, and the
 * longest event-loop stall seen during each (the price of rendering on the main thread).
 * Last: the event-loop delay (p99, max) while eight abusive templates (nested loops that use
 * their whole time budget) render, which issue 11 bounds at 100 ms p99.
 * Usage: npx tsx bench/render.ts [--renders 20000] [--in-flight 32]
 */
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Liquid, type Template } from 'liquidjs';
import { renderInAppFeed } from '../src/templates/in-app-feed.js';
import { closeRenderPool, renderString } from '../src/templates/liquid.js';

const { values } = parseArgs({ options: { renders: { type: 'string' }, 'in-flight': { type: 'string' } } });
const RENDERS = Number(values.renders ?? 20_000);
const IN_FLIGHT = Number(values['in-flight'] ?? 32);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const template = {
  markdown_body: '**{{ actor.name }}** commented on *{{ data.title }}*: {{ data.comment | truncate: 80 }}{% if data.count > 1 %} and {{ data.count | minus: 1 }} more{% endif %}',
  action_url: 'https://app.example.com/threads/{{ data.thread_id }}?user={{ recipient.id }}',
  action_buttons: [{ label: 'Reply to {{ actor.name }}', action: '/threads/{{ data.thread_id }}/reply' }, { label: 'Mute', action: '/threads/{{ data.thread_id }}/mute' }],
};
const scope = (i: number) => ({
  data: { title: `Thread ${i % 100}`, comment: 'This looks great, but could we move the launch to Thursday so the docs are ready?', count: i % 5, thread_id: `t_${i % 100}` },
  recipient: { id: `user_${i}`, name: `User ${i}`, email: `user_${i}@example.com` },
  actor: { id: 'ada', name: 'Ada Lovelace' },
  tenant: null,
  vars: {},
  workflow: { id: 'comment', key: 'comment', name: 'Comment', categories: [], cancellation_key: null },
});

/** The previous renderer: the same Liquid options on the main thread, parsed templates cached. */
function mainThreadRenderer() {
  const make = (escape: boolean) => new Liquid({ templates: {}, strictFilters: false, strictVariables: false, ownPropertyOnly: true, timezoneOffset: 0, renderLimit: 2_000, ...(escape ? { outputEscape: 'escape' as const } : {}) });
  const plain = make(false);
  const escaping = make(true);
  const cache = new Map<string, Template[]>();
  const render = (source: string, s: object, escape = false) => {
    const engine = escape ? escaping : plain;
    const key = `${escape}:${source}`;
    let parsed = cache.get(key);
    if (!parsed) cache.set(key, parsed = engine.parse(source));
    return engine.render(parsed, s) as Promise<string>;
  };
  return async (s: object) => [
    await render(template.markdown_body, s, true),
    await render(template.action_url, s),
    ...await Promise.all(template.action_buttons.flatMap((b) => [render(b.label, s), render(b.action, s)])),
  ];
}

async function measure(name: string, renderOne: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await renderOne(i); // warm up (and start the render processes)
  // The longest gap between ticks of a 5 ms timer: how long the event loop was held.
  let last = performance.now();
  let stall = 0;
  const ticker = setInterval(() => { const now = performance.now(); stall = Math.max(stall, now - last - 5); last = now; }, 5);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < RENDERS) await renderOne(next++);
  }));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(ticker);
  stall = Math.max(stall, performance.now() - last - 5);
  const rate = RENDERS / seconds;
  console.log(`${name}: ${fmt(rate)} templates/s (${RENDERS} templates of 5 fields, ${IN_FLIGHT} in flight), longest event-loop stall ${fmt(stall)} ms`);
  return rate;
}

const oldRender = mainThreadRenderer();
const before = await measure('before (main thread)', (i) => oldRender(scope(i)));
const after = await measure('after (render processes, one round trip per template)', (i) => renderInAppFeed(template, scope(i)));
console.log(`ratio after/before: ${(after / before).toFixed(2)}`);

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const abusive = '{% for i in (1..data.n) %}{% for j in (1..data.n) %}{{ i }}{% endfor %}{% endfor %}';
const started = performance.now();
const outcomes = await Promise.all(Array.from({ length: 8 }, () => renderString(abusive, { data: { n: 100_000 } }).then(() => 'rendered', (err: Error) => err.message)));
delay.disable();
console.log(`8 abusive templates: ${fmt(performance.now() - started)} ms in the pool (${outcomes[0]}); event-loop delay meanwhile p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`);
await closeRenderPool();
