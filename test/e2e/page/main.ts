/**
 * A minimal in-app feed page built on Knock's own browser client, `@knocklabs/client`, exactly as
 * an application would use it; only `host` points at Herald. Everything it needs comes from the
 * query string (`host`, `key`, `user`, `token`, `channel`), so one bundle serves every test run.
 *
 * What the end-to-end test reads off the DOM:
 * - `#badge[data-count]`: the feed's `unread_count`;
 * - `#feed li[data-id][data-read]`: one row per item, with a "Mark as read" button;
 * - `body[data-realtime="joined"]`: the server accepted this feed's channel join, so a message
 *   created from now on is pushed over the socket (the test waits for it before triggering).
 */
import KnockExport, { type FeedItem, type FeedStoreState } from '@knocklabs/client';

// The ESM build default-exports the class while the typings are CommonJS-shaped (see
// test/api/browser-client.test.ts); take the class whichever way it arrives.
const Knock = ((KnockExport as { default?: unknown }).default ?? KnockExport) as typeof KnockExport.default;

const params = new URLSearchParams(location.search);
const need = (name: string): string => {
  const value = params.get(name);
  if (!value) throw new Error(`missing ?${name}=`);
  return value;
};
const host = need('host');
const channelId = need('channel');
const userId = need('user');

const knock = new Knock(need('key'), { host });
knock.authenticate(userId, params.get('token') ?? undefined);

// The feed's topic is `feeds:<channel>:<user>`; its ok reply means the server watches it.
const topic = `feeds:${channelId}:${userId}`;
const realtime = document.querySelector<HTMLElement>('#realtime')!;
const socket = knock.client().socket;
socket?.onMessage((message) => {
  const { topic: t, event, payload } = message as { topic: string; event: string; payload: { status?: string } };
  if (t === topic && event === 'phx_reply' && payload.status === 'ok') {
    document.body.dataset.realtime = 'joined';
    realtime.textContent = 'live';
  }
});
socket?.onClose(() => {
  document.body.dataset.realtime = 'closed';
  realtime.textContent = 'reconnecting';
});

const feed = knock.feeds.initialize(channelId, { archived: 'exclude' });
feed.listenForUpdates();

const badge = document.querySelector<HTMLElement>('#badge')!;
const list = document.querySelector<HTMLUListElement>('#feed')!;

/** The rendered markdown of the item's body block (Herald renders it server-side, as Knock does). */
function bodyHtml(item: FeedItem): string {
  const block = item.blocks.find((b) => b.name === 'body') ?? item.blocks[0];
  return block && 'rendered' in block ? block.rendered : '';
}

function row(item: FeedItem): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.id = item.id;
  li.dataset.read = String(item.read_at !== null);
  const body = document.createElement('div');
  body.className = 'body';
  body.innerHTML = bodyHtml(item);
  const button = document.createElement('button');
  button.textContent = 'Mark as read';
  button.disabled = item.read_at !== null;
  button.addEventListener('click', () => {
    feed.markAsRead(item).catch((err: unknown) => showError(err));
  });
  li.append(body, button);
  return li;
}

function render(state: FeedStoreState): void {
  const unread = state.metadata.unread_count;
  badge.textContent = String(unread);
  badge.dataset.count = String(unread);
  list.replaceChildren(...state.items.map(row));
}

function showError(err: unknown): void {
  const p = document.createElement('p');
  p.id = 'error';
  p.textContent = String(err);
  document.body.append(p);
  console.error(err);
}

feed.store.subscribe(render);
feed.fetch().catch(showError);
