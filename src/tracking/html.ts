/**
 * Rewrites the links of rendered email HTML for link tracking, and adds the open pixel. The
 * HTML is the output of a template (untrusted), so this is a single forward scan, linear in the
 * input, with bounds on the input size and on the links rewritten; no regex backtracking over
 * the document. It follows the HTML tokenizer where it matters for finding `href`s:
 * comments, bogus comments (`<!…>`, `<?…>`), raw-text elements (script, style, …) whose content
 * holds no tags, quoted and unquoted attribute values, and the first of duplicate attributes.
 * Only `<a href>` values that are absolute http(s) URLs are rewritten; `mailto:`, `tel:`,
 * fragments, relative links and anything it cannot decode exactly are left as they are.
 */

/** HTML longer than this is sent with its links untouched (the email is not held back). */
export const TRACKED_HTML_MAX_CHARS = 1024 * 1024;
/** At most this many links of one message are rewritten; later ones stay as they are. */
export const TRACKED_LINKS_MAX = 500;
/** Longer URLs are left as they are (their token would not fit a URL path). */
export const TRACKED_URL_MAX_CHARS = 2048;

/** Elements whose content is text, not markup, up to their end tag (the tokenizer's RAWTEXT/RCDATA/script states). */
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript']);

/** The tokenizer's whitespace: tab, LF, FF, CR, space. */
const isSpace = (c: number) => c === 9 || c === 10 || c === 12 || c === 13 || c === 32;
const SLASH = 47;
const GT = 62;
const EQ = 61;

/** Where each raw-text element's content ends: `</name` followed by whitespace, `/` or `>`. */
const RAW_TEXT_END = new Map([...RAW_TEXT].map((name) => [name, new RegExp(`</${name}[\\t\\n\\f\\r />]`, 'gi')]));

interface Href {
  /** Where the value's raw text starts and ends (inside the quotes, when quoted). */
  valueStart: number;
  valueEnd: number;
  quoted: boolean;
}

interface Tag {
  name: string;
  /** The first `href` attribute with a value (kept only for `<a>`). */
  href: Href | null;
  /** Index just past the tag's `>`, or -1 when the document ends inside the tag. */
  end: number;
}

/** Reads a start or end tag whose name begins at `i` (just after `<` or `</`). */
function readTag(html: string, i: number): Tag {
  const n = html.length;
  let j = i;
  for (let c = html.charCodeAt(j); j < n && !isSpace(c) && c !== SLASH && c !== GT; c = html.charCodeAt(++j));
  const name = html.slice(i, j).toLowerCase();
  const isLink = name === 'a';
  let href: Href | null = null;
  let sawHref = false;
  for (;;) {
    while (j < n && (isSpace(html.charCodeAt(j)) || html.charCodeAt(j) === SLASH)) j++;
    if (j >= n) return { name, href, end: -1 };
    if (html.charCodeAt(j) === GT) return { name, href, end: j + 1 };
    // Attribute name: up to whitespace, '/', '>' or '=' (a leading '=' belongs to the name).
    const nameStart = j;
    j++;
    for (let c = html.charCodeAt(j); j < n && !isSpace(c) && c !== SLASH && c !== GT && c !== EQ; c = html.charCodeAt(++j));
    // Duplicate attributes: the first one counts, as in the browser.
    const isHref = isLink && !sawHref && j - nameStart === 4 && html.slice(nameStart, j).toLowerCase() === 'href';
    if (isHref) sawHref = true;
    let k = j;
    while (k < n && isSpace(html.charCodeAt(k))) k++;
    if (html.charCodeAt(k) !== EQ) continue;
    k++;
    while (k < n && isSpace(html.charCodeAt(k))) k++;
    const q = html[k];
    if (q === '"' || q === "'") {
      const close = html.indexOf(q, k + 1);
      if (close === -1) return { name, href, end: -1 };
      if (isHref) href = { valueStart: k + 1, valueEnd: close, quoted: true };
      j = close + 1;
    } else {
      let e = k;
      for (let c = html.charCodeAt(e); e < n && !isSpace(c) && c !== GT; c = html.charCodeAt(++e));
      if (isHref) href = { valueStart: k, valueEnd: e, quoted: false };
      j = e;
    }
  }
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * An attribute value with its character references decoded, or null when it holds one this
 * does not decode exactly (a named reference other than the five above, e.g. `&copy;`): such a
 * link is left untracked rather than redirected to a URL the browser would not have opened.
 */
export function decodeAttribute(raw: string): string | null {
  if (!raw.includes('&')) return raw;
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const amp = raw.indexOf('&', i);
    if (amp === -1) { out += raw.slice(i); break; }
    out += raw.slice(i, amp);
    const c = raw.charCodeAt(amp + 1);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!letter && c !== 35 /* # */) {
      out += '&'; // not a character reference
      i = amp + 1;
      continue;
    }
    const rest = raw.slice(amp + 1, amp + 40);
    const numeric = /^#(?:[xX]([0-9a-fA-F]{1,6})|([0-9]{1,7}));/.exec(rest);
    const named = /^([A-Za-z][A-Za-z0-9]*);/.exec(rest);
    if (numeric) {
      const cp = numeric[1] !== undefined ? Number.parseInt(numeric[1], 16) : Number.parseInt(numeric[2], 10);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
      out += String.fromCodePoint(cp);
      i = amp + 1 + numeric[0].length;
    } else if (named) {
      const ch = NAMED[named[1]];
      if (ch === undefined) return null;
      out += ch;
      i = amp + 1 + named[0].length;
    } else if (/^[A-Za-z#]/.test(rest)) {
      // `&copy` without ';', `&#12` without ';': legacy references a browser may decode.
      return null;
    } else {
      out += '&';
      i = amp + 1;
    }
  }
  return out;
}

