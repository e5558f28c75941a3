/**
 * The deepest nesting of `{`/`[` outside strings, stopping as soon as it passes `stopAbove`.
 * A single pass over the text, without recursion, so it runs before a parser or a recursive walker
 * meets the value; syntax errors are left to the parser. Strings are skipped with indexOf (native),
 * so a 10 MB string costs little.
 */
export function nestingDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = closingQuote(text, i);
      if (end < 0) return max;
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

/** The index of the quote closing the string opened at `open` (not preceded by an odd run of backslashes), or -1. */
function closingQuote(text: string, open: number): number {
  for (let from = open + 1; ;) {
    const q = text.indexOf('"', from);
    if (q < 0) return -1;
    let backslashes = 0;
    for (let b = q - 1; b > open && text.charCodeAt(b) === 0x5c; b--) backslashes++;
    if (backslashes % 2 === 0) return q;
    from = q + 1;
  }
}
