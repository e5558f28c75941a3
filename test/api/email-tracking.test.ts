/**
 * Knock's link and open tracking on an email channel, end to end: a workflow triggered through
 * @knocklabs/node renders an email whose links are rewritten to signed Herald redirects (and an
 * open pixel added), the delivery job sends it to a real SMTP server on loopback, and the test
 * follows what arrived: the redirect answers 302 to the original URL and records link_clicked,
 * the pixel records the open, a tampered token is refused, and message-status conditions see it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import Knock from '@knocklabs/node';
import { LoopbackSmtp } from '../support/smtp-server.js';
import { drainAll, engines, startTestHerald, writeWorkflowsDir, type TestHerald } from '../support/harness.js';
import { openSharedDb } from '../support/two-heralds.js';
import { ManualClock } from '../../src/domain/clock.js';
import { createHerald, type Herald } from '../../src/herald.js';
import type { Db } from '../../src/store/db.js';

const SMTP_PASSWORD = 's3cret-smtp-pass';
const PUBLIC_URL = 'https://herald.example';
const HOUR = 3_600_000;

const HTML = [
  '<html><body>',
  '<p>Hello {{ recipient.name }}</p>',
  '<a class="cta" href="https://example.com/welcome?step=1&amp;lang=en">Start</a>',
  "<A HREF='{{ data.docs_url }}'>Docs</A>",
  '<a href="mailto:help@example.com">Mail us</a> <a href="tel:+15550100">Call</a>',
  '<a href="#top">Top</a> <a href="/relative/path">Relative</a>',
  '<!-- <a href="https://hidden.example/in-a-comment">hidden</a> -->',
  '</body></html>',
].join('\n');

const email = (ref: string, channel: string, extra: Record<string, unknown> = {}) => ({
  ref,
  type: 'channel',
  channel_key: channel,
  template: { subject: 'Welcome', html_body: HTML, text_body: 'Start at https://example.com/welcome' },
  ...extra,
});

const workflows = [
  { key: 'tracked', name: 'Tracked', steps: [email('email', 'tracked-mail')] },
  { key: 'untracked', name: 'Untracked', steps: [email('email', 'plain-mail')] },
  // A step-level override turns the channel's tracking off for this step (Knock's step toggles).
  { key: 'opted-out', name: 'Opted out', steps: [email('email', 'tracked-mail', { channel_overrides: { link_tracking: false, open_tracking: false } })] },
  {
    key: 'nudge',
    name: 'Nudge',
    steps: [
      email('email', 'tracked-mail'),
      { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'hours', value: 1 } } },
      {
        ref: 'no_click', type: 'channel', channel_key: 'plain-mail',
        template: { subject: 'You did not click', html_body: '<p>Still interested?</p>' },
        conditions: { all: [{ variable: 'refs.email.engagement_status', operator: 'not_contains', argument: '$message.link_clicked' }] },
      },
      {
        ref: 'read_no_click', type: 'channel', channel_key: 'plain-mail',
        template: { subject: 'You read it but did not click', html_body: '<p>Anything unclear?</p>' },
        conditions: { all: [{ variable: 'refs.email.engagement_status', operator: 'contains', argument: '$message.read_not_link_clicked' }] },
      },
    ],
  },
];

/** Every href of the HTML outside comments, in order (test-side reading of what the recipient got). */
const hrefs = (html: string) => [...html.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<a\s[^>]*?href=["']([^"']*)["']/gi)].map((m) => m[1]);
const pixelSrc = (html: string) => /<img src="([^"]+)" width="1" height="1"/.exec(html)?.[1];

