/**
 * The dashboard (issue 14) in a real headless Chromium (Debian's build, driven by playwright-core),
 * served by Herald itself at /dashboard/ and reading Herald's own HTTP API with the session cookie
 * it sets at sign-in. Each scenario is what a person does on the page: sign in with the secret key
 * (or with HERALD_DASHBOARD_TOKEN, switch environment, sign out), trigger a workflow from its
 * test-trigger form and watch the run complete, deactivate and activate a workflow, find out why
 * a run was skipped, find and cancel runs by cancellation key, read an email as it was sent.
 * Every page is checked with axe-core (no serious or critical violations) and must log no
 * console error.
 *
 * One browser for the file, one Herald (and one SMTP server) per engine; the scenarios of an
 * engine share a signed-in browser context. The worker is driven by `drain()` (manual clock),
 * so "live" here means: the page shows what the worker did without being reloaded.
 * Screenshots go to test-results/dashboard/; with DASHBOARD_README_SCREENSHOTS=1 the
 * README's three images are written to docs/images/ too.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { LoopbackSmtp } from '../support/smtp-server.js';
import { CHROMIUM_ARGS, ensureChromium } from './support/chromium.js';
import { ensureDashboardBuild, openDashboardPage, seriousA11yViolations, UI_TIMEOUT_MS, type DashboardPage } from './support/dashboard-browser.js';

/** HERALD_DASHBOARD_TOKEN: signs in to every environment, and may switch between them. */
const DASHBOARD_TOKEN = 'dashboard-token-for-the-e2e-test-0123456789';

const screenshots = fileURLToPath(new URL('../../test-results/dashboard/', import.meta.url));
const readmeImages = process.env.DASHBOARD_README_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../docs/images/', import.meta.url)) : undefined;

const feed = (ref: string, body: string) => ({ ref, type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: body } });
const workflows = [
  {
    key: 'order-shipped',
    name: 'Order shipped',
    categories: ['orders'],
    trigger_data_json_schema: {
      type: 'object',
      properties: { order: { type: 'string', examples: ['A-1001'] }, express: { type: 'boolean', default: false } },
      required: ['order'],
    },
    steps: [
      {
        ref: 'by_speed', type: 'branch',
        branches: [
          { name: 'Express', conditions: { all: [{ variable: 'data.express', operator: 'equal_to', argument: true }] }, steps: [feed('express_note', 'Express order {{ data.order }} is on its way')] },
          { name: 'Standard', steps: [] },
        ],
      },
      feed('shipped', 'Order **{{ data.order }}** has shipped'),
    ],
  },
  {
    key: 'newsletter',
    name: 'Newsletter',
    categories: ['marketing'],
    steps: [{ ref: 'newsletter_email', type: 'channel', channel_key: 'postal', template: { subject: 'News', html_body: '<p>News</p>', text_body: 'News' } }],
  },
  {
    key: 'reminder',
    name: 'Payment reminder',
    steps: [
      { ref: 'wait_a_day', type: 'delay', settings: { delay_for: { unit: 'days', value: 1 } } },
      feed('remind', 'Your payment is due'),
    ],
  },
  {
    key: 'receipt',
    name: 'Receipt',
    steps: [{
      ref: 'receipt_email', type: 'channel', channel_key: 'postal',
      template: {
        subject: 'Your receipt for {{ data.order }}',
        html_body: '<h1 style="font-family: sans-serif">Thank you, {{ recipient.name }}</h1><p>Order <b>{{ data.order }}</b>: 3 items.</p>',
        text_body: 'Thank you, {{ recipient.name }}. Order {{ data.order }}: 3 items.',
      },
    }],
  },
];

// Decided while the file is collected, so a machine without Chromium reports a skip with its reason.
const lookup = await ensureChromium();
const skipReason = 'skipReason' in lookup ? lookup.skipReason : undefined;
if (skipReason) process.stderr.write(`[e2e] dashboard tests skipped: ${skipReason}\n`);

