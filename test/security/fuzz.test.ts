import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';

/*
 * Property-based fuzzing of every route family (the route list comes from Herald's own OpenAPI
 * document, so a new route is fuzzed without being listed here): bodies, path ids, query strings
 * and headers mixing valid shapes with NUL bytes, lone surrogates, huge strings, deep nesting,
 * odd Unicode and wrong types. The property: no 5xx ever (a 5xx is a server fault, and SDKs retry
 * it), and every 4xx is in Knock's error shape {code, message, status, type}.
 *
 * The seed is fixed so a failure reproduces; fast-check prints it with the shrunk request.
 * HERALD_FUZZ_SEED / HERALD_FUZZ_RUNS override them to explore further.
 */
const SEED = Number(process.env.HERALD_FUZZ_SEED ?? 20261205);
const RUNS = Number(process.env.HERALD_FUZZ_RUNS ?? 1);

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi {{ recipient.name }} {{ data.x }}' } }],
};

interface Route { method: string; path: string; params: string[]; bodyFields: string[] }
interface Req { method: string; path: string; body?: string; headers?: Record<string, string> }

// ---------------------------------------------------------------------------------- generators

const nastyConstants = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\udbff\udfff', '%00', '%', '%E0%A4%A', '../../etc/passwd', '..%2f..%2f',
  '{{ 7 * 7 }}', '{% for i in (1..100000000) %}x{% endfor %}', "' OR 1=1 --", 'null', 'true', '__proto__', 'constructor', 'prototype',
  '\u202e\u200b\ufeff', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '😀'.repeat(300), 'x'.repeat(256), 'x'.repeat(3000), '\r\nX-Injected: 1', '\t', 'in-app-feed', 'hello', 'ada',
  '2026-03-01T12:00:00Z', '9999-12-31T23:59:59Z', '-1', '1e400', 'NaN', '00000000-0000-0000-0000-000000000000',
];
const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...nastyConstants) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('\u0000', '\ud800', '\udfff', 'a', '€', '\u0001'), maxLength: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 5000 }).map((n) => 'y'.repeat(n)) },
);
const nastyNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53 + 1, 2 ** 31, -(2 ** 31) - 1));
const nastyScalar = fc.oneof(nastyString, nastyNumber, fc.boolean(), fc.constant(null));
const nastyKey = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 10 }) }, { weight: 1, arbitrary: fc.constantFrom(...nastyConstants) });
const { value: nastyJson } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, nastyScalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(nastyKey, tie('value'), { maxKeys: 4 }),
}));

/** Whether a string is valid Unicode (no lone surrogate), so encodeURIComponent accepts it. */
const wellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

/** Percent-encodes a string; a lone surrogate (which has no UTF-8) becomes the bytes it would have had (CESU-8). */
const encodeLoosely = (s: string) => Array.from(s, (c) => (wellFormed(c) ? encodeURIComponent(c) : '%ED%A0%80')).join('');

/** JSON text `depth` levels deep, with the nesting in a field a route reads. */
const deepText = (field: string, depth: number) => `{"${field}":${'[{"a":'.repeat(depth)}1${'}]'.repeat(depth)}}`;

/** A raw JSON value as text: mostly JSON.stringify, sometimes with escapes JSON.stringify would not write. */
const jsonText = (value: unknown) => JSON.stringify(value) ?? 'null';

/** Plausible values for the fields routes read, so the fuzzing gets past the first check. */
const plausible = fc.oneof(
  fc.constantFrom('ada', 'bob', 'in-app-feed', 'hello', 'projects', 'default'),
  fc.constant(['ada', { id: 'bob', name: 'Bob' }, { id: 'p1', collection: 'projects' }]),
  fc.constant({ x: 1, nested: { list: [1, 2, 3] } }),
  fc.constant([{ id: 'ada' }]),
);