describe.each(engines)('email link and open tracking (%s)', (engine) => {
  let t: TestHerald;
  let smtp: LoopbackSmtp;
  beforeEach(async () => {
    smtp = await new LoopbackSmtp(SMTP_PASSWORD).start();
    t = await startTestHerald(engine, {
      workflows,
      publicUrl: PUBLIC_URL,
      channels: [
        { key: 'tracked-mail', type: 'email', provider: 'smtp', settings: { ...smtp.settings(), link_tracking: true, open_tracking: true } },
        { key: 'plain-mail', type: 'email', provider: 'smtp', settings: smtp.settings() },
      ],
    });
  });
  afterEach(async () => {
    await t.close();
    await smtp.close();
  });

  async function send(workflow: string, user = 'ada') {
    await t.knock.users.update(user, { name: user.toUpperCase(), email: `${user}@example.com` } as any);
    await t.knock.workflows.trigger(workflow, { recipients: [user], data: { docs_url: 'https://docs.example.com/guide#install' } });
    await t.drain();
    const mail = smtp.received.at(-1)!;
    const [message] = (await t.knock.users.listMessages(user)).items;
    return { html: String(mail.html), text: String(mail.text), messageId: message.id };
  }

  /** Follows a tracking URL of the email on this Herald (the public URL is the proxy in front of it). */
  function follow(url: string) {
    expect(url.startsWith(`${PUBLIC_URL}/v1/t/`)).toBe(true);
    return fetch(t.url + url.slice(PUBLIC_URL.length), { redirect: 'manual' });
  }

  async function eventsOf(messageId: string) {
    return (await t.knock.messages.listEvents(messageId)).items.reverse();
  }

  it('rewrites the http(s) links to signed redirects that record link_clicked and lead to the original URL', async () => {
    const { html, text, messageId } = await send('tracked');
    const links = hrefs(html);
    expect(links).toHaveLength(6);
    const [cta, docs, ...rest] = links;
    expect(cta.startsWith(`${PUBLIC_URL}/v1/t/c/`)).toBe(true);
    expect(docs.startsWith(`${PUBLIC_URL}/v1/t/c/`)).toBe(true);
    // mailto:, tel:, fragments, relative links and links inside comments stay as they were.
    expect(rest).toEqual(['mailto:help@example.com', 'tel:+15550100', '#top', '/relative/path']);
    expect(html).toContain('<!-- <a href="https://hidden.example/in-a-comment">hidden</a> -->');
    expect(html).toContain('<a class="cta" href="');
    expect(text.trim()).toBe('Start at https://example.com/welcome');
    expect((await t.knock.messages.get(messageId)).engagement_statuses).toEqual([]);

    const res = await follow(cta);
    expect(res.status).toBe(302);
    // The original URL with its character references decoded, as a browser would have opened it.
    expect(res.headers.get('location')).toBe('https://example.com/welcome?step=1&lang=en');
    expect(res.headers.get('cache-control')).toBe('no-store');

    const message = await t.knock.messages.get(messageId);
    expect(message.engagement_statuses).toEqual(['link_clicked']);
    expect(message.link_clicked_at).toBe(t.clock.now().toISOString());
    const clicked = (await eventsOf(messageId)).filter((e) => e.type === 'message.link_clicked');
    expect(clicked.map((e) => e.data)).toEqual([{ url: 'https://example.com/welcome?step=1&lang=en', link_index: 0 }]);

    // A second click of the same link changes nothing; another link adds its own event.
    t.clock.advance(60_000);
    expect((await follow(cta)).status).toBe(302);
    const second = await follow(docs);
    expect(second.status).toBe(302);
    expect(second.headers.get('location')).toBe('https://docs.example.com/guide#install');
    expect((await t.knock.messages.get(messageId)).link_clicked_at).toBe(message.link_clicked_at);
    expect((await eventsOf(messageId)).map((e) => e.type)).toEqual(['message.queued', 'message.sent', 'message.link_clicked', 'message.link_clicked']);

    // The engagement filter of the message list (and so the feed's link_clicked state) sees it.
    const filtered = await t.knock.users.listMessages('ada', { engagement_status: ['link_clicked'] } as any);
    expect(filtered.items.map((m) => m.id)).toEqual([messageId]);
  });

  it('refuses a tampered token (a changed character, a swapped URL, another kind) without redirecting', async () => {
    const { html, messageId } = await send('tracked');
    const [cta] = hrefs(html);
    const token = cta.slice(`${PUBLIC_URL}/v1/t/c/`.length);
    const [payload, mac] = token.split('.');

    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const swappedUrl = Buffer.from(Buffer.from(payload, 'base64url').toString('utf8')
      .replace('https://example.com/welcome?step=1&lang=en', 'https://evil.example/phish'), 'utf8').toString('base64url');
    const openToken = pixelSrc(html)!.slice(`${PUBLIC_URL}/v1/t/o/`.length);
    const tampered = [
      `${flip(payload, 5)}.${mac}`,
      `${payload}.${flip(mac, 10)}`,
      `${swappedUrl}.${mac}`,
      openToken, // a valid open token is not a click token
      'not-a-token',
    ];
    for (const bad of tampered) {
      const res = await fetch(`${t.url}/v1/t/c/${bad}`, { redirect: 'manual' });
      expect(res.status, bad).toBe(404);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.json()).toMatchObject({ code: 'resource_missing', status: 404, type: 'invalid_request_error' });
    }
    expect((await t.knock.messages.get(messageId)).engagement_statuses).toEqual([]);
    expect((await eventsOf(messageId)).map((e) => e.type)).toEqual(['message.queued', 'message.sent']);
  });

  it('leaves the email untouched when tracking is off on the channel or turned off by the step', async () => {
    for (const workflow of ['untracked', 'opted-out']) {
      const { html } = await send(workflow, workflow === 'untracked' ? 'ada' : 'bob');
      expect(hrefs(html)).toEqual(['https://example.com/welcome?step=1&amp;lang=en', 'https://docs.example.com/guide#install',
        'mailto:help@example.com', 'tel:+15550100', '#top', '/relative/path']);
      expect(html).not.toContain('/v1/t/');
    }
  });

  it('records an open from the pixel once (seen and read) and answers a transparent GIF that is not cached', async () => {
    const { html, messageId } = await send('tracked');
    const src = pixelSrc(html)!;
    expect(src.startsWith(`${PUBLIC_URL}/v1/t/o/`)).toBe(true);
    // The pixel goes inside the body, before its end tag.
    expect(html.indexOf(src)).toBeLessThan(html.indexOf('</body>'));

    const res = await follow(src);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('cache-control')).toContain('no-store');
    const gif = Buffer.from(await res.arrayBuffer());
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect([gif.readUInt16LE(6), gif.readUInt16LE(8)]).toEqual([1, 1]);

    const opened = await t.knock.messages.get(messageId);
    expect(opened.engagement_statuses).toEqual(['seen', 'read']);
    t.clock.advance(60_000);
    expect((await follow(src)).status).toBe(200);
    expect((await t.knock.messages.get(messageId)).read_at).toBe(opened.read_at);
    expect((await eventsOf(messageId)).map((e) => e.type)).toEqual(['message.queued', 'message.sent', 'message.seen', 'message.read']);

    // A click token is not an open token.
    const [cta] = hrefs(html);
    expect((await fetch(`${t.url}/v1/t/o/${cta.slice(`${PUBLIC_URL}/v1/t/c/`.length)}`)).status).toBe(404);
  });

  it('feeds message-status conditions: link_clicked and read_not_link_clicked see the recorded click and open', async () => {
    // ada clicks, bob opens without clicking, cat does neither.
    const sent: Record<string, string> = {};
    for (const user of ['ada', 'bob', 'cat']) sent[user] = (await send('nudge', user)).html;
    expect(await follow(hrefs(sent.ada)[0]).then((r) => r.status)).toBe(302);
    expect(await follow(pixelSrc(sent.bob)!).then((r) => r.status)).toBe(200);
    t.clock.advance(HOUR);
    await t.drain();
    const subjects = (user: string) => smtp.received.filter((m) => m.to && !Array.isArray(m.to) && m.to.text === `${user}@example.com`).map((m) => m.subject);
    expect(subjects('ada')).toEqual(['Welcome']);
    expect(subjects('bob').sort()).toEqual(['Welcome', 'You did not click', 'You read it but did not click']);
    expect(subjects('cat')).toEqual(['Welcome', 'You did not click']);
  });
});

