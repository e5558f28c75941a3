/**
 * What Knock's React components (`@knocklabs/react` 0.12 on `@knocklabs/client` 0.22) needed from
 * Herald that it lacked, found by running them in Chromium (test/e2e/knock-react.test.ts), each
 * pinned here at the API level, as a browser on another origin calls it.
 *
 * - CORS preflights allowed only GET, HEAD and POST (@fastify/cors's default), so the browser
 *   refused every PUT and DELETE before sending it: `KnockProvider user={{ id }}` identifies the
 *   user inline with `PUT /v1/users/:id` on every mount (retried, with console errors), and the
 *   client's `messages.updateStatus` (PUT), `messages.removeStatus` (DELETE), preferences (PUT)
 *   and channel data (PUT/DELETE) calls could not run from a page at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';
import { newSigningKeys, signUserTokenAt } from '../support/user-tokens.js';
import { createMessage } from '../support/messages.js';

const ORIGIN = 'https://app.example.com';
const { signingPublicKey, signingKey } = newSigningKeys();

describe.each(engines)("what Knock's React components need from Herald (%s)", (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t?.close(); });

  /** The preflight a browser sends before a cross-origin call with Knock's headers. */
  const preflight = (path: string, method: string) => fetch(`${t.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin: ORIGIN, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type,x-knock-user-token,x-knock-client' },
  });
  const allowedMethods = (res: Response) => (res.headers.get('access-control-allow-methods') ?? '').split(',').map((m) => m.trim());

  it("lets a page on another origin identify its user inline, as KnockProvider's `user` prop does (PUT preflight)", async () => {
    t = await startTestHerald(engine, { signingPublicKey });
    const pre = await preflight('/v1/users/ada', 'PUT');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowedMethods(pre)).toContain('PUT');

    // The call the preflight clears: the public key with Ada's own user token.
    const token = await signUserTokenAt(t.clock, 'ada', { signingKey });
    const res = await fetch(`${t.url}/v1/users/ada`, {
      method: 'PUT',
      headers: { origin: ORIGIN, authorization: `Bearer ${t.publicKey}`, 'x-knock-user-token': token, 'content-type': 'application/json', 'x-knock-client': 'Knock/ClientJS 0.22.2' },
      body: JSON.stringify({ name: 'Ada Lovelace' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect((await t.knock.users.get('ada')).name).toBe('Ada Lovelace');
  });

  it("lets a page on another origin set and remove a message's status one by one (PUT and DELETE preflights)", async () => {
    t = await startTestHerald(engine, { signingPublicKey });
    const { id } = await createMessage(t, { recipient: 'ada' });
    for (const method of ['PUT', 'DELETE']) {
      const pre = await preflight(`/v1/messages/${id}/read`, method);
      expect(pre.status).toBe(204);
      expect(allowedMethods(pre)).toContain(method);
    }

    const token = await signUserTokenAt(t.clock, 'ada', { signingKey });
    const browserCall = (method: string) => fetch(`${t.url}/v1/messages/${id}/read`, {
      method,
      headers: { origin: ORIGIN, authorization: `Bearer ${t.publicKey}`, 'x-knock-user-token': token },
    });
    expect((await browserCall('PUT')).status).toBe(200);
    expect((await t.knock.messages.get(id)).read_at).not.toBeNull();
    expect((await browserCall('DELETE')).status).toBe(200);
    expect((await t.knock.messages.get(id)).read_at).toBeNull();
  });
});