/** A body for a route: its own field names with nasty or plausible values, or something else entirely. */
const bodyFor = (route: Route): fc.Arbitrary<string | undefined> => fc.oneof(
  { weight: 6, arbitrary: fc.record(Object.fromEntries((route.bodyFields.length ? route.bodyFields : ['data']).map((f) => [f, fc.oneof(nastyJson, plausible)])), { requiredKeys: [] })
    .chain((base) => fc.dictionary(nastyKey, nastyJson, { maxKeys: 2 }).map((extra) => jsonText({ ...extra, ...base }))) },
  { weight: 2, arbitrary: nastyJson.map(jsonText) },
  { weight: 1, arbitrary: fc.constantFrom(...(route.bodyFields.length ? route.bodyFields : ['data'])).chain((f) => fc.integer({ min: 60, max: 3000 }).map((d) => deepText(f, d))) },
  { weight: 1, arbitrary: fc.constantFrom('{', '[1,', '{"a":1}}', 'nul', '"\\ud800"', '{"a":"\\u0000"}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '\u0000', '') },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/**
 * Valid bodies of the main route families (matched on method and path): a mutation replaces one
 * value anywhere inside with a nasty one, so the fuzzing reaches the code behind validation.
 */
const UUID = '00000000-0000-4000-8000-000000000000';
const shapes: Array<[string, RegExp, unknown]> = [
  ['POST', /\/workflows\/\{key\}\/trigger$/, {
    recipients: ['ada', { id: 'bob', name: 'Bob', email: 'bob@example.com', channel_data: { 'in-app-feed': { tokens: ['t'] } }, $trigger_data: { x: 2 } }, { id: 'p1', collection: 'projects' }],
    actor: { id: 'cy', name: 'Cy' }, data: { x: 1, items: [{ a: 1 }] }, tenant: { id: 't1', name: 'T1' }, cancellation_key: 'c1', settings: { skip_delay: true },
  }],
  ['POST', /\/workflows\/\{key\}\/cancel$/, { cancellation_key: 'c1', recipients: ['ada', { id: 'p1', collection: 'projects' }] }],
  ['PUT', /^\/v1\/users\/\{user_id\}$/, {
    name: 'Ada', email: 'ada@example.com', phone_number: '+14155550100', locale: 'en', timezone: 'Europe/Paris', created_at: '2026-01-01T00:00:00Z',
    channel_data: { 'in-app-feed': { tokens: ['t'] } }, preferences: { default: { workflows: { hello: true }, channel_types: { email: false } } }, custom: { deep: [1] },
  }],
  ['PUT', /preferences\/\{[a-z_]+\}$/, { workflows: { hello: { channel_types: { email: true } } }, categories: { c: { channel_types: { sms: false } } }, channel_types: { email: false }, channels: {} }],
  ['PUT', /channel_data\/\{channel_id\}$/, { data: { tokens: ['a'], connections: [{ incoming_webhook: { url: 'https://hooks.slack.com/services/x' } }] } }],
  ['POST', /^\/v1\/schedules$/, { workflow: 'hello', recipients: ['ada'], repeats: [{ frequency: 'daily', hours: 9, minutes: 0, days: ['mon'], interval: 1 }], data: { x: 1 }, scheduled_at: '2026-04-01T00:00:00Z', ending_at: '2027-01-01T00:00:00Z', tenant: 't1' }],
  ['PUT', /^\/v1\/schedules$/, { schedule_ids: [UUID], repeats: [{ frequency: 'weekly', day_of_month: 3 }], data: {}, scheduled_at: '2026-04-01T00:00:00Z' }],
  ['POST', /\/users\/bulk\/identify$/, { users: [{ id: 'u1', name: 'U', email: 'u@example.com', preferences: { default: { workflows: { hello: false } } } }] }],
  ['POST', /\/users\/bulk\/preferences$/, { user_ids: ['ada'], preferences: { id: 'default', workflows: { hello: true }, channel_types: { email: false } } }],
  ['POST', /\/bulk\/set$/, { objects: [{ id: 'o1', name: 'O' }], tenants: [{ id: 't2', name: 'T2' }] }],
  ['POST', /subscriptions$/, { recipients: ['ada', { id: 'p1', collection: 'projects' }], properties: { role: 'owner' } }],
  ['POST', /\/messages\/batch\/\{status\}$/, { message_ids: [UUID], metadata: { a: 1 } }],
  ['POST', /\/workflow_events$/, { event: 'approved', recipient: 'ada', tenant: 't1', data: { ok: true } }],
  ['POST', /\/preferences\/explain$/, { recipient: 'ada', workflow: 'hello', channel_type: 'in_app_feed', channel_key: 'in-app-feed', tenant: 't1' }],
  ['POST', /\/audiences\/\{key\}\/members$/, { members: [{ user: { id: 'ada', name: 'Ada' }, tenant: 't1' }] }],
  ['POST', /\/messages\/bulk\/\{action\}$/, { user_ids: ['ada'], archived: 'include', delivery_status: 'sent', engagement_status: 'seen', tenants: ['t1'], workflows: ['hello'] }],
  ['PUT', /^\/v1\/tenants\/\{tenant_id\}$/, { name: 'T1', settings: { branding: { primary_color: '#ffffff' }, preference_set: { workflows: { hello: true } } } }],
  ['PUT', /^\/v1\/objects\/\{collection\}\/\{[a-z_]+\}$/, { name: 'P1', channel_data: { 'in-app-feed': { tokens: ['t'] } }, preferences: { default: { workflows: {} } } }],
];

/** Every path inside a JSON value (arrays and objects), the root included. */
function valuePaths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => valuePaths(v, [...at, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) valuePaths(v, [...at, k], out);
  return out;
}

/** A copy of `value` with the value at `path` replaced. */
function replaceAt(value: unknown, path: (string | number)[], by: unknown): unknown {
  if (path.length === 0) return by;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  copy[path[0]] = replaceAt(copy[path[0]], path.slice(1), by);
  return copy;
}

/** One or two values deep inside a family's valid body replaced by nasty ones. */
const mutatedShape = (shape: unknown) => {
  const paths = valuePaths(shape);
  const one = fc.tuple(fc.nat(paths.length - 1), nastyJson);
  return fc.array(one, { minLength: 1, maxLength: 2 }).map((edits) => jsonText(edits.reduce((v, [i, by]) => replaceAt(v, paths[i], by), shape)));
};

/** A path segment as sent: percent-encoded text, or raw (possibly broken) percent sequences. */
const pathSegment = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('ada', 'bob', 'projects', 'hello', 'in-app-feed', 'default', 'seen', 'read', 'archive', '00000000-0000-0000-0000-000000000000') },
  { weight: 4, arbitrary: nastyString.map(encodeLoosely) },
  { weight: 1, arbitrary: fc.constantFrom('%00', '%ED%A0%80', '%E0%A4%A', '%', '%%', '%2F', '%2e%2e', '..', '.', '%C0%80', '%FF', 'a%00b') },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 3500 }).map((n) => 'i'.repeat(n)) },
);

