/**
 * knock-cli (@knocklabs/cli, unchanged) managing partials, translations and email layouts in
 * Herald, on loopback only (support/loopback-only.mjs): `validate --all` and `push --all` of a
 * knock-cli folder whose bodies are `@` files (`translation push` runs only when whoami says
 * `translations_allowed`), `get`, `list`, `commit`, `commit promote`, then `pull --all` giving
 * back the same files. Template previews (@knocklabs/mgmt) show what renders use: development's
 * uncommitted changes there, and nothing in production until promoted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Knock from '@knocklabs/node';
import KnockMgmt from '@knocklabs/mgmt';
import { knockCli } from '../support/knock-cli.js';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';

const CLI_TEST_TIMEOUT_MS = 600_000;

const GREETING = '<h1>{{ "hello" | t: name: recipient.name }}</h1>\n';
const HTML_LAYOUT = '<html><body>{{ content }}<footer>{{ "footer" | t }}</footer></body></html>\n';
const TEXT_LAYOUT = '{{ content }}\n-- {{ "footer" | t }}\n';
const EN = { hello: 'Hello {{ name }}', footer: 'Unsubscribe' };
const FR = { hello: 'Bonjour {{ name }}', footer: 'Se désabonner' };
const SHOP_EN = { order: { one: 'one item', other: '{{ count }} items' } };

/** A knock-cli project: partials/, layouts/ and translations/ as knock-cli lays them out. */
function writeProject(root: string) {
  mkdirSync(join(root, 'partials/greeting'), { recursive: true });
  writeFileSync(join(root, 'partials/greeting/partial.json'), JSON.stringify({ name: 'Greeting', type: 'html', description: 'The greeting', 'content@': 'content.html' }, null, 2));
  writeFileSync(join(root, 'partials/greeting/content.html'), GREETING);
  mkdirSync(join(root, 'layouts/branded'), { recursive: true });
  writeFileSync(join(root, 'layouts/branded/layout.json'), JSON.stringify({ name: 'Branded', 'html_layout@': 'html_layout.html', 'text_layout@': 'text_layout.txt', footer_links: [{ text: 'Home', url: 'https://example.com' }] }, null, 2));
  writeFileSync(join(root, 'layouts/branded/html_layout.html'), HTML_LAYOUT);
  writeFileSync(join(root, 'layouts/branded/text_layout.txt'), TEXT_LAYOUT);
  mkdirSync(join(root, 'translations/en'), { recursive: true });
  mkdirSync(join(root, 'translations/fr'), { recursive: true });
  writeFileSync(join(root, 'translations/en/en.json'), JSON.stringify(EN, null, 2));
  writeFileSync(join(root, 'translations/fr/fr.json'), JSON.stringify(FR, null, 2));
  writeFileSync(join(root, 'translations/en/shop.en.json'), JSON.stringify(SHOP_EN, null, 2));
}

/** knock-cli's error output wrapped at its terminal width, as one line. */
const flat = (text: string) => text.replace(/\s*\n\s*›?\s*/g, ' ');

