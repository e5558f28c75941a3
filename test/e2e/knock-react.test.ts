/**
 * Proof in a real browser that Knock's own React components (`@knocklabs/react`: KnockProvider,
 * KnockFeedProvider, NotificationIconButton, NotificationFeedPopover) work against Herald. The
 * example app examples/react-inbox is bundled with Vite and opened in headless Chromium with
 * Herald's public key and a user token signed as `@knocklabs/node`'s `signUserToken` signs it
 * (Herald runs with a signing key: enhanced security). The page is served from its own origin,
 * so every call is cross-origin, as in a real application.
 *
 * What it proves: the provider identifies the user (PUT /v1/users/:id, cross-origin, with the user
 * token); the bell's badge shows the unread count; a workflow triggered on the server
 * with the Node SDK shows up in the open popover over the realtime socket, without a reload;
 * clicking a cell marks it read, its × archives it and "Mark all as read" reads the rest, in the
 * UI and in Herald (read back with the secret key); the header's filter shows unread / read items; the components log no console errors and
 * get no failed answers. Every call the components made (HTTP and socket frames) is written to
 * test-results/knock-react/calls-<engine>.json beside the screenshots.
 *
 * Needs Chromium: support/chromium.ts installs Debian's package when it is missing and the test
 * is skipped, with the reason, only where that cannot be done.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ManualClock } from '../../src/domain/clock.js';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { newSigningKeys, signUserTokenAt } from '../support/user-tokens.js';
import { channelId } from '../support/messages.js';
import { CHROMIUM_ARGS, ensureChromium } from './support/chromium.js';
import { buildAndServeReactInbox, type ReactInboxServer } from './support/react-inbox-page.js';

const shipped = {
  key: 'shipped',
  name: 'Shipped',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Order **{{ data.order }}** for {{ recipient.name }} has shipped' } }],
};

const { signingPublicKey, signingKey } = newSigningKeys();
const results = fileURLToPath(new URL('../../test-results/knock-react/', import.meta.url));
/** How long one DOM condition may take to hold (a socket push, a click's re-render). */
const UI_TIMEOUT_MS = 20_000;

const lookup = await ensureChromium();
const skipReason = 'skipReason' in lookup ? lookup.skipReason : undefined;
if (skipReason) process.stderr.write(`[e2e] browser tests skipped: ${skipReason}\n`);

/** One call the page made: an HTTP request to Herald with its answer, or a socket frame. */
type Call =
  | { kind: 'http'; method: string; path: string; query: string; body?: unknown; status?: number }
  | { kind: 'ws'; direction: 'sent' | 'received'; frame: unknown };

