/**
 * Knock's `t` filter: `{{ "OrderReady" | t }}` looks the key up in the recipient's translations
 * (default namespace), `{{ "admin:OrderReady" | t }}` in the `admin` namespace; dots walk nested
 * objects (`"order.ready"`). Arguments (`| t: name: recipient.name, count: 3`) fill `{{ name }}`
 * placeholders in the translation (plain substitution, no Liquid: a translation is text), and
 * `count` picks a plural form (`zero` for 0 when present, `one` for 1, else `other`). A key found
 * nowhere renders as itself, so a missing translation is visible.
 */

/** Where translations come from: the first file of the locale chain holding the path wins. */
export interface Translator {
  lookup(namespace: string, path: string[]): unknown;
}

/** liquidjs passes keyword arguments (`name: value`) as `[name, value]` pairs. */
function keywordArgs(args: unknown[]): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const arg of args) {
    if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string') vars[arg[0]] = arg[1];
    else if (arg && typeof arg === 'object' && !Array.isArray(arg)) Object.assign(vars, arg);
  }
  return vars;
}

function pluralForm(node: Record<string, unknown>, count: unknown): unknown {
  const n = typeof count === 'number' ? count : Number(count);
  if (n === 0 && node.zero !== undefined) return node.zero;
  if (n === 1 && node.one !== undefined) return node.one;
  return node.other ?? node.one;
}

export function translate(translator: Translator, key: unknown, args: unknown[]): string {
  const ref = String(key ?? '');
  const colon = ref.indexOf(':');
  const namespace = colon > 0 ? ref.slice(0, colon) : '';
  const path = (colon > 0 ? ref.slice(colon + 1) : ref).split('.');
  const vars = keywordArgs(args);
  let node = translator.lookup(namespace, path);
  if (node && typeof node === 'object' && !Array.isArray(node) && vars.count !== undefined) node = pluralForm(node as Record<string, unknown>, vars.count);
  if (typeof node !== 'string' && typeof node !== 'number') return ref;
  return String(node).replace(/\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(vars, name) && vars[name] != null ? String(vars[name]) : '');
}