describe.each(engines)('knock-cli manages partials, translations and layouts (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t?.close(); });

  function cli(home: string) {
    return async (args: string[]) => {
      const out = await knockCli(args, { home, token: t.herald.serviceToken.token!, origin: `${t.url}/mgmt` });
      expect(out.stderr).not.toContain('OUTSIDE NETWORK');
      return out;
    };
  }

  it('partial, translation and layout push --all, commit, then pull --all gives the same files back', async () => {
    t = await startTestHerald(engine, { environments: ['development', 'production'] });
    const [development] = t.herald.environments;
    const dev = new Knock({ apiKey: development.keys.secret, baseURL: t.url, maxRetries: 0 });
    const mgmt = new KnockMgmt({ serviceToken: t.herald.serviceToken.token!, baseURL: `${t.url}/mgmt`, maxRetries: 0 });
    await dev.users.update('ada', { name: 'Ada', locale: 'fr' } as never);
    const preview = () => mgmt.templates.preview({
      environment: 'development', channel_type: 'email', recipient: 'ada',
      template: { subject: 'Hi', html_body: '{% render "greeting" %}', settings: { layout_key: 'branded' } },
    });

    const home = mkdtempSync(join(tmpdir(), 'herald-knock-templates-'));
    writeProject(home);
    const knock = cli(home);

    for (const [kind, dir] of [['partial', 'partials'], ['translation', 'translations'], ['layout', 'layouts']]) {
      const checked = await knock([kind, 'validate', '--all', `--${dir}-dir`, dir]);
      expect(checked.code, `${kind} validate: ${checked.stderr}`).toBe(0);
      expect(checked.stdout).toMatch(/Successfully validated \d+/);
    }

    const partials = await knock(['partial', 'push', '--all', '--partials-dir', 'partials']);
    expect(partials.code).toBe(0);
    expect(partials.stdout).toMatch(/Successfully pushed 1 partial\(s\)/);
    // knock-cli rewrote partial.json from Herald's answer: the content is still in its own file.
    const partialJson = JSON.parse(readFileSync(join(home, 'partials/greeting/partial.json'), 'utf8'));
    expect(partialJson).toMatchObject({ name: 'Greeting', type: 'html', 'content@': 'content.html' });
    expect(partialJson.content).toBeUndefined();
    expect(readFileSync(join(home, 'partials/greeting/content.html'), 'utf8')).toBe(GREETING);

    const translations = await knock(['translation', 'push', '--all', '--translations-dir', 'translations']);
    expect(translations.code).toBe(0);
    expect(translations.stdout).toMatch(/Successfully pushed 3 translation\(s\)/);

    const layouts = await knock(['layout', 'push', '--all', '--layouts-dir', 'layouts']);
    expect(layouts.code).toBe(0);
    expect(layouts.stdout).toMatch(/Successfully pushed 1 layout\(s\)/);

    // Pushed, not committed: the preview in development already uses the uncommitted changes ...
    expect((await preview()).template).toMatchObject({ html_body: '<html><body><h1>Bonjour Ada</h1><footer>Se désabonner</footer></body></html>' });
    // ... while what runs (and production) does not have them yet.
    const partialList = await knock(['partial', 'list', '--json', '--hide-uncommitted-changes']);
    expect(JSON.parse(partialList.stdout).entries).toEqual([]);

    const committed = await knock(['commit', '-m', 'templates', '--force']);
    expect(committed.code).toBe(0);
    const commits = await mgmt.commits.list({ environment: 'development' });
    expect(commits.entries.map((c) => `${c.resource.type}:${c.resource.identifier}`).sort())
      .toEqual(['email_layout:branded', 'partial:greeting', 'translation:en', 'translation:fr', 'translation:shop.en']);

    const listed = await knock(['partial', 'list', '--json', '--hide-uncommitted-changes']);
    expect(JSON.parse(listed.stdout).entries.map((p: { key: string }) => p.key)).toEqual(['greeting']);
    const translationList = await knock(['translation', 'list', '--json']);
    expect(JSON.parse(translationList.stdout).entries.map((e: { locale_code: string; namespace: string }) => `${e.namespace}.${e.locale_code}`)).toEqual(['.en', 'shop.en', '.fr']);

    const partialGet = await knock(['partial', 'get', 'greeting', '--json']);
    expect(JSON.parse(partialGet.stdout)).toMatchObject({ key: 'greeting', name: 'Greeting', type: 'html', content: GREETING, environment: 'development' });
    const layoutGet = await knock(['layout', 'get', 'branded', '--json']);
    expect(JSON.parse(layoutGet.stdout)).toMatchObject({ key: 'branded', name: 'Branded', html_layout: HTML_LAYOUT, text_layout: TEXT_LAYOUT });
    const layoutList = await knock(['layout', 'list']);
    expect(layoutList.code).toBe(0);
    expect(layoutList.stdout).toMatch(/branded\s+Branded/);
    const translationGet = await knock(['translation', 'get', 'fr', '--json']);
    expect(JSON.parse(JSON.parse(translationGet.stdout).content)).toEqual(FR);

    const promoted = await knock(['commit', 'promote', '--to', 'production', '--force']);
    expect(promoted.code).toBe(0);
    const inProduction = await mgmt.templates.preview({ environment: 'production', channel_type: 'sms', recipient: 'bob', template: { text_body: '{% render "greeting" %}' } });
    expect(inProduction).toMatchObject({ result: 'success', template: { text_body: '<h1>Hello </h1>' } });

    // Pulling everything into a fresh folder gives back the same files.
    const pulledPartials = await knock(['partial', 'pull', '--all', '--partials-dir', 'pulled/partials', '--force']);
    expect(pulledPartials.code).toBe(0);
    expect(readFileSync(join(home, 'pulled/partials/greeting/content.html'), 'utf8')).toBe(GREETING);
    expect(JSON.parse(readFileSync(join(home, 'pulled/partials/greeting/partial.json'), 'utf8')))
      .toMatchObject({ name: 'Greeting', type: 'html', description: 'The greeting', 'content@': 'content.html' });

    const pulledLayouts = await knock(['layout', 'pull', '--all', '--layouts-dir', 'pulled/layouts', '--force']);
    expect(pulledLayouts.code).toBe(0);
    expect(readFileSync(join(home, 'pulled/layouts/branded/html_layout.html'), 'utf8')).toBe(HTML_LAYOUT);
    expect(readFileSync(join(home, 'pulled/layouts/branded/text_layout.txt'), 'utf8')).toBe(TEXT_LAYOUT);
    expect(JSON.parse(readFileSync(join(home, 'pulled/layouts/branded/layout.json'), 'utf8')))
      .toMatchObject({ name: 'Branded', footer_links: [{ text: 'Home', url: 'https://example.com' }], 'html_layout@': 'html_layout.html', 'text_layout@': 'text_layout.txt' });

    const pulledTranslations = await knock(['translation', 'pull', '--all', '--translations-dir', 'pulled/translations', '--force']);
    expect(pulledTranslations.code).toBe(0);
    const readJson = (path: string) => JSON.parse(readFileSync(join(home, path), 'utf8'));
    expect(readJson('pulled/translations/en/en.json')).toEqual(EN);
    expect(readJson('pulled/translations/fr/fr.json')).toEqual(FR);
    expect(readJson('pulled/translations/en/shop.en.json')).toEqual(SHOP_EN);

    // One translation by ref, from production.
    mkdirSync(join(home, 'one'), { recursive: true });
    const one = await cli(join(home, 'one'))(['translation', 'pull', 'shop.en', '--environment', 'production', '--force']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('shop.en');
  }, CLI_TEST_TIMEOUT_MS);

  it('validate reports the field and reason; a bad push changes nothing', async () => {
    t = await startTestHerald(engine, { environments: ['development', 'production'] });
    const home = mkdtempSync(join(tmpdir(), 'herald-knock-templates-bad-'));
    mkdirSync(join(home, 'partials/broken'), { recursive: true });
    writeFileSync(join(home, 'partials/broken/partial.json'), JSON.stringify({ name: 'Broken', type: 'html', content: '{% if %}' }));
    mkdirSync(join(home, 'translations/en'), { recursive: true });
    writeFileSync(join(home, 'translations/en/en.json'), JSON.stringify({ big: 'x'.repeat(300_000) }));
    const knock = cli(home);

    const partial = await knock(['partial', 'validate', '--all', '--partials-dir', 'partials']);
    expect(partial.code).not.toBe(0);
    expect(flat(partial.stderr)).toContain('partial.content');
    const pushed = await knock(['partial', 'push', '--all', '--partials-dir', 'partials']);
    expect(pushed.code).not.toBe(0);
    const translation = await knock(['translation', 'push', '--all', '--translations-dir', 'translations']);
    expect(translation.code).not.toBe(0);
    expect(flat(translation.stderr)).toContain('a translation file may have at most 262,144');
    const list = await knock(['partial', 'list', '--json']);
    expect(JSON.parse(list.stdout).entries).toEqual([]);
  }, CLI_TEST_TIMEOUT_MS);
});
