/**
 * Raw HTTP for attack tests: the path is sent exactly as written (fetch normalises dot
 * segments and refuses to set Host), and an event stream is cut off once its status is known.
 */
import { request as httpRequest } from 'node:http';

export interface Answer { status: number; body: unknown }

/** One raw request; an event stream is cut off once its status is known. */
export function send(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const url = new URL(base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      method,
      path,
      headers: { ...headers, ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}) },
    }, (res) => {
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: undefined });
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    // A request that never answers is a finding too, not a hung suite.
    req.setTimeout(15_000, () => { req.destroy(); resolve({ status: 0, body: 'no answer within 15 s' }); });
    req.end(payload);
  });
}