/** A query string: the route's usual keys and qs's nested spellings, with nasty values. */
const queryKey = fc.oneof(
  fc.constantFrom('after', 'before', 'page_size', 'status', 'status[]', 'tenant', 'source', 'has_tenant', 'workflow', 'recipient', 'recipients[0]', 'include[]',
    'archived', 'engagement_status', 'trigger_data', 'user_ids[]', 'tenant_ids[]', 'channel_id', 'message_ids[]', 'workflow_categories[]', 'mode',
    'a[b][c][d][e][f][g][h]', '__proto__[x]', 'constructor[prototype][x]', 'x.y.z', 'a[]', 'a[99999]'),
  nastyString.filter((s) => wellFormed(s)),
);
const queryValue = fc.oneof(
  { weight: 3, arbitrary: nastyString.map(encodeLoosely) },
  { weight: 1, arbitrary: fc.constantFrom('%00', '%E0%A4%A', '-1', '0', '51', '99999999999999999999', '1.5', 'true', '%5B%5D', '{}', '2026-13-45') },
);
const queryString = fc.array(fc.tuple(queryKey, queryValue), { minLength: 1, maxLength: 5 })
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&'));

/** Header values undici will send (no CR/LF/NUL), including Latin-1 and long ones. */
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.integer({ min: 200, max: 600 }).map((n) => 'k'.repeat(n)),
  fc.constantFrom('', ' ', '\t', 'a\tb', 'Bearer', 'Bearer ', 'Bearer sk_nope', 'null'),
);