describe.skipIf(skipReason !== undefined)(`the dashboard in headless Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    if (readmeImages) mkdirSync(readmeImages, { recursive: true });
    await ensureDashboardBuild();
    browser = await chromium.launch({ executablePath: (lookup as { executablePath: string }).executablePath, headless: true, args: CHROMIUM_ARGS });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  });

  describe.each(engines)('on %s', (engine) => {
    let t: TestHerald;
    let smtp: LoopbackSmtp;
    let d: DashboardPage;
    const shot = (name: string) => d.page.screenshot({ path: `${screenshots}${engine}-${name}.png`, fullPage: true });
    /** The README's images (1280×800, from the top of the page): taken on PGlite only, when asked for. */
    const readmeShot = async (name: string) => {
      if (!readmeImages || engine !== 'pglite') return;
      await d.page.evaluate(() => window.scrollTo(0, 0));
      await d.page.screenshot({ path: `${readmeImages}dashboard-${name}.png` });
    };

    /** Signs the shared context in through the form, unless it already is (the scenarios can run alone). */
    async function signedIn() {
      const cookies = await d.context.cookies(t.url);
      if (cookies.some((c) => c.name === 'herald_dashboard')) return;
      await d.open('/');
      await d.waitFor('form[aria-labelledby="signin-title"]');
      await d.page.getByLabel('Secret key or dashboard token').fill(t.secretKey);
      await d.page.getByRole('button', { name: 'Sign in' }).click();
      await d.waitFor('h1:text-is("Overview")');
    }

    beforeAll(async () => {
      smtp = await new LoopbackSmtp('smtp-password').start();
      t = await startTestHerald(engine, {
        workflows,
        channels: [{ key: 'postal', type: 'email', provider: 'smtp', settings: smtp.settings() }],
        environments: ['development', 'production'],
        dashboard: { token: DASHBOARD_TOKEN },
      });
      await t.knock.users.update('ada', { name: 'Ada Lovelace', email: 'ada@example.com' } as any);
      await t.knock.users.update('grace', { name: 'Grace Hopper', email: 'grace@example.com', preferences: { default: { categories: { marketing: false } } } } as any);
      d = await openDashboardPage(browser, t.url);
    }, 120_000);
    afterAll(async () => {
      await d?.close();
      await t?.close();
      await smtp?.close();
    });

    it('signs in with the secret key (a public key is refused) and shows the overview', async () => {
      await d.open('/runs');
      // No session yet: the app sends the visitor to the sign-in form, remembering where they were going.
      await d.waitFor('form[aria-labelledby="signin-title"]');
      expect(new URL(d.page.url()).searchParams.get('next')).toBe('/runs');
      await shot('sign-in');

      await d.page.getByLabel('Secret key or dashboard token').fill(t.publicKey);
      await d.page.getByRole('button', { name: 'Sign in' }).click();
      await d.waitFor('.signin-card [role="alert"]');
      expect(await d.page.locator('.signin-card [role="alert"]').innerText()).toContain('was not accepted');

      await d.page.getByLabel('Secret key or dashboard token').fill(t.secretKey);
      await d.page.getByRole('button', { name: 'Sign in' }).click();
      await d.waitFor('h1:text-is("Runs")');
      const cookie = (await d.context.cookies(t.url)).find((c) => c.name === 'herald_dashboard');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

      await d.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
      await d.waitFor('h1:text-is("Overview")');
      await d.waitFor('.live-live');
      expect(await d.page.locator('.env-pill, .env-switch').first().innerText()).toContain('development');
      await shot('overview');
      expect(d.errors).toEqual([]);
    }, 60_000);

    it('signs in with the dashboard token, switches environment, and signs out', async () => {
      // A second browser context: its own cookies, so the shared session is left as it is.
      const other = await openDashboardPage(browser, t.url);
      try {
        await other.open('/');
        await other.waitFor('form[aria-labelledby="signin-title"]');
        await other.page.getByLabel('Secret key or dashboard token').fill(DASHBOARD_TOKEN);
        await other.page.getByRole('button', { name: 'Sign in' }).click();
        await other.waitFor('h1:text-is("Overview")');
        const switcher = other.page.getByRole('combobox', { name: 'Environment' });
        expect(await switcher.inputValue()).toBe('development');

        await switcher.selectOption('production');
        await other.waitFor('h1:text-is("Overview")');
        await expect.poll(() => switcher.inputValue(), { timeout: UI_TIMEOUT_MS }).toBe('production');
        // The cookie now reads production: the session endpoint says so, through the page's own fetch.
        const session = await other.page.evaluate(async () => (await fetch('/dashboard/api/session')).json());
        expect(session).toMatchObject({ environment: 'production', can_switch_environment: true });
        await other.page.screenshot({ path: `${screenshots}${engine}-environment-switch.png` });

        await other.page.getByRole('button', { name: 'Sign out' }).click();
        await other.waitFor('form[aria-labelledby="signin-title"]');
        expect((await other.context.cookies(t.url)).some((c) => c.name === 'herald_dashboard')).toBe(false);
        await other.open('/runs');
        await other.waitFor('form[aria-labelledby="signin-title"]');
        expect(other.errors).toEqual([]);
      } finally {
        await other.close();
      }
    }, 60_000);

    it('triggers a workflow from its test-trigger form and shows the run completing on its timeline', async () => {
      await signedIn();
      await d.open('/workflows');
      await d.page.getByRole('link', { name: 'Order shipped' }).click();
      await d.waitFor('h1:text-is("Order shipped")');
      // The steps are drawn with the branch's arms; the data is prefilled from the trigger-data schema.
      await d.waitFor('.flow-branch-name:text("Express")');
      expect(await d.page.locator('li[data-step-ref="express_note"]').count()).toBe(1);
      const data = JSON.parse(await d.page.getByLabel(/^Data/).inputValue());
      expect(data).toEqual({ order: 'A-1001', express: false });

      await d.page.getByLabel(/^Recipients/).fill('ada');
      await d.page.getByLabel(/^Data/).fill(JSON.stringify({ order: 'A-2002', express: true }));
      await d.page.getByRole('button', { name: 'Trigger', exact: true }).click();
      await d.waitFor('[data-testid="workflow-run-id"]');

      // The worker runs it; the page, polling the run, shows each step without a reload.
      await t.drain();
      await d.waitFor('.live-run[data-status="completed"]');
      await d.waitFor('.live-run .tl-entry[data-type="run_completed"]');
      await d.waitFor('.live-run .tl-entry[data-step-ref="express_note"][data-type="step_completed"]');
      const runId = await d.page.locator('.live-run').getAttribute('data-run-id');
      const run = await http(t, 'GET', `/v1/workflow_recipient_runs/${runId}`);
      expect(run.body).toMatchObject({ workflow: 'order-shipped', recipient: 'ada', status: 'completed' });
      await shot('test-trigger');

      // The run's own page: the timeline and the two in-app messages it created.
      await d.page.locator('.live-run a', { hasText: 'Run' }).click();
      await d.waitFor('#timeline .tl-entry[data-type="run_completed"]');
      await d.waitFor('table tbody tr >> nth=1');
      expect(await d.page.locator('section:has(h2:text("Messages created")) tbody tr').count()).toBe(2);
      await shot('run-timeline');
      await readmeShot('run-timeline');
      expect(d.errors).toEqual([]);
    }, 90_000);

    it('deactivates a workflow from its page (a trigger is then refused) and activates it again', async () => {
      await signedIn();
      await d.open('/workflows/newsletter');
      await d.waitFor('h1:text-is("Newsletter")');
      const active = async () => (await http(t, 'GET', '/dashboard/api/workflows/newsletter')).body.active as boolean;
      expect(await active()).toBe(true);

      await d.page.getByRole('button', { name: 'Deactivate' }).click();
      await d.waitFor('.page-header [data-status="inactive"]');
      expect(await active()).toBe(false);
      await d.page.getByLabel(/^Recipients/).fill('ada');
      await d.page.getByRole('button', { name: 'Trigger', exact: true }).click();
      // The trigger's refusal is shown as Knock's error message says it.
      await d.waitFor('form[aria-label="Test trigger"] [role="alert"]');
      expect(await d.page.locator('form[aria-label="Test trigger"] [role="alert"]').innerText()).toMatch(/inactive|not active|newsletter/i);
      // The browser logs the refused trigger's 4xx as a failed request; nothing else was logged.
      expect(d.errors.every((e) => /status of 4\d\d .*\/v1\/workflows\/newsletter\/trigger/.test(e)), d.errors.join('\n')).toBe(true);
      d.errors.splice(0);

      await d.page.getByRole('button', { name: 'Activate' }).click();
      await d.waitFor('.page-header [data-status="active"]');
      expect(await active()).toBe(true);
      expect(d.errors).toEqual([]);
    }, 60_000);

    it('finds a run skipped by preferences and shows why', async () => {
      await signedIn();
      await t.knock.workflows.trigger('newsletter', { recipients: ['grace'] });
      await t.drain();

      await d.open('/runs');
      await d.page.getByLabel('Recipient').fill('grace');
      await d.page.getByLabel('Workflow').fill('newsletter');
      await d.page.getByRole('button', { name: 'Filter' }).click();
      await d.waitFor('tr[data-run-id]');
      expect(await d.page.locator('tr[data-run-id]').count()).toBe(1);
      await d.page.locator('tr[data-run-id] a').first().click();

      const skipped = '.tl-entry[data-step-ref="newsletter_email"][data-type="step_skipped"]';
      await d.waitFor(skipped);
      // The reason names the preference that decided, and the explanation says which layer.
      const reason = await d.page.locator(`${skipped} .tl-reason`).innerText();
      expect(reason).toMatch(/preference|marketing/i);
      await d.waitFor('.explanations li[data-step-ref="newsletter_email"][data-allowed="false"]');
      expect(await d.page.locator('.explanations li[data-step-ref="newsletter_email"]').innerText()).toMatch(/marketing/);
      expect(await d.page.locator('section:has(h2:text("Messages created"))').innerText()).toContain('no messages');
      await shot('preference-skip');

      // The recipient's page answers the same question before a trigger: the explain box.
      await d.open('/recipients/users/grace');
      await d.page.getByLabel('Workflow').selectOption('newsletter');
      await d.page.getByRole('button', { name: 'Explain' }).click();
      await d.waitFor('.explain-answer[data-would-send="false"]');
      expect(await d.page.locator('.explain-answer').innerText()).toMatch(/marketing/);
      await shot('explain');
      expect(d.errors).toEqual([]);
    }, 60_000);

    it('finds a cancelled run by its cancellation key, and cancels others from the run page', async () => {
      await signedIn();
      await t.knock.workflows.trigger('reminder', { recipients: ['ada'], cancellation_key: 'invoice-1' });
      await t.knock.workflows.trigger('reminder', { recipients: ['ada', 'grace'], cancellation_key: 'invoice-2' });
      await t.drain(); // each run waits in its one-day delay
      await t.knock.workflows.cancel('reminder', { cancellation_key: 'invoice-1' });

      await d.open('/runs');
      await d.page.getByLabel('Cancellation key').fill('invoice-1');
      await d.page.getByRole('button', { name: 'Filter' }).click();
      // The unfiltered list (three runs, the cancelled one among them) may still be on screen
      // when the filter is applied: wait for the filtered list itself, one row, cancelled.
      await expect.poll(() => d.page.locator('tr[data-run-id]').count(), { timeout: UI_TIMEOUT_MS }).toBe(1);
      await d.waitFor('tr[data-run-id][data-status="cancelled"]');
      await shot('cancelled-by-key');

      // invoice-2: two waiting runs. Cancel Ada's alone from its page…
      await d.page.getByLabel('Cancellation key').fill('invoice-2');
      await d.page.getByRole('button', { name: 'Filter' }).click();
      await d.waitFor('tr[data-run-id] >> nth=1');
      expect(await d.page.locator('tr[data-run-id][data-status="cancelled"]').count()).toBe(0);
      await d.page.locator('tr[data-run-id]:has(a:text-is("ada")) a').first().click();
      await d.waitFor('h1:has-text("Run")');
      await d.page.getByRole('button', { name: 'Cancel this run' }).click();
      await d.waitFor('[data-testid="run-status"][data-status="cancelled"]');
      await d.waitFor('.tl-entry[data-type="run_cancelled"]');
      const byKey = async () => (await http(t, 'GET', '/dashboard/api/runs?cancellation_key=invoice-2')).body.items as { recipient: unknown; status: string }[];
      expect((await byKey()).map((r) => [r.recipient, r.status]).sort()).toEqual([['ada', 'cancelled'], ['grace', 'paused']].sort());

      // …then every run left with that key (Grace's), with the key's button.
      d.page.once('dialog', (dialog) => void dialog.accept());
      await d.page.getByRole('button', { name: /Cancel all runs of key/ }).click();
      await d.waitFor('.note-ok');
      await expect.poll(async () => (await byKey()).map((r) => r.status), { timeout: UI_TIMEOUT_MS }).toEqual(['cancelled', 'cancelled']);
      await shot('cancel-by-key');
      expect(d.errors).toEqual([]);
    }, 60_000);

    it('shows an email as it was sent (rendered HTML in a sandboxed frame) with its delivery log', async () => {
      await signedIn();
      await t.knock.workflows.trigger('receipt', { recipients: ['ada'], data: { order: 'R-77' } });
      await t.drain();
      expect(smtp.received.map((m) => m.subject)).toContain('Your receipt for R-77');

      await d.open('/messages');
      await d.page.getByLabel('Channel').selectOption('email');
      await d.page.getByRole('button', { name: 'Filter' }).click();
      await d.waitFor('tr[data-message-id]');
      await d.page.locator('tr[data-message-id]:has-text("sent") a, tr[data-message-id]:has-text("delivered") a').first().click();

      await d.waitFor('iframe[title="Rendered email"]');
      const frame = d.page.locator('iframe[title="Rendered email"]');
      expect(await frame.getAttribute('sandbox')).toBe('');
      // The frame's document is the email's HTML, rendered (Liquid filled in).
      expect(await d.page.frameLocator('iframe[title="Rendered email"]').locator('h1').innerText()).toBe('Thank you, Ada Lovelace');
      expect(await d.page.locator('#content').innerText()).toContain('Your receipt for R-77');

      await d.waitFor('[data-testid="delivery-log"]');
      const log = await d.page.locator('[data-testid="delivery-log"]').first().innerText();
      expect(log).toContain('ada@example.com');
      // The SMTP password from the channel's settings never reaches the page.
      expect(await d.page.content()).not.toContain('smtp-password');
      await shot('email');
      await readmeShot('message');
      expect(d.errors).toEqual([]);
    }, 60_000);

    it('has no serious or critical accessibility violations on any page, at 1280 px and on a phone', async () => {
      await signedIn();
      // Something on every page (this scenario can also run alone).
      await t.knock.workflows.trigger('order-shipped', { recipients: ['ada'], data: { order: 'A-3003' } });
      await t.knock.workflows.trigger('receipt', { recipients: ['ada'], data: { order: 'R-88' } });
      await t.drain();
      expect((await http(t, 'POST', '/v1/audiences/beta/members', { members: [{ user: { id: 'ada' } }] })).status).toBe(204);
      const run = (await http(t, 'GET', '/dashboard/api/runs?workflow=order-shipped')).body.items[0];
      const message = (await http(t, 'GET', '/dashboard/api/messages?channel_type=email')).body.items[0];
      const pages = [
        ['overview', '/', 'h1:text-is("Overview")'],
        ['workflows', '/workflows', 'tr[data-workflow]'],
        ['workflow', '/workflows/order-shipped', '.flow'],
        ['runs', '/runs', 'tr[data-run-id]'],
        ['run', `/runs/${run.id}`, '#timeline .tl-entry'],
        ['messages', '/messages', 'tr[data-message-id]'],
        ['message', `/messages/${message.id}`, '[data-testid="delivery-log"]'],
        ['users', '/recipients', 'table'],
        ['user', '/recipients/users/ada', 'h2:text("Explain")'],
        ['tenants', '/recipients?tab=tenants', 'h1'],
        ['schedules', '/schedules?workflow=reminder', 'h1'],
        ['bulk-operations', '/bulk-operations', 'h1'],
        ['channels', '/channels', 'table'],
        ['audiences', '/audiences?key=beta', 'td a:text-is("ada")'],
      ] as const;
      const found: Record<string, unknown> = {};
      for (const [name, path, ready] of pages) {
        await d.open(path);
        await d.waitFor(ready);
        const violations = await seriousA11yViolations(d.page);
        if (violations.length) found[path] = violations;
        await shot(`page-${name}`);
      }
      // The phone layout: the navigation collapses behind a Menu button that opens it.
      await d.page.setViewportSize({ width: 390, height: 844 });
      await d.open('/runs');
      await d.waitFor('tr[data-run-id]');
      expect(await d.page.locator('#main-nav').isVisible()).toBe(false);
      await d.page.getByRole('button', { name: 'Menu' }).click();
      expect(await d.page.locator('#main-nav').isVisible()).toBe(true);
      const phone = await seriousA11yViolations(d.page);
      if (phone.length) found['/runs (phone, menu open)'] = phone;
      await shot('phone-menu');
      await d.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Messages' }).click();
      await d.waitFor('h1:text-is("Messages")');
      expect(await d.page.locator('#main-nav').isVisible()).toBe(false);
      await d.page.setViewportSize({ width: 1280, height: 800 });

      // The overview, now that there is something on it (its figures are cached for a few
      // seconds of Herald's clock, which the test moves on), streamed over SSE.
      t.clock.advance(90_000);
      await d.open('/');
      await d.waitFor('.live-live');
      await d.waitFor('.stat[data-stat="Triggers, last hour"]:not([data-value="0"])');
      await d.waitFor('[aria-label^="Deliveries per channel and provider"] svg');
      expect(Number(await d.page.locator('.stat[data-stat="Triggers, last hour"]').getAttribute('data-value'))).toBeGreaterThanOrEqual(2);
      await readmeShot('overview');

      expect(found, JSON.stringify(found, null, 1)).toEqual({});
      expect(d.errors).toEqual([]);
    }, 120_000);
  });
});