describe.each(engines)('email tracking across processes (%s)', (engine) => {
  it('a link signed by one Herald is verified and recorded by another on the same database: one secret per install', async () => {
    const smtp = await new LoopbackSmtp(SMTP_PASSWORD).start();
    const shared = await openSharedDb(engine);
    const clock = new ManualClock('2026-03-01T12:00:00Z');
    const workflowsDir = writeWorkflowsDir(workflows);
    const start = async (db: Db) => {
      const herald = await createHerald({
        db, clock, logger: pino({ level: 'silent' }), workflowsDir, publicUrl: PUBLIC_URL, outbound: { allowPrivateNetworks: true },
        channels: [{ key: 'tracked-mail', type: 'email', provider: 'smtp', settings: { ...smtp.settings(), link_tracking: true } },
          { key: 'plain-mail', type: 'email', provider: 'smtp', settings: smtp.settings() }],
      });
      await herald.app.listen({ port: 0, host: '127.0.0.1' });
      const address = herald.app.server.address();
      return { herald, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
    };
    const heralds: Herald[] = [];
    try {
      const a = await start(shared.dbs[0]);
      heralds.push(a.herald);
      const b = await start(shared.dbs[1]);
      heralds.push(b.herald);
      const knockA = new Knock({ apiKey: a.herald.keys.secret, baseURL: a.url, maxRetries: 0 });
      await knockA.users.update('ada', { email: 'ada@example.com' } as any);
      await knockA.workflows.trigger('tracked', { recipients: ['ada'], data: { docs_url: 'https://docs.example.com/' } });
      await drainAll(a.herald);
      const [cta] = hrefs(String(smtp.received[0].html));
      const res = await fetch(b.url + cta.slice(PUBLIC_URL.length), { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('https://example.com/welcome?step=1&lang=en');
      const knockB = new Knock({ apiKey: b.herald.keys.secret, baseURL: b.url, maxRetries: 0 });
      const [message] = (await knockB.users.listMessages('ada')).items;
      expect(message.engagement_statuses).toEqual(['link_clicked']);
    } finally {
      for (const h of heralds) await h.close();
      await shared.close();
      await smtp.close();
    }
  });
});