// ------------------------------------------------------------------------------------- the run

describe.each(engines)('fuzzing every route family (%s)', (engine) => {
  let t: TestHerald;
  let routes: Route[] = [];
  const stats = { cases: 0, byStatus: new Map<number, number>(), fiveHundreds: 0 };

  beforeAll(async () => {
    t = await startTestHerald(engine, { workflows: [hello], rateLimits: { perKey: 0, perUser: 0 } });
    await t.knock.users.update('ada', { name: 'Ada' });
    await t.knock.objects.set('projects', 'p1', { name: 'P1' });
    routes = await routeTable(t);
  }, 120_000);
  afterAll(async () => {
    const statuses = [...stats.byStatus.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');
    console.log(`[fuzz ${engine}] seed ${SEED}: ${stats.cases} requests, ${stats.fiveHundreds} answered 5xx; statuses ${statuses}`);
    await t.close();
  });

  /** Sends one request and checks the property; returns a description of a violation, or null. */
  async function check(req: Req): Promise<string | null> {
    let res: { status: number; text: string };
    try {
      res = await send(t.url, req.method, req.path, {
        authorization: `Bearer ${t.secretKey}`, ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers,
      }, req.body);
    } catch (err) {
      // node refused to send it (a header character HTTP forbids): nothing reached Herald.
      if ((err as NodeJS.ErrnoException).code === 'ERR_INVALID_CHAR' || (err as NodeJS.ErrnoException).code === 'ERR_INVALID_HTTP_TOKEN') return null;
      return `the connection failed: ${(err as Error).message}`;
    }
    const text = res.text;
    stats.cases++;
    stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
    if (res.status >= 500) {
      stats.fiveHundreds++;
      return `answered ${res.status}: ${text.slice(0, 300)}`;
    }
    if (res.status < 400) return null;
    let body: any;
    try { body = JSON.parse(text); } catch { return `answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`; }
    const shaped = body && typeof body.code === 'string' && typeof body.message === 'string' && body.status === res.status && typeof body.type === 'string';
    return shaped ? null : `answered ${res.status} without Knock's error shape: ${text.slice(0, 200)}`;
  }

  /** Runs a property over generated requests; a violation fails with the request and the seed. */
  async function fuzz(name: string, requests: fc.Arbitrary<Req>, numRuns: number): Promise<void> {
    await fc.assert(
      fc.asyncProperty(requests, async (req) => {
        const violation = await check(req);
        if (violation) console.error(`[fuzz ${name}] ${req.method} ${req.path.slice(0, 200)} ${JSON.stringify(req.headers ?? {})}: ${violation}`);
        if (violation) throw new Error(`${req.method} ${req.path.slice(0, 300)} ${req.body?.slice(0, 300) ?? ''} ${JSON.stringify(req.headers ?? {})} ${violation}`);
      }),
      { seed: SEED, numRuns: numRuns * RUNS, endOnFailure: false, verbose: 1 },
    ).catch((err: Error) => { throw new Error(`[${name}, seed ${SEED}] ${err.message}`); });
  }

  const fillPath = (route: Route, segments: string[]) =>
    route.params.reduce((path, param, i) => path.replace(`{${param}}`, segments[i] ?? 'x'), route.path);
  const anyRoute = () => fc.constantFrom(...routes);
  const plainSegments = (route: Route) => fc.constant(route.params.map((p) => (p === 'collection' ? 'projects' : p === 'key' ? 'hello' : 'ada')));

  it('bodies: every route with its own fields holding bad values, wrong types, deep nesting and broken JSON', async () => {
    await fuzz('bodies', anyRoute().filter((r) => r.method !== 'GET' && r.method !== 'DELETE').chain((route) => fc.record({
      route: fc.constant(route), segments: plainSegments(route), body: bodyFor(route),
    })).map(({ route, segments, body }) => ({ method: route.method, path: fillPath(route, segments), body })), 5000);
  }, 300_000);

  it('shapes: valid bodies of each route family with values deep inside replaced', async () => {
    const families = routes.flatMap((route) => shapes.filter(([m, re]) => m === route.method && re.test(route.path)).map(([, , shape]) => ({ route, shape })));
    expect(families.length).toBeGreaterThanOrEqual(15);
    await fuzz('shapes', fc.constantFrom(...families).chain(({ route, shape }) => fc.record({ route: fc.constant(route), segments: plainSegments(route), body: mutatedShape(shape) }))
      .map(({ route, segments, body }) => ({ method: route.method, path: fillPath(route, segments), body })), 4000);
  }, 300_000);

  it('ids: every route with bad, long and badly encoded path segments', async () => {
    await fuzz('ids', anyRoute().chain((route) => fc.record({
      route: fc.constant(route), segments: fc.array(pathSegment, { minLength: route.params.length, maxLength: route.params.length }),
    })).map(({ route, segments }) => ({ method: route.method, path: fillPath(route, segments), body: route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}' })), 3000);
  }, 300_000);

  it('query strings: every route with nested, repeated and bad query values', async () => {
    await fuzz('query', anyRoute().chain((route) => fc.record({ route: fc.constant(route), segments: plainSegments(route), query: queryString }))
      .map(({ route, segments, query }) => ({ method: route.method, path: `${fillPath(route, segments)}?${query}`, body: route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}' })), 3000);
  }, 300_000);

  it('headers: Idempotency-Key, user tokens, content types and authorization with odd values', async () => {
    const header = fc.record({
      name: fc.constantFrom('idempotency-key', 'x-knock-user-token', 'content-type', 'authorization', 'x-knock-branch', 'accept', 'content-encoding'),
      value: headerValue,
    });
    await fuzz('headers', anyRoute().chain((route) => fc.record({ route: fc.constant(route), segments: plainSegments(route), header, body: bodyFor(route) }))
      .map(({ route, segments, header: h, body }) => ({ method: route.method, path: fillPath(route, segments), body: route.method === 'GET' ? undefined : body, headers: { [h.name]: h.value } })), 2000);
    expect(stats.fiveHundreds).toBe(0);
  }, 300_000);
});

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/** One raw HTTP request (node:http sends Latin-1 header bytes that fetch refuses to). */
function send(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The routes to fuzz, from Herald's OpenAPI document, minus those that hold the connection open
 * (SSE streams, the WebSocket upgrade).
 */
async function routeTable(t: TestHerald): Promise<Route[]> {
  const doc = await (await fetch(`${t.url}/openapi.json`, { headers: { authorization: `Bearer ${t.secretKey}` } })).json() as {
    paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } }>>;
  };
  const routes: Route[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (/stream|websocket|\/ws\//.test(path)) continue;
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
      const params = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const bodyFields = Object.keys(op.requestBody?.content?.['application/json']?.schema?.properties ?? {});
      routes.push({ method: method.toUpperCase(), path, params, bodyFields });
    }
  }
  expect(routes.length).toBeGreaterThan(40);
  return routes;
}
