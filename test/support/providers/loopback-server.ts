import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a loopback provider received it. */
export interface Received {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
}

/**
 * A real HTTP server on 127.0.0.1 (port 0) that records every request, valid or not, in arrival
 * order, and hands each to the provider stand-in's `handle` once its body has arrived.
 */
export abstract class LoopbackServer {
  readonly requests: Received[] = [];
  url = '';
  private readonly server: Server = createServer((req, res) => { void this.receive(req, res); });
  private readonly waiters: { n: number; resolve: () => void }[] = [];

  get requestCount() { return this.requests.length; }
  get attempts() { return this.requests.length; }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => { this.server.closeAllConnections(); this.server.close(() => resolve()); });
  }

  /** Resolves once `n` requests in all have arrived (at once if they already have). */
  waitForRequests(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  private async receive(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') };
    this.requests.push(r);
    for (const w of this.waiters.filter((x) => this.requests.length >= x.n)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
    await this.handle(r, res);
  }

  protected abstract handle(r: Received, res: ServerResponse): Promise<void> | void;
}