describe.skipIf(skipReason !== undefined)(`Knock's React components in headless Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let browser: Browser;
  let inbox: ReactInboxServer;

  beforeAll(async () => {
    mkdirSync(results, { recursive: true });
    inbox = await buildAndServeReactInbox();
    browser = await chromium.launch({ executablePath: (lookup as { executablePath: string }).executablePath, headless: true, args: CHROMIUM_ARGS });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await inbox?.close();
  });

  describe.each(engines)('on %s', (engine) => {
    let t: TestHerald;
    let page: Page;

    afterEach(async () => {
      await page?.close();
      await t?.close();
    });

    it('badge, realtime delivery into the open popover, read, archive and mark-all-read, recorded by Herald', async () => {
      // Herald's clock starts ten minutes before the real time (each trigger moves it a minute on),
      // so the cells' "x minutes ago" read as they would live.
      t = await startTestHerald(engine, { workflows: [shipped], signingPublicKey, clock: new ManualClock(new Date(Date.now() - 10 * 60_000).toISOString()) });
      const channel = await channelId(t);
      await t.knock.users.update('ada', { name: 'Ada' });
      for (const order of ['A-1', 'B-2']) {
        t.clock.advance(60_000);
        await t.knock.workflows.trigger('shipped', { recipients: ['ada'], data: { order } });
      }
      await t.drain();
      const itemId = async (order: string) => {
        const feed = await t.knock.users.feeds.listItems('ada', channel, { archived: 'include' });
        return feed.entries.find((item) => JSON.stringify(item.blocks).includes(order))!.id;
      };

      page = await browser.newPage({ viewport: { width: 900, height: 640 } });
      const calls: Call[] = [];
      const consoleProblems: string[] = [];
      const failedAnswers: string[] = [];
      page.on('pageerror', (err) => consoleProblems.push(`pageerror: ${String(err)}`));
      page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') consoleProblems.push(`${msg.type()}: ${msg.text()}`); });
      page.on('requestfinished', async (req) => {
        const url = new URL(req.url());
        if (!req.url().startsWith(t.url)) return;
        const res = await req.response();
        calls.push({ kind: 'http', method: req.method(), path: url.pathname, query: decodeURIComponent(url.search), body: req.postDataJSON() ?? undefined, status: res?.status() });
        if (res && res.status() >= 400) failedAnswers.push(`${req.method()} ${url.pathname} -> ${res.status()} ${await res.text().catch(() => '')}`);
      });
      page.on('requestfailed', (req) => { if (req.url().startsWith(t.url)) failedAnswers.push(`${req.method()} ${req.url()} failed: ${req.failure()?.errorText}`); });
      let joinedFeed = false;
      page.on('websocket', (ws) => {
        const parse = (payload: string | Buffer) => { try { return JSON.parse(String(payload)); } catch { return String(payload); } };
        ws.on('framesent', (f) => calls.push({ kind: 'ws', direction: 'sent', frame: parse(f.payload) }));
        ws.on('framereceived', (f) => {
          const frame = parse(f.payload);
          calls.push({ kind: 'ws', direction: 'received', frame });
          // Phoenix frames are [join_ref, ref, topic, event, payload].
          if (Array.isArray(frame) && String(frame[2]).startsWith('feeds:') && frame[3] === 'phx_reply' && frame[4]?.status === 'ok') joinedFeed = true;
        });
      });

      /** Waits for a DOM condition, failing with what the page reported if it never holds. */
      const waitFor = async (selector: string, state: 'attached' | 'detached' | 'visible' = 'attached') => {
        try {
          await page.waitForSelector(selector, { state, timeout: UI_TIMEOUT_MS });
        } catch (e) {
          throw new Error(`${(e as Error).message}\nconsole: ${consoleProblems.join('\n') || 'none'}\nfailed answers: ${failedAnswers.join('\n') || 'none'}`);
        }
      };
      const cell = (order: string) => page.locator('.rnf-notification-cell', { hasText: `Order ${order} for Ada` });
      const badge = page.locator('.rnf-unseen-badge__count');

      try {
        const token = await signUserTokenAt(t.clock, 'ada', { signingKey });
        const query = new URLSearchParams({ host: t.url, key: t.publicKey, user: 'ada', token, channel });
        await page.goto(`${inbox.url}?${query}`);

        // The provider identified the user inline (PUT /v1/users/ada, user token, cross-origin).
        await expect.poll(() => calls.some((c) => c.kind === 'http' && c.method === 'PUT' && c.path === '/v1/users/ada' && c.status === 200), { timeout: UI_TIMEOUT_MS }).toBe(true);

        // The bell's badge: the feed's unread_count, fetched over HTTP before anything is opened.
        await waitFor('.rnf-unseen-badge__count');
        await expect.poll(() => badge.textContent(), { timeout: UI_TIMEOUT_MS }).toBe('2');
        await expect.poll(() => joinedFeed, { timeout: UI_TIMEOUT_MS }).toBe(true);
        await page.screenshot({ path: `${results}${engine}-1-badge.png` });
        await page.evaluate(() => { (window as unknown as { loadedOnce: boolean }).loadedOnce = true; });

        // Opening the popover lists both items (and marks them seen, as Knock's popover does).
        await page.getByRole('button', { name: 'Open notification feed' }).click();
        await waitFor('.rnf-notification-feed-popover[role="dialog"]', 'visible');
        await expect.poll(() => page.locator('.rnf-notification-cell').count(), { timeout: UI_TIMEOUT_MS }).toBe(2);
        await expect.poll(async () => (await http(t, 'GET', `/v1/users/ada/feeds/${channel}`)).body.meta.unseen_count, { timeout: UI_TIMEOUT_MS }).toBe(0);

        // Server side: the Node SDK triggers, the worker commits the message, the socket pushes it.
        t.clock.advance(60_000);
        await t.knock.workflows.trigger('shipped', { recipients: ['ada'], data: { order: 'C-3' } });
        expect(await t.drain()).toBeGreaterThan(0);
        await expect.poll(() => cell('C-3').count(), { timeout: UI_TIMEOUT_MS }).toBe(1);
        await expect.poll(() => badge.textContent(), { timeout: UI_TIMEOUT_MS }).toBe('3');
        expect(await cell('C-3').locator('.rnf-notification-cell__unread-dot').count()).toBe(1);
        expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
        await page.screenshot({ path: `${results}${engine}-2-realtime.png` });

        // Clicking a cell marks it read (and interacted): the dot goes, the badge drops, Herald records it.
        const c3 = await itemId('C-3');
        await cell('C-3').click();
        await expect.poll(() => cell('C-3').locator('.rnf-notification-cell__unread-dot').count(), { timeout: UI_TIMEOUT_MS }).toBe(0);
        await expect.poll(() => badge.textContent(), { timeout: UI_TIMEOUT_MS }).toBe('2');
        await expect.poll(async () => (await t.knock.messages.get(c3)).read_at, { timeout: UI_TIMEOUT_MS }).not.toBeNull();
        expect((await t.knock.messages.get(c3)).interacted_at).not.toBeNull();

        // The cell's × archives it: gone from the list, archived in Herald.
        const a1 = await itemId('A-1');
        await cell('A-1').locator('.rnf-archive-notification-btn').click();
        await expect.poll(() => cell('A-1').count(), { timeout: UI_TIMEOUT_MS }).toBe(0);
        await expect.poll(() => badge.textContent(), { timeout: UI_TIMEOUT_MS }).toBe('1');
        await expect.poll(async () => (await t.knock.messages.get(a1)).archived_at, { timeout: UI_TIMEOUT_MS }).not.toBeNull();
        // Knock's cells are 24 px wider than the popover's list, and Playwright scrolled the list
        // sideways to centre the × it clicked; scroll it back so the screenshot shows what a user sees.
        await page.mouse.move(10, 300);
        await page.locator('.rnf-notification-feed__container').evaluate((list) => { list.scrollLeft = 0; });
        await page.screenshot({ path: `${results}${engine}-3-read-and-archived.png` });

        // "Mark all as read" in the header: no unread left, so the badge disappears.
        const b2 = await itemId('B-2');
        await page.locator('.rnf-mark-all-as-read').click();
        await waitFor('.rnf-unseen-badge', 'detached');
        await expect.poll(async () => (await t.knock.messages.get(b2)).read_at, { timeout: UI_TIMEOUT_MS }).not.toBeNull();
        await expect.poll(async () => (await http(t, 'GET', `/v1/users/ada/feeds/${channel}`)).body.meta, { timeout: UI_TIMEOUT_MS })
          .toMatchObject({ total_count: 2, unread_count: 0, unseen_count: 0 });
        expect(await page.locator('.rnf-notification-cell').count()).toBe(2);
        await page.screenshot({ path: `${results}${engine}-4-all-read.png` });

        // The header's filter asks Herald for unread (none left) or read items (status=unread|read).
        const filter = page.getByLabel('Select notification filter');
        await filter.selectOption('unread');
        await waitFor('.rnf-empty-feed');
        expect(await page.locator('.rnf-notification-cell').count()).toBe(0);
        await filter.selectOption('read');
        await expect.poll(() => page.locator('.rnf-notification-cell').count(), { timeout: UI_TIMEOUT_MS }).toBe(2);

        // After a reload the server's state is what the components show.
        await page.reload();
        await page.getByRole('button', { name: 'Open notification feed' }).click();
        await expect.poll(() => page.locator('.rnf-notification-cell').count(), { timeout: UI_TIMEOUT_MS }).toBe(2);
        expect(await page.locator('.rnf-unseen-badge').count()).toBe(0);
        expect(await page.locator('.rnf-notification-cell__unread-dot').count()).toBe(0);

        expect(failedAnswers).toEqual([]);
        expect(consoleProblems).toEqual([]);
      } catch (e) {
        // The page is the suspect: say what it logged and which answers failed.
        (e as Error).message += `\nconsole: ${consoleProblems.join('\n') || 'none'}\nfailed answers: ${failedAnswers.join('\n') || 'none'}`;
        throw e;
      } finally {
        writeFileSync(`${results}calls-${engine}.json`, JSON.stringify(calls, null, 2));
      }
    }, 180_000);
  });
});
