/**
 * The pieces of email tracking on their own: the link rewrite over untrusted HTML (what it
 * touches, what it leaves, its bounds and its cost on hostile input) and the signed tokens
 * (any change to a token is refused).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appendOpenPixel, decodeAttribute, rewriteLinks, TRACKED_HTML_MAX_CHARS, TRACKED_LINKS_MAX, trackableUrl } from '../../src/tracking/html.js';
import { signTrackingToken, verifyTrackingToken } from '../../src/tracking/token.js';
import { trackingFlags } from '../../src/tracking/flags.js';
import { parseChannelConfigs } from '../../src/domain/channel-config.js';

/** Rewrites every tracked link to `T<index>` and returns the HTML and the URLs seen. */
function rewrite(html: string) {
  const urls: string[] = [];
  const out = rewriteLinks(html, (url, i) => {
    urls.push(url);
    return `T${i}`;
  });
  return { html: out.html, urls, rewritten: out.rewritten, tooLarge: out.tooLarge };
}

describe('rewriteLinks', () => {
  it('rewrites absolute http(s) hrefs of <a>, quoted or not, in any case, keeping the other attributes', () => {
    const r = rewrite('<a href="https://a.example/x">1</a><A class=b HREF=\'HTTP://b.example/?q=1&amp;r=2\' id=c>2</A><a\nhref = https://c.example/p/>3</a><a/href="https://d.example">4</a>');
    expect(r.urls).toEqual(['https://a.example/x', 'http://b.example/?q=1&r=2', 'https://c.example/p/', 'https://d.example/']);
    expect(r.html).toBe('<a href="T0">1</a><A class=b HREF="T1" id=c>2</A><a\nhref = "T2">3</a><a/href="T3">4</a>');
  });

  it('leaves mailto:, tel:, fragments, relative and scheme-less links, javascript:, and non-<a> elements alone', () => {
    const html = '<a href="mailto:x@y.z">m</a><a href="tel:+1">t</a><a href="#top">f</a><a href="/p">r</a><a href="//cdn.example/x">s</a>'
      + '<a href="javascript:alert(1)">j</a><a name="x">n</a><a href>e</a><link href="https://font.example/css"><area href="https://a.example/">'
      + '<img src="https://img.example/i.png"><abbr href="https://abbr.example/">a</abbr>';
    expect(rewrite(html)).toMatchObject({ html, urls: [] });
  });

  it('skips comments, bogus comments and raw-text elements, where a browser sees no link', () => {
    const html = '<!-- <a href="https://c1.example/"> --><!DOCTYPE html><?xml <a href="https://c2.example/"> ?>'
      + '<script>var s = \'<a href="https://s.example/">\';</script ><style>/* <a href="https://st.example/"> */</style>'
      + '<title><a href="https://t.example/"></title><textarea><a href="https://ta.example/"></textarea>'
      + '<a href="https://real.example/">ok</a>';
    const r = rewrite(html);
    expect(r.urls).toEqual(['https://real.example/']);
    expect(r.html).toBe(html.replace('"https://real.example/"', '"T0"'));
  });

  it('uses the first of duplicate href attributes, as the browser does', () => {
    const r = rewrite('<a href="https://first.example/" href="https://second.example/">x</a>');
    expect(r.urls).toEqual(['https://first.example/']);
    expect(r.html).toBe('<a href="T0" href="https://second.example/">x</a>');
  });

  it('does not track a link whose character references it cannot decode exactly', () => {
    expect(decodeAttribute('https://a.example/?a=1&amp;b=&#50;&#x33;&quot;')).toBe('https://a.example/?a=1&b=23"');
    expect(decodeAttribute('https://a.example/?c=&copy;')).toBeNull();
    expect(decodeAttribute('https://a.example/?c=&copy')).toBeNull();
    expect(decodeAttribute('https://a.example/?a=1& b')).toBe('https://a.example/?a=1& b');
    expect(rewrite('<a href="https://a.example/?x=&copy;">c</a>').urls).toEqual([]);
  });

  it('normalises what the URL parser would (whitespace, case, encoding) and refuses the rest', () => {
    expect(trackableUrl('  https://EXAMPLE.com/a b\n')).toBe('https://example.com/a%20b');
    expect(trackableUrl('https://exa\tmple.com/')).toBe('https://example.com/');
    expect(trackableUrl('https:/x')).toBe('https://x/');
    expect(trackableUrl('https://')).toBeNull();
    expect(trackableUrl('ftp://example.com/')).toBeNull();
    expect(trackableUrl(`https://example.com/${'a'.repeat(3000)}`)).toBeNull();
  });

  it('stops at an unterminated tag or quote and returns the rest unchanged', () => {
    const html = '<a href="https://a.example/">a</a><a href="https://b.example/ <p>never closed';
    const r = rewrite(html);
    expect(r.urls).toEqual(['https://a.example/']);
    expect(r.html).toBe(html.replace('"https://a.example/"', '"T0"'));
  });

  it('is bounded: at most TRACKED_LINKS_MAX links, and HTML over TRACKED_HTML_MAX_CHARS is left as it is', () => {
    const many = '<a href="https://a.example/">x</a>'.repeat(TRACKED_LINKS_MAX + 10);
    const r = rewrite(many);
    expect(r.rewritten).toBe(TRACKED_LINKS_MAX);
    expect(r.html.endsWith('<a href="https://a.example/">x</a>'.repeat(10))).toBe(true);
    const big = '<a href="https://a.example/">x</a>' + ' '.repeat(TRACKED_HTML_MAX_CHARS);
    expect(rewrite(big)).toMatchObject({ html: big, urls: [], tooLarge: true });
  });

  it('stays linear on hostile input just under the size bound', () => {
    const n = TRACKED_HTML_MAX_CHARS - 100;
    const hostile = [
      '<'.repeat(n),
      '<a '.repeat(n / 3),
      '<a x=y '.repeat(n / 7),
      '<!-'.repeat(n / 3),
      '<script>' + '</scrip'.repeat(n / 8),
      '<a href="https://a.example/?' + '&'.repeat(n - 40) + '">',
      '<a href=x>'.repeat(n / 10),
    ];
    const timings: number[] = [];
    for (const html of hostile) {
      const started = performance.now();
      rewriteLinks(html, () => 'T');
      timings.push(performance.now() - started);
    }
    // Measured ≈ 0–70 ms each (one process, busy machine); a quadratic scan of 1 MiB would take
    // minutes, so the generous bound only allows for a machine shared with other work.
    expect(Math.max(...timings)).toBeLessThan(10_000);
  });

  it('puts the open pixel before the last </body>, or at the end', () => {
    expect(appendOpenPixel('<body><p>x</p></BODY >', 'https://h.example/o?a&b')).toBe(
      '<body><p>x</p><img src="https://h.example/o?a&amp;b" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;" /></BODY >');
    expect(appendOpenPixel('<p>x</p>', 'u')).toMatch(/^<p>x<\/p><img src="u"/);
  });
});

