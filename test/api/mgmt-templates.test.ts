/**
 * Partials, translations and email layouts as content, through the unchanged clients on
 * loopback: @knocklabs/mgmt upserts and commits them, previews templates that use them for a
 * French recipient and for one without a locale (the default locale, en), and a workflow whose
 * email uses a partial, `t` and an API-managed layout delivers that text to a real SMTP server
 * (smtp-server on loopback) through @knocklabs/node's trigger. Production gets none of it until
 * promoted. The bounds: a partial that renders itself fails the preview and halts a run with a
 * clear reason; an oversized (or broken) translation file is refused with the field and reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Knock from '@knocklabs/node';
import KnockMgmt from '@knocklabs/mgmt';
import { LoopbackSmtp } from '../support/smtp-server.js';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';

const SMTP_PASSWORD = 'templates-smtp-pass';

const welcome = {
  key: 'welcome',
  name: 'Welcome',
  steps: [{
    ref: 'email',
    type: 'channel',
    channel_key: 'postal',
    template: {
      subject: '{{ "welcome.subject" | t: name: recipient.name }}',
      html_body: '{% render "greeting" %}<p>{{ "shop:order" | t: count: data.items }}</p>',
      text_body: '{{ "welcome.subject" | t: name: recipient.name }}',
      settings: { layout_key: 'branded' },
    },
  }, {
    ref: 'feed',
    type: 'channel',
    channel_key: 'in-app-feed',
    template: { markdown_body: '{% render "greeting" %}' },
  }],
};

/** A feed step rendering the partial `loop`, which renders itself. */
const looping = { key: 'looping', name: 'Looping', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: '{% render "loop" %}' } }] };

const en = { welcome: { subject: 'Welcome, {{ name }}', hello: 'Hello {{ name }}' }, footer: 'Unsubscribe' };
const fr = { welcome: { subject: 'Bienvenue, {{ name }}', hello: 'Bonjour {{ name }}' }, footer: 'Se désabonner' };
const shopEn = { order: { one: 'one item', other: '{{ count }} items' } };
const shopFr = { order: { one: 'un article', other: '{{ count }} articles' } };

