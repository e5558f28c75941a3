/**
 * Proof in a real browser: a page bundled with Vite uses Knock's own `@knocklabs/client`, pointed
 * at Herald (public key + a user token with the claims `@knocklabs/node`'s `signUserToken` signs), in headless
 * Chromium (Debian's build, driven by playwright-core). A workflow triggered on the server side
 * and run by the worker shows up in the open page over the realtime socket, without a reload;
 * clicking "Mark as read" drops the unread badge and the read lands in Herald.
 *
 * Needs Chromium: support/chromium.ts installs Debian's package when it is missing and the test
 * is skipped, with the reason, only where that cannot be done. Screenshots go to
 * test-results/e2e/.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { signUserTokenAt } from '../support/user-tokens.js';
import { channelId } from '../support/messages.js';
import { CHROMIUM_ARGS, ensureChromium } from './support/chromium.js';
import { buildAndServeFeedPage, type FeedPageServer } from './support/feed-page.js';

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Order **{{ data.order }}** for {{ recipient.name }} has shipped' } }],
};

const { publicKey: rsaPublic, privateKey: rsaPrivate } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingPublicKey = rsaPublic.export({ type: 'spki', format: 'pem' }).toString();
const signingPrivateKey = rsaPrivate.export({ type: 'pkcs8', format: 'pem' }).toString();

const screenshots = fileURLToPath(new URL('../../test-results/e2e/', import.meta.url));
/** How long one DOM condition may take to hold (a socket push, a click's re-render). */
const UI_TIMEOUT_MS = 20_000;

// Decided while the file is collected, so a machine without Chromium reports a skip with its reason.
const lookup = await ensureChromium();
const skipReason = 'skipReason' in lookup ? lookup.skipReason : undefined;
if (skipReason) process.stderr.write(`[e2e] browser tests skipped: ${skipReason}\n`);

describe.skipIf(skipReason !== undefined)(`the Knock browser client in headless Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let browser: Browser;
  let pageServer: FeedPageServer;

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    pageServer = await buildAndServeFeedPage();
    browser = await chromium.launch({ executablePath: (lookup as { executablePath: string }).executablePath, headless: true, args: CHROMIUM_ARGS });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await pageServer?.close();
  });

  describe.each(engines)('on %s', (engine) => {
    let t: TestHerald;
    let page: Page;
    /** What the page logged as errors; shown when a wait fails, since the page is the suspect. */
    const pageErrors: string[] = [];

    afterEach(async () => {
      await page?.close();
      await t?.close();
    });

    /** Waits for a CSS selector to match, failing with what the page reported if it never does. */
    const waitFor = async (selector: string) => {
      try {
        await page.waitForSelector(selector, { state: 'attached', timeout: UI_TIMEOUT_MS });
      } catch (e) {
        throw new Error(`${(e as Error).message}\npage errors: ${pageErrors.join('\n') || 'none'}\nbadge: ${await page.locator('#badge').textContent()}`);
      }
    };

    it('shows a message triggered on the server without a reload, and marking it read drops the badge', async () => {
      t = await startTestHerald(engine, { workflows: [hello], signingPublicKey });
      const channel = await channelId(t);
      await t.knock.users.update('ada', { name: 'Ada' });
      await t.knock.workflows.trigger('hello', { recipients: ['ada'], data: { order: 'A-1' } });
      await t.drain();

      page = await browser.newPage({ viewport: { width: 640, height: 360 } });
      page.on('pageerror', (err) => pageErrors.push(String(err)));
      page.on('console', (msg) => { if (msg.type() === 'error') pageErrors.push(msg.text()); });
      // Signed as signUserToken does, timed by the Herald's (manual) clock, which checks iat and exp.
      const token = await signUserTokenAt(t.clock, 'ada', { signingKey: signingPrivateKey });
      const query = new URLSearchParams({ host: t.url, key: t.publicKey, user: 'ada', token, channel });
      await page.goto(`${pageServer.url}?${query}`);

      // The page fetched the feed over HTTP and its socket joined the feed's topic.
      await waitFor('#badge[data-count="1"]');
      await waitFor('body[data-realtime="joined"]');
      expect(await page.locator('#feed li').count()).toBe(1);
      await page.evaluate(() => { (window as unknown as { loadedOnce: boolean }).loadedOnce = true; });

      // Server side: the SDK triggers, the worker runs the step and commits the message. (The
      // clock moves on first, as real time would: feed order, and so "newer", is by inserted_at.)
      t.clock.advance(60_000);
      await t.knock.workflows.trigger('hello', { recipients: ['ada'], data: { order: 'B-2' } });
      expect(await t.drain()).toBeGreaterThan(0);
      const feedNow = await t.knock.users.feeds.listItems('ada', channel);
      const created = feedNow.entries.find((item) => JSON.stringify(item.blocks).includes('B-2'))!;
      expect(created).toBeDefined();

      // The socket's new-message makes the client fetch the new item: it appears in this page load.
      await waitFor(`#feed li[data-id="${created.id}"][data-read="false"]`);
      await waitFor('#badge[data-count="2"]');
      expect(await page.locator(`#feed li[data-id="${created.id}"]`).innerText()).toContain('Order B-2 for Ada has shipped');
      expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
      await page.screenshot({ path: `${screenshots}browser-feed-${engine}-new-message.png` });

      await page.locator(`#feed li[data-id="${created.id}"] button`).click();
      await waitFor(`#feed li[data-id="${created.id}"][data-read="true"]`);
      await waitFor('#badge[data-count="1"]');
      await page.screenshot({ path: `${screenshots}browser-feed-${engine}-read.png` });

      // The badge is not only the client's optimistic update: Herald recorded the read.
      await expect.poll(async () => (await t.knock.messages.get(created.id)).read_at, { timeout: UI_TIMEOUT_MS }).not.toBeNull();
      expect((await http(t, 'GET', `/v1/users/ada/feeds/${channel}`)).body.meta).toMatchObject({ total_count: 2, unread_count: 1 });
      expect(pageErrors).toEqual([]);
    }, 120_000);
  });
});