describe('tracking tokens', () => {
  const key = randomBytes(32);
  const click = { kind: 'click', environment: 'development', messageId: '2abcDEF', index: 3, url: 'https://example.com/é?q=1' } as const;

  it('round-trips click and open claims', () => {
    expect(verifyTrackingToken(key, signTrackingToken(key, click)!)).toEqual(click);
    const open = { kind: 'open', environment: 'production', messageId: 'm1' } as const;
    expect(verifyTrackingToken(key, signTrackingToken(key, open)!)).toEqual(open);
  });

  it('refuses a token changed anywhere, or signed with another key', () => {
    const token = signTrackingToken(key, click)!;
    fc.assert(fc.property(fc.nat(token.length - 1), fc.constantFrom(...'ABCabc019-_.'), (i, ch) => {
      fc.pre(token[i] !== ch);
      expect(verifyTrackingToken(key, token.slice(0, i) + ch + token.slice(i + 1))).toBeNull();
    }), { numRuns: 500 });
    expect(verifyTrackingToken(randomBytes(32), token)).toBeNull();
    expect(verifyTrackingToken(key, token + 'A')).toBeNull();
    expect(verifyTrackingToken(key, '')).toBeNull();
  });

  it('makes no token for a URL too long to fit a path', () => {
    expect(signTrackingToken(key, { ...click, url: `https://example.com/${'x'.repeat(2500)}` })).toBeNull();
  });
});

describe('tracking settings', () => {
  it('are off by default; a step override wins over the channel', () => {
    expect(trackingFlags(undefined, undefined)).toEqual({ links: false, opens: false });
    expect(trackingFlags({ link_tracking: true, open_tracking: true }, { open_tracking: false })).toEqual({ links: true, opens: false });
    expect(trackingFlags({}, { link_tracking: true })).toEqual({ links: true, opens: false });
  });

  it('are validated in the channel configuration: booleans, email channels only', () => {
    const email = (settings: Record<string, unknown>, type = 'email') => () => parseChannelConfigs([{ key: 'c', type, provider: 'smtp', settings }], 'channels');
    expect(email({ link_tracking: true, open_tracking: false })()[0].settings).toEqual({ link_tracking: true, open_tracking: false });
    expect(email({ link_tracking: 'yes' })).toThrow('channels[0].settings.link_tracking must be true or false');
    expect(email({ open_tracking: true }, 'sms')).toThrow('email channels only');
  });
});
