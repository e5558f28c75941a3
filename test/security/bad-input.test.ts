import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';

/*
 * Input that PostgreSQL, V8 or Fastify cannot take used to answer 500 (with x-should-retry, so
 * SDKs retried what could never succeed) or a non-Knock body. Each is now a 4xx in Knock's error
 * shape that names the field. One Herald per engine serves every scenario of this file.
 */

const hello = {
  key: 'hello',
  name: 'Hello',
  steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'hi' } }],
};

interface Answer { status: number; body: any; headers: Headers }

describe.each(engines)('bad input answers a 4xx in Knock\'s shape (%s)', (engine) => {
  let t: TestHerald;
  beforeAll(async () => { t = await startTestHerald(engine, { workflows: [hello] }); });
  afterAll(async () => { await t.close(); });

  /** A raw call: `body` is sent as is when it is a string (JSON the SDK cannot write). */
  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(t.url + path, {
      method,
      headers: { authorization: `Bearer ${t.secretKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  /** Knock's error shape, the status, and (when given) the field named in `errors`. */
  function expectRefused(res: Answer, status: number, field?: string) {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toMatchObject({ status, code: expect.any(String), message: expect.any(String), type: expect.any(String) });
    expect(res.headers.get('x-should-retry')).toBeNull();
    if (field !== undefined) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  }

  it('refuses a NUL (%00) in a path id, naming the parameter', async () => {
    expectRefused(await call('PUT', '/v1/users/a%00b', { name: 'Ada' }), 422, 'user_id');
  });

  it('refuses a NUL in a property value', async () => {
    expectRefused(await call('PUT', '/v1/users/ada', { name: 'A\u0000da' }), 422, 'name');
  });

  it('refuses a NUL in a property key', async () => {
    expectRefused(await call('PUT', '/v1/users/ada', { ['nick\u0000name']: 'x' }), 422, 'nick\\u0000name');
  });

  it('refuses a NUL deep in trigger data, naming its path', async () => {
    expectRefused(await call('POST', '/v1/workflows/hello/trigger', { recipients: ['ada'], data: { items: [{ title: 'x\u0000' }] } }), 422, 'data.items[0].title');
  });

  it('refuses a NUL in channel data', async () => {
    const res = await call('PUT', '/v1/users/ada/channel_data/6f1e3c3e-6c1c-4a39-9a62-1b7d2f0a6c11', { data: { tokens: ['tok\u0000'] } });
    expectRefused(res, 422, 'data.tokens[0]');
  });

  it('refuses a NUL in a cancellation key', async () => {
    expectRefused(await call('POST', '/v1/workflows/hello/cancel', { cancellation_key: 'k\u0000' }), 422, 'cancellation_key');
  });

  it('refuses a NUL (%00) in a query value', async () => {
    expectRefused(await call('GET', '/v1/users?after=%00'), 422, 'after');
  });

  it('refuses a lone surrogate (\\ud800), which jsonb cannot store', async () => {
    expectRefused(await call('PUT', '/v1/users/ada', '{"name":"x\\ud800y"}'), 422, 'name');
  });

  it('refuses JSON nested 10,000 levels before parsing it, and keeps serving', async () => {
    const deep = `{"recipients":["ada"],"data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    expectRefused(await call('POST', '/v1/workflows/hello/trigger', deep), 400, 'body');
    expect((await call('GET', '/v1/users')).status).toBe(200);
  });

  it('refuses a __proto__ key (prototype poisoning)', async () => {
    expectRefused(await call('PUT', '/v1/users/ada', '{"name":"Ada","__proto__":{"admin":true}}'), 400);
  });

  it('refuses a 3,000-character id in a path', async () => {
    expectRefused(await call('PUT', `/v1/users/${'u'.repeat(3000)}`, { name: 'Ada' }), 422, 'user_id');
  });

  it('refuses a 3,000-character recipient id in a trigger', async () => {
    expectRefused(await call('POST', '/v1/workflows/hello/trigger', { recipients: ['u'.repeat(3000)] }), 422, 'recipients[0]');
  });

  it('lets an id of the maximum length (255 four-byte characters) be created by a trigger, read and deleted', async () => {
    const id = '\u{1F600}'.repeat(255);
    expect((await call('POST', '/v1/workflows/hello/trigger', { recipients: [{ id, name: 'Smiley' }] })).status).toBe(200);
    const read = await call('GET', `/v1/users/${encodeURIComponent(id)}`);
    expect(read.status).toBe(200);
    expect(read.body.id).toBe(id);
    expect((await call('DELETE', `/v1/users/${encodeURIComponent(id)}`)).status).toBe(204);
  });

  it('refuses trigger data that would be copied into too many runs (10 MB × 100 recipients)', async () => {
    const data = { blob: 'x'.repeat(10 * 1024 * 1024 - 100) };
    const recipients = Array.from({ length: 100 }, (_, i) => `r${i}`);
    expectRefused(await call('POST', '/v1/workflows/hello/trigger', { recipients, data }), 413, 'data');
  });

  it('accepts the largest trigger the limits allow: 10 MB of data for 6 recipients', async () => {
    const data = { blob: 'x'.repeat(10 * 1024 * 1024 - 100) };
    const recipients = Array.from({ length: 6 }, (_, i) => `edge${i}`);
    expect((await call('POST', '/v1/workflows/hello/trigger', { recipients, data })).status).toBe(200);
  });

  it('refuses a control character in a recipient id, saying so', async () => {
    const res = await call('POST', '/v1/workflows/hello/trigger', { recipients: ['ada\nbob'] });
    expectRefused(res, 422, 'recipients[0]');
    expect(res.body.message).toContain('must not contain control characters');
  });

  it('refuses oversized inline recipient properties', async () => {
    const res = await call('POST', '/v1/workflows/hello/trigger', { recipients: [{ id: 'ada', bio: 'x'.repeat(300 * 1024) }] });
    expectRefused(res, 413, 'recipients[0]');
  });

  it('refuses an Idempotency-Key longer than 255 characters instead of truncating it', async () => {
    const res = await call('POST', '/v1/workflows/hello/trigger', { recipients: ['ada'] }, { 'idempotency-key': 'k'.repeat(256) });
    expectRefused(res, 422, 'Idempotency-Key');
  });

  it('refuses an Idempotency-Key with a control character', async () => {
    const res = await call('POST', '/v1/workflows/hello/trigger', { recipients: ['ada'] }, { 'idempotency-key': 'a\tb' });
    expectRefused(res, 422, 'Idempotency-Key');
  });

  it('answers malformed percent-encoding in the path (Fastify\'s 400) in Knock\'s shape', async () => {
    expectRefused(await call('GET', '/v1/users/%E0%A4%A'), 400);
  });

  it('answers a path parameter longer than the router allows (414) in Knock\'s shape', async () => {
    expectRefused(await call('GET', `/v1/users/${'u'.repeat(4000)}`), 414);
  });

  it('answers an unsupported content type (415) in Knock\'s shape', async () => {
    expectRefused(await call('PUT', '/v1/users/ada', 'name=Ada', { 'content-type': 'text/csv' }), 415);
  });

  it('answers invalid JSON (400) in Knock\'s shape', async () => {
    expectRefused(await call('PUT', '/v1/users/ada', '{"name":'), 400);
  });

  it('answers a body over the 11 MB limit (413) in Knock\'s shape', async () => {
    expectRefused(await call('PUT', '/v1/users/ada', JSON.stringify({ name: 'x'.repeat(12 * 1024 * 1024) })), 413);
  });

  it('answers headers over 16 KB (node\'s 431, before Fastify) in Knock\'s shape', async () => {
    const { port } = new URL(t.url);
    const res = await new Promise<{ status: number; body: any; retry: unknown }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/users', headers: { authorization: `Bearer ${t.secretKey}`, 'x-big': 'b'.repeat(20_000) } }, (r) => {
        let text = '';
        r.on('data', (c) => { text += c; });
        r.on('end', () => resolve({ status: r.statusCode!, body: JSON.parse(text), retry: r.headers['x-should-retry'] }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(431);
    expect(res.body).toMatchObject({ status: 431, code: expect.any(String), message: expect.any(String), type: 'invalid_request_error' });
  });
});