/**
 * The absolute http(s) URL a link leads to, serialized (percent-encoded, so safe in a Location
 * header), or null for anything that is not tracked. Leading and trailing C0 controls and
 * spaces, and tabs and newlines anywhere, are dropped as the URL parser does.
 */
export function trackableUrl(value: string): string | null {
  const cleaned = value.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
  if (!/^https?:/i.test(cleaned) || cleaned.length > TRACKED_URL_MAX_CHARS) return null;
  let url: URL;
  try {
    url = new URL(cleaned);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return null;
  return url.href.length <= TRACKED_URL_MAX_CHARS ? url.href : null;
}

const escapeAttribute = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface RewriteResult {
  html: string;
  /** Links rewritten. */
  rewritten: number;
  /** True when the HTML was over TRACKED_HTML_MAX_CHARS and left as it was. */
  tooLarge: boolean;
}

/**
 * Replaces the `href` of every `<a>` whose value is an absolute http(s) URL with
 * `replace(url, index)` (index counts the links replaced, from 0). `replace` may return null to
 * leave a link as it is (e.g. its token would be too long).
 */
export function rewriteLinks(html: string, replace: (url: string, index: number) => string | null): RewriteResult {
  if (html.length > TRACKED_HTML_MAX_CHARS) return { html, rewritten: 0, tooLarge: true };
  const parts: string[] = [];
  let copied = 0;
  let index = 0;
  let i = 0;
  while (index < TRACKED_LINKS_MAX) {
    const lt = html.indexOf('<', i);
    if (lt === -1 || lt + 1 >= html.length) break;
    const next = html[lt + 1];
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      if (end === -1) break;
      i = end + 3;
      continue;
    }
    if (next === '!' || next === '?') {
      const end = html.indexOf('>', lt + 2);
      if (end === -1) break;
      i = end + 1;
      continue;
    }
    const closing = next === '/';
    const nameStart = closing ? lt + 2 : lt + 1;
    if (!/[A-Za-z]/.test(html[nameStart] ?? '')) {
      i = lt + 1; // a '<' that opens no tag is text
      continue;
    }
    const tag = readTag(html, nameStart);
    if (tag.end === -1) break;
    i = tag.end;
    if (closing) continue;
    const endTag = RAW_TEXT_END.get(tag.name);
    if (endTag) {
      endTag.lastIndex = i;
      const m = endTag.exec(html);
      if (!m) break;
      i = m.index;
      continue;
    }
    const href = tag.href;
    // A character reference this decodes is at most 10 characters, so a much longer value decodes to an untracked URL.
    if (!href || href.valueEnd - href.valueStart > TRACKED_URL_MAX_CHARS * 12) continue;
    const decoded = decodeAttribute(html.slice(href.valueStart, href.valueEnd));
    const url = decoded === null ? null : trackableUrl(decoded);
    if (url === null) continue;
    const replacement = replace(url, index);
    if (replacement === null) continue;
    const start = href.quoted ? href.valueStart - 1 : href.valueStart;
    const end = href.quoted ? href.valueEnd + 1 : href.valueEnd;
    parts.push(html.slice(copied, start), `"${escapeAttribute(replacement)}"`);
    copied = end;
    index++;
  }
  parts.push(html.slice(copied));
  return { html: parts.join(''), rewritten: index, tooLarge: false };
}

/** A 1×1 transparent GIF, the open pixel's image. */
export const TRANSPARENT_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Adds the open pixel `<img>` before the last `</body>`, or at the end without one. */
export function appendOpenPixel(html: string, src: string): string {
  const img = `<img src="${escapeAttribute(src)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;" />`;
  const bodyEnd = /<\/body[\t\n\f\r />]/gi;
  let last = -1;
  for (let m = bodyEnd.exec(html); m; m = bodyEnd.exec(html)) last = m.index;
  return last === -1 ? html + img : html.slice(0, last) + img + html.slice(last);
}