describe.each(engines)('partials, translations and layouts through @knocklabs/mgmt (%s)', { timeout: 120_000 }, (engine) => {
  let t: TestHerald;
  let smtp: LoopbackSmtp | null = null;
  afterEach(async () => {
    await t?.close();
    await smtp?.close();
    smtp = null;
  });

  const start = async (defaultLocale?: string) => {
    smtp = await new LoopbackSmtp(SMTP_PASSWORD).start();
    t = await startTestHerald(engine, {
      workflows: [welcome, looping],
      environments: ['development', 'production'],
      defaultLocale,
      channels: [{
        key: 'postal', type: 'email', provider: 'smtp', name: 'Postal',
        settings: { host: '127.0.0.1', port: smtp.port, ignore_tls: true, user: 'herald', password: SMTP_PASSWORD, from: 'Herald <noreply@herald.test>' },
      }],
    });
    const [development, production] = t.herald.environments;
    const client = (apiKey: string) => new Knock({ apiKey, baseURL: t.url, maxRetries: 0 });
    return {
      dev: client(development.keys.secret),
      prod: client(production.keys.secret),
      mgmt: new KnockMgmt({ serviceToken: t.herald.serviceToken.token!, baseURL: `${t.url}/mgmt`, maxRetries: 0 }),
    };
  };

  /** Partial `greeting`, translations en/fr (default and `shop` namespaces), layout `branded`: pushed, then committed. */
  async function pushContent(mgmt: KnockMgmt) {
    const environment = 'development';
    await mgmt.partials.upsert('greeting', { environment, partial: { name: 'Greeting', type: 'html', content: '<h1>{{ "welcome.hello" | t: name: recipient.name }}</h1>' } });
    for (const [locale, namespace, content] of [['en', '', en], ['fr', '', fr], ['en', 'shop', shopEn], ['fr', 'shop', shopFr]] as const) {
      await mgmt.translations.upsert(locale, { environment, namespace, translation: { content: JSON.stringify(content), format: 'json' } });
    }
    await mgmt.emailLayouts.upsert('branded', {
      environment,
      email_layout: { name: 'Branded', html_layout: '<html><body>{{ content }}<footer>{{ "footer" | t }}</footer></body></html>', text_layout: '{{ content }}\n-- {{ "footer" | t }}' },
    });
    await mgmt.commits.commitAll({ environment, commit_message: 'templates' });
  }

  it('previews a template with a partial and translations for a French recipient and for one without a locale (default locale)', async () => {
    const { dev, mgmt } = await start();
    await pushContent(mgmt);
    await dev.users.update('ada', { name: 'Ada', email: 'ada@example.com', locale: 'fr' } as never);
    await dev.users.update('bob', { name: 'Bob', email: 'bob@example.com' } as never);
    const template = { subject: '{{ "welcome.subject" | t: name: recipient.name }}', html_body: '{% render "greeting" %}<p>{{ "shop:order" | t: count: data.items }}</p>', settings: { layout_key: 'branded' } };

    const forAda = await mgmt.templates.preview({ environment: 'development', channel_type: 'email', template, recipient: 'ada', data: { items: 3 } });
    expect(forAda).toMatchObject({ result: 'success', content_type: 'email' });
    expect(forAda.template).toMatchObject({
      subject: 'Bienvenue, Ada',
      html_body: '<html><body><h1>Bonjour Ada</h1><p>3 articles</p><footer>Se désabonner</footer></body></html>',
    });

    const forBob = await mgmt.templates.preview({ environment: 'development', channel_type: 'email', template, recipient: 'bob', data: { items: 1 } });
    expect(forBob.template).toMatchObject({ subject: 'Welcome, Bob', html_body: '<html><body><h1>Hello Bob</h1><p>one item</p><footer>Unsubscribe</footer></body></html>' });

    // A regional locale falls back to its language, then to the default locale.
    await dev.users.update('cleo', { name: 'Cléo', locale: 'fr-CA' } as never);
    const inApp = await mgmt.templates.preview({ environment: 'development', channel_type: 'in_app_feed', template: { markdown_body: '{% render "greeting" %} {{ "missing.key" | t }}' }, recipient: 'cleo' });
    expect(inApp.template).toMatchObject({ markdown_body: '<h1>Bonjour Cléo</h1> missing.key' });

    // The workflow's own step, previewed as stored.
    const step = await mgmt.workflows.steps.previewTemplate('email', { environment: 'development', workflow_key: 'welcome', recipient: 'ada', data: { items: 2 } });
    expect(step).toMatchObject({ result: 'success', content_type: 'email', template: { subject: 'Bienvenue, Ada' } });
    expect((step.template as { html_body: string }).html_body).toContain('<p>2 articles</p><footer>Se désabonner</footer>');

    // Production has none of it until the commits are promoted.
    const before = await mgmt.templates.preview({ environment: 'production', channel_type: 'sms', template: { text_body: '{% render "greeting" %}' }, recipient: 'ada' });
    expect(before).toMatchObject({ result: 'error', content_type: 'sms' });
    expect(before.errors?.[0].message).toContain('the partial "greeting" does not exist');
    await mgmt.commits.promoteAll({ to_environment: 'production' });
    const after = await mgmt.templates.preview({ environment: 'production', channel_type: 'sms', template: { text_body: '{% render "greeting" %}' }, recipient: 'someone', data: {} });
    expect(after).toMatchObject({ result: 'success', template: { text_body: '<h1>Hello </h1>' } });
  });

  it('falls back to the configured default locale (HERALD_DEFAULT_LOCALE) in previews and in delivered messages', async () => {
    const { dev, mgmt } = await start('fr');
    await pushContent(mgmt);
    await dev.users.update('bob', { name: 'Bob' } as never);
    await dev.users.update('eve', { name: 'Eve', locale: 'en' } as never);
    const template = { markdown_body: '{{ "welcome.hello" | t: name: recipient.name }}' };
    expect((await mgmt.templates.preview({ environment: 'development', channel_type: 'in_app_feed', template, recipient: 'bob' })).template).toMatchObject({ markdown_body: 'Bonjour Bob' });
    expect((await mgmt.templates.preview({ environment: 'development', channel_type: 'in_app_feed', template, recipient: 'eve' })).template).toMatchObject({ markdown_body: 'Hello Eve' });
    await mgmt.workflows.upsert('hello-t', { environment: 'development', commit: true, commit_message: 'hello-t', workflow: { name: 'Hello t', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template }] } as never });
    await dev.workflows.trigger('hello-t', { recipients: ['bob'] });
    await t.drain();
    const [message] = (await dev.users.listMessages('bob')).items;
    expect(JSON.stringify(await dev.messages.getContent(message.id))).toContain('Bonjour Bob');
  });

  it('lists and gets what was pushed, uncommitted changes first in development; partial and layout previews', async () => {
    const { mgmt } = await start();
    await pushContent(mgmt);
    await mgmt.partials.upsert('greeting', { environment: 'development', partial: { name: 'Greeting v2', type: 'html', content: '<h2>v2</h2>' } });
    expect((await mgmt.partials.retrieve('greeting', { environment: 'development' })).name).toBe('Greeting v2');
    expect((await mgmt.partials.retrieve('greeting', { environment: 'development', hide_uncommitted_changes: true })).name).toBe('Greeting');
    const translations = await mgmt.translations.list({ environment: 'development' });
    expect(translations.entries.map((e) => [e.locale_code, e.namespace])).toEqual([['en', ''], ['en', 'shop'], ['fr', ''], ['fr', 'shop']]);
    const french = await mgmt.translations.retrieve('fr', { environment: 'development', namespace: 'shop' });
    expect(JSON.parse(french.translation.content)).toEqual(shopFr);
    const layouts = await mgmt.emailLayouts.list({ environment: 'development' });
    expect(layouts.entries.map((l) => [l.key, l.name])).toEqual([['branded', 'Branded']]);

    const auth = { authorization: `Bearer ${t.herald.serviceToken.token}`, 'content-type': 'application/json' };
    const partialPreview = await fetch(`${t.url}/mgmt/v1/partials/preview?environment=development`, {
      method: 'POST', headers: auth,
      body: JSON.stringify({ partial: { name: 'Card', type: 'html', content: '<div>{{ title }}</div>{% render "greeting" %}' }, data: { title: '<b>Hi</b>' }, layout: { key: 'branded' } }),
    });
    expect(await partialPreview.json()).toEqual({ result: 'success', type: 'html', content: '<html><body><div>&lt;b&gt;Hi&lt;/b&gt;</div><h2>v2</h2><footer>Unsubscribe</footer></body></html>' });
    const layoutPreview = await fetch(`${t.url}/mgmt/v1/email_layouts/preview?environment=development`, {
      method: 'POST', headers: auth,
      body: JSON.stringify({ email_layout: { name: 'X', html_layout: '<main>{{ content }}</main><i>{{ recipient.id }}</i>', text_layout: '{{ "footer" | t }}' }, recipient: 'zoe', data: { content: 'Body' } }),
    });
    expect(await layoutPreview.json()).toEqual({ result: 'success', layout: { html_body: '<main>Body</main><i>zoe</i>', text_body: 'Unsubscribe' } });
  });

  it('a triggered workflow delivers the partial, translations and API-managed layout in a real email and a feed message', async () => {
    const { dev, prod, mgmt } = await start();
    await pushContent(mgmt);
    await dev.users.update('ada', { name: 'Ada', email: 'ada@example.com', locale: 'fr' } as never);
    await dev.users.update('bob', { name: 'Bob', email: 'bob@example.com' } as never);
    await dev.workflows.trigger('welcome', { recipients: ['ada', 'bob'], data: { items: 2 } });
    await t.drain();

    const bySubject = new Map(smtp!.received.map((m) => [m.subject, m]));
    expect([...bySubject.keys()].sort()).toEqual(['Bienvenue, Ada', 'Welcome, Bob']);
    expect(bySubject.get('Bienvenue, Ada')!.html).toBe('<html><body><h1>Bonjour Ada</h1><p>2 articles</p><footer>Se désabonner</footer></body></html>');
    expect(bySubject.get('Bienvenue, Ada')!.text?.trim()).toBe('Bienvenue, Ada\n-- Se désabonner');
    expect(bySubject.get('Welcome, Bob')!.html).toBe('<html><body><h1>Hello Bob</h1><p>2 items</p><footer>Unsubscribe</footer></body></html>');
    const feed = (await dev.users.listMessages('ada')).items.find((m) => m.status === 'delivered');
    expect(feed).toBeDefined();
    const blocks = (await dev.messages.getContent(feed!.id)).data as { blocks: { name: string; rendered: string }[] };
    expect(blocks.blocks[0].rendered).toBe('<h1>Bonjour Ada</h1>');

    // A change to a translation reaches the next render once committed (no restart, no stale copy).
    await mgmt.translations.upsert('fr', { environment: 'development', namespace: '', translation: { content: JSON.stringify({ ...fr, welcome: { ...fr.welcome, hello: 'Salut {{ name }}' } }), format: 'json' }, commit: true });
    await expect.poll(async () => {
      await dev.workflows.trigger('welcome', { recipients: ['ada'], data: { items: 1 } });
      await t.drain();
      return smtp!.received.at(-1)!.html;
    }, { timeout: 10_000, interval: 200 }).toContain('<h1>Salut Ada</h1>');

    // Production was not promoted: its layout, partial and translations do not exist there.
    await prod.users.update('ada', { name: 'Ada', email: 'ada@example.com', locale: 'fr' } as never);
    await prod.workflows.trigger('welcome', { recipients: ['ada'], data: { items: 1 } });
    await t.drain();
    const [run] = (await prod.workflowRecipientRuns.list({ workflow: 'welcome' } as never)).items;
    const detail = await prod.workflowRecipientRuns.get(run.id);
    expect(JSON.stringify(detail.events)).toContain('email layout \\"branded\\" is not configured');
  });

  it('bounds: a partial that renders itself and an oversized translation are refused with a clear reason', async () => {
    const { mgmt } = await start();
    await mgmt.partials.upsert('loop', { environment: 'development', partial: { name: 'Loop', type: 'text', content: 'x{% render "loop" %}' }, commit: true });
    await mgmt.partials.upsert('fanout', { environment: 'development', partial: { name: 'Fan', type: 'text', content: '{% for i in (1..200) %}{% render "leaf" %}{% endfor %}' }, commit: true });
    await mgmt.partials.upsert('leaf', { environment: 'development', partial: { name: 'Leaf', type: 'text', content: '{% for i in (1..100) %}{% render "tiny" %}{% endfor %}' }, commit: true });
    await mgmt.partials.upsert('tiny', { environment: 'development', partial: { name: 'Tiny', type: 'text', content: '.' }, commit: true });

    const recursive = await mgmt.templates.preview({ environment: 'development', channel_type: 'sms', template: { text_body: '{% render "loop" %}' }, recipient: 'ada' });
    expect(recursive.result).toBe('error');
    expect(recursive.errors?.[0].message).toMatch(/partials are nested more than 16 deep \(does a partial render itself\?\)/);
    const explosive = await mgmt.templates.preview({ environment: 'development', channel_type: 'sms', template: { text_body: '{% render "fanout" %}' }, recipient: 'ada' });
    expect(explosive.result).toBe('error');
    expect(explosive.errors?.[0].message).toMatch(/partials were rendered more than 10000 times|took longer than/);

    // In a run: the step fails on the bound and the run halts at once (no retries), saying why.
    const [development] = t.herald.environments;
    const dev = new Knock({ apiKey: development.keys.secret, baseURL: t.url, maxRetries: 0 });
    await dev.workflows.trigger('looping', { recipients: ['ada'] });
    await t.drain();
    expect((await dev.users.listMessages('ada')).items).toEqual([]);
    const [run] = (await dev.workflowRecipientRuns.list({ workflow: 'looping' } as never)).items;
    const detail = await dev.workflowRecipientRuns.get(run.id);
    const halted = detail.events.filter((e) => e.event === 'run_halted');
    expect(halted).toHaveLength(1);
    expect((halted[0].data as { reason: string }).reason).toContain('partials are nested more than 16 deep');

    const huge = JSON.stringify({ big: 'x'.repeat(300_000) });
    const refused = await mgmt.translations.upsert('en', { environment: 'development', namespace: '', translation: { content: huge, format: 'json' } }).then(() => null, (err: { status?: number; error?: unknown }) => err);
    expect(refused?.status).toBe(422);
    expect(JSON.stringify(refused?.error)).toContain('a translation file may have at most 262,144');
    const notJson = await mgmt.translations.upsert('en', { environment: 'development', namespace: '', translation: { content: '{"a": ', format: 'json' } }).then(() => null, (err: { status?: number; error?: unknown }) => err);
    expect(notJson?.status).toBe(422);
    expect(JSON.stringify(notJson?.error)).toContain('translation.content');
    const badLiquid = await mgmt.partials.upsert('broken', { environment: 'development', partial: { name: 'Broken', type: 'html', content: '{% if %}' } }).then(() => null, (err: { status?: number; error?: unknown }) => err);
    expect(badLiquid?.status).toBe(422);
    expect(JSON.stringify(badLiquid?.error)).toContain('partial.content');
  });
});
