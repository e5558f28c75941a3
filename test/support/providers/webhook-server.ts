/**
 * A webhook receiver on 127.0.0.1 (port 0) for the `http` channel: it records every request as
 * it arrived (method, path, query, headers, raw body) and answers with the next scripted reply
 * (then 200 `{"ok": true}`), and can check `x-webhook-signature` the way a receiver should: the
 * HMAC-SHA256 of `"<t>.<raw body>"` under the shared key, base64, compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hook {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  raw: string;
}

export interface HookReply { status: number; body?: unknown }

export class WebhookReceiver {
  readonly hooks: Hook[] = [];
  /** Replies for the next requests, in order; then 200 `{"ok": true}`. */
  script: HookReply[] = [];
  url = '';
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://receiver');
      this.hooks.push({ method: req.method ?? '', path: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      const reply = this.script.shift() ?? { status: 200, body: { ok: true } };
      const text = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, text && typeof reply.body !== 'string' ? { 'content-type': 'application/json' } : {}).end(text);
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => { this.server.closeAllConnections(); this.server.close(() => resolve()); });
  }
}

/**
 * Verifies `x-webhook-signature: t=<unix ms>,s=<base64 HMAC>` over the raw body; returns the
 * signed timestamp, or null when the header is missing, malformed or the HMAC does not match.
 */
export function verifySignature(hook: Hook, key: string): number | null {
  const header = hook.headers['x-webhook-signature'];
  const m = typeof header === 'string' ? /^t=(\d+),s=([A-Za-z0-9+/=]+)$/.exec(header) : null;
  if (!m) return null;
  const expected = createHmac('sha256', key).update(`${m[1]}.${hook.raw}`).digest();
  const given = Buffer.from(m[2], 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected) ? Number(m[1]) : null;
}
