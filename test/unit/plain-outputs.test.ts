import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderJobs } from '../../src/templates/liquid-environment.js';
import { renderPlainOutputs } from '../../src/templates/plain-outputs.js';

/** What a render process answers: the scope crosses as JSON (render-pool.ts), then Liquid renders it. */
function viaLiquid(source: string, scope: object, escapeOutput: boolean): string {
  const [result] = renderJobs([{ source, escapeOutput }], JSON.parse(JSON.stringify(scope)) as object);
  if (!result.ok) throw new Error(result.message);
  return result.text;
}

const KEYS = ['recipient', 'data', 'actor', 'name', 'id', 'size', 'first', 'constructor', '__proto__', 'toString'];
const scopeArb = fc.object({
  key: fc.constantFrom(...KEYS),
  maxDepth: 3,
  withDate: true,
  withNullPrototype: true,
  values: [fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '<', '>', '&', '"', "'", '{', '}', 'é', '😀') }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)],
});
const pathArb = fc.array(fc.constantFrom(...KEYS, 'missing'), { minLength: 1, maxLength: 4 }).map((p) => p.join('.'));
const partArb = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', ' ', '<', '&', '"', "'", '}', '\n', '*', '#') }),
  pathArb.map((p) => `{{ ${p} }}`),
  pathArb.map((p) => `{{${p}}}`),
  fc.constantFrom('{{ data.name | upcase }}', '{%- if data -%}x{% endif %}', '{{- data.name -}}', '{{ data.items[0] }}', '{{ "lit" }}', '{{ }}', '{{ data.name'),
);
const templateArb = fc.array(partArb, { maxLength: 6 }).map((parts) => parts.join(''));

describe('plain {{ variable }} outputs without a render process', () => {
  it('fill in a template exactly as the Liquid environment renders it, or leave it to Liquid', () => {
    let filled = 0;
    fc.assert(fc.property(templateArb, scopeArb, fc.boolean(), (source, scope, escape) => {
      const plain = renderPlainOutputs(source, { ...scope, recipient: scope.recipient ?? { name: 'Ada <b>' } }, escape);
      if (plain === null) return;
      filled++;
      expect(plain).toBe(viaLiquid(source, { ...scope, recipient: scope.recipient ?? { name: 'Ada <b>' } }, escape));
    }), { numRuns: 3_000 });
    // The property is not vacuous: a good share of the generated templates are plain.
    expect(filled).toBeGreaterThan(500);
  });

  it('escape HTML in each output of a field that becomes HTML, not in the text around it', () => {
    const scope = { recipient: { name: `<img src=x onerror="alert('1')">&` } };
    const text = renderPlainOutputs('<b>Hi</b> {{ recipient.name }}', scope, true);
    expect(text).toBe('<b>Hi</b> &lt;img src=x onerror=&#34;alert(&#39;1&#39;)&#34;&gt;&amp;');
    expect(text).toBe(viaLiquid('<b>Hi</b> {{ recipient.name }}', scope, true));
  });

  it('see own properties only, as the Liquid environment does', () => {
    expect(renderPlainOutputs('{{ data.constructor }}|{{ data.toString }}|{{ data.__proto__ }}', { data: {} }, false)).toBe('||');
  });

  it('leave filters, tags, indexes and other values to Liquid', () => {
    const scope = { data: { when: new Date(0), list: [1, 2], n: Number.NaN, name: 'x' } };
    for (const source of ['{{ data.name | upcase }}', '{% if data %}x{% endif %}', '{{ data.list[0] }}', '{{ data.list.size }}', '{{ data.when }}', '{{ data.list }}', '{{ data.n }}', '{{- data.name }}', '{{ data.name']) {
      expect(renderPlainOutputs(source, scope, false), source).toBeNull();
    }
  });
});
