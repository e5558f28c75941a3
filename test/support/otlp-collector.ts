/**
 * A loopback OTLP/HTTP trace collector (POST /v1/traces, OTLP/JSON bodies) for the tracing
 * tests: Herald's real SDK and exporter send to it, and the test reads the spans it kept. Also
 * a pino logger whose JSON lines the test can read, built with Herald's trace log options.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { traceLogOptions } from '../../src/telemetry/port.js';

export interface CollectedSpan {
  traceId: string; spanId: string; parentSpanId: string; name: string; kind: number;
  attributes: Record<string, unknown>; service: string;
}

/** OTLP span kinds as numbers in OTLP/JSON. */
export const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

/** OTLP/JSON ids are hex; a protobuf-style JSON encoder would send base64: accept both. */
const hex = (id: unknown) => (typeof id !== 'string' || id === '' ? '' : /^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex'));
const valueOf = (v: Record<string, unknown>) => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
const attributesOf = (list: unknown) => Object.fromEntries(((list ?? []) as { key: string; value: Record<string, unknown> }[]).map((a) => [a.key, valueOf(a.value)]));

export class Collector {
  readonly spans: CollectedSpan[] = [];
  readonly contentTypes: string[] = [];
  private server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => { raw += c.toString(); });
    req.on('end', () => {
      this.contentTypes.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(raw) as { resourceSpans: { resource: { attributes: unknown }; scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
      for (const rs of body.resourceSpans) {
        const service = String(attributesOf(rs.resource.attributes)['service.name']);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            this.spans.push({ traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId), name: String(s.name), kind: Number(s.kind), attributes: attributesOf(s.attributes), service });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  url = '';
  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close() { return new Promise<void>((resolve) => this.server.close(() => resolve())); }

  /** The names of a span's ancestors, itself first, as far as the collected spans go. */
  chain(span: CollectedSpan): string[] {
    const byId = new Map(this.spans.map((s) => [s.spanId, s]));
    const names: string[] = [];
    for (let s: CollectedSpan | undefined = span; s; s = byId.get(s.parentSpanId)) names.push(s.name);
    return names;
  }
}

/** A pino logger with Herald's trace log options whose JSON lines are kept for the test to read. */
export function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  return { logger: pino({ level: 'debug', ...traceLogOptions }, stream), lines };
}
