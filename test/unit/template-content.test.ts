/**
 * Partials and translations on their way to the render processes: what a render references is
 * found in its sources (through partials), each text is sent to a process once (by sha) and kept
 * there, and a process told to forget them (its record full) no longer has them. Plus Knock's
 * `t` filter semantics (translate.ts) and the locale chain.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RenderPool } from '../../src/templates/render-pool.js';
import { contentForRender, contentSha, localeChain, templateContent } from '../../src/templates/content.js';
import { translate, type Translator } from '../../src/templates/translate.js';

const content = templateContent(
  [
    { key: 'outer', type: 'html', content: '[{% render "inner" %}]' },
    { key: 'inner', type: 'html', content: '{{ "hi" | t }}' },
    { key: 'unused', type: 'html', content: 'never sent' },
  ],
  [
    { locale_code: 'en', namespace: '', content: '{"hi":"Hello"}' },
    { locale_code: 'fr', namespace: '', content: '{"hi":"Salut"}' },
    { locale_code: 'de', namespace: '', content: '{"hi":"Hallo"}' },
  ],
);

describe('what a render carries', () => {
  it('follows partials through partials, and sends translations of the locale chain only when t is used', () => {
    const needs = contentForRender(content, ['{% render "outer" %}'], 'fr-CA')!;
    expect(Object.keys(needs.content.partials).sort()).toEqual(['inner', 'outer']);
    expect(needs.content.translations.map((t) => t.locale)).toEqual(['fr', 'en']);
    expect([...needs.blobs.values()]).not.toContain('never sent');
    expect(contentForRender(content, ['no partials, no t'], 'fr')).toBeNull();
    const noT = contentForRender(content, ['{% render "outer" %}'.replace('outer', 'unused')], 'fr')!;
    expect(noT.content.translations).toEqual([]);
    // A partial named by a variable: every partial goes.
    expect(Object.keys(contentForRender(content, ['{% render data.which %}'], null)!.content.partials).sort()).toEqual(['inner', 'outer', 'unused']);
  });

  it('locale chain: the locale, its language, then the default', () => {
    expect(localeChain('fr-CA', 'en')).toEqual(['fr-ca', 'fr', 'en']);
    expect(localeChain('pt_BR', 'en')).toEqual(['pt-br', 'pt', 'en']);
    expect(localeChain(undefined, 'en')).toEqual(['en']);
    expect(localeChain('EN', 'en')).toEqual(['en']);
  });
});

describe('the t filter', () => {
  const files: Record<string, Record<string, unknown>> = {
    '': { a: { b: 'Deep {{ who }}' }, n: { zero: 'none', one: 'one', other: '{{ count }} things' } },
    admin: { a: { b: 'Admin' } },
  };
  const translator: Translator = {
    lookup(namespace, path) {
      let node: unknown = files[namespace];
      for (const p of path) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[p] : undefined;
      return node;
    },
  };
  it('namespaces, paths, arguments, plurals and missing keys', () => {
    expect(translate(translator, 'a.b', [['who', 'me']])).toBe('Deep me');
    expect(translate(translator, 'admin:a.b', [])).toBe('Admin');
    expect(translate(translator, 'n', [['count', 0]])).toBe('none');
    expect(translate(translator, 'n', [['count', 1]])).toBe('one');
    expect(translate(translator, 'n', [['count', 7]])).toBe('7 things');
    expect(translate(translator, 'nope.here', [])).toBe('nope.here');
    // Arguments are substituted as text, never evaluated as Liquid.
    expect(translate(translator, 'a.b', [['who', '{{ data.secret }}']])).toBe('Deep {{ data.secret }}');
  });
});

describe('texts in the render processes', () => {
  let pool: RenderPool;
  afterEach(async () => { await pool.close(); });

  const partial = (key: string, text: string) => ({ content: { partials: { [key]: contentSha(text) }, translations: [] }, blobs: new Map([[contentSha(text), text]]) });
  const referenceOnly = (key: string, text: string) => ({ content: { partials: { [key]: contentSha(text) }, translations: [] }, blobs: new Map<string, string>() });

  it('a text sent once stays in the process: later renders reference it by sha alone', async () => {
    pool = new RenderPool(1);
    // Never sent: the process does not have it.
    expect(await pool.render([{ source: '{% render "p" %}' }], {}, referenceOnly('p', 'A {{ x }}'))).toMatchObject([{ ok: false, message: expect.stringContaining('the partial "p" does not exist') }]);
    expect(await pool.render([{ source: '{% render "p" %}' }], { x: 1 }, partial('p', 'A {{ x }}'))).toEqual([{ ok: true, text: 'A 1' }]);
    // The pool knows the process holds it, so the text is not sent again, and the render still works.
    expect(await pool.render([{ source: '{% render "p" %}' }], { x: 2 }, referenceOnly('p', 'A {{ x }}'))).toEqual([{ ok: true, text: 'A 2' }]);
  });

  it('past its record\'s size the process is told to forget every text, and is sent what it needs again', async () => {
    // A record of 10,000 characters (Herald's is 8 M), so small texts fill it.
    pool = new RenderPool(1, undefined, undefined, 10_000);
    const set = (name: string, fill: string) => {
      const texts = Array.from({ length: 3 }, (_, i) => `${name}${i}${fill.repeat(2_000)}`);
      const partials = Object.fromEntries(texts.map((text, i) => [`${name}${i}`, contentSha(text)]));
      const source = texts.map((_, i) => `{% render "${name}${i}" %}`).join('');
      return { texts, source, full: { content: { partials, translations: [] }, blobs: new Map(texts.map((t) => [contentSha(t), t])) }, bare: { content: { partials, translations: [] }, blobs: new Map<string, string>() } };
    };
    const a = set('a', 'x');
    const b = set('b', 'y');
    expect(await pool.render([{ source: a.source }], {}, a.full)).toEqual([{ ok: true, text: a.texts.join('') }]);
    expect(await pool.render([{ source: a.source }], {}, a.bare)).toEqual([{ ok: true, text: a.texts.join('') }]);
    // 12,000 characters in all, past the record: the process forgets a's texts before taking b's.
    expect(await pool.render([{ source: b.source }], {}, b.full)).toEqual([{ ok: true, text: b.texts.join('') }]);
    expect(await pool.render([{ source: a.source }], {}, a.bare)).toMatchObject([{ ok: false, message: expect.stringContaining('the partial "a0" does not exist') }]);
    // Sent again with their texts (the pool's record says the process lacks them), they render.
    expect(await pool.render([{ source: a.source }], {}, a.full)).toEqual([{ ok: true, text: a.texts.join('') }]);
  }, 60_000);
});
