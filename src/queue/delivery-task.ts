import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import { claimDueDeliveries, settleDeliveries, type ClaimedDelivery, type DeliveryLogInput, type SettleInput, type Settlement } from '../store/deliveries.js';
import type { Queryable } from '../store/db.js';
import { readCircuits, recordCircuit, type CircuitRow } from '../store/provider-circuits.js';
import { getChannelData, removePushTokens } from '../store/channel-data.js';
import { pushTokens } from '../domain/channel-address.js';
import { providers as defaultProviders, type Provider, type SendResult } from '../providers/index.js';
import type { BackgroundTask } from './background-worker.js';
import { noMetrics, type Metrics } from '../metrics/port.js';
import { inSpan, tracer, type TraceContext } from '../telemetry/port.js';
import { messageTraceContexts } from '../store/trace-context.js';

/** Knock: up to 8 attempts over about 30 minutes. */
export const MAX_ATTEMPTS = 8;
/** Waits after attempts 1..7 are 15 s · 2^(n-1) ± 20 %: 15 s, 30 s, … 16 min; ~32 min in all. */
const BASE_DELAY_MS = 15_000;
const JITTER = 0.2;
/** A claimed job is left alone this long; a worker killed mid-send gives it up after it. */
const LEASE_MS = 60_000;
/** Sends in flight at once (the rolling window), unless DeliveryTaskOptions.window says otherwise. */
export const DEFAULT_WINDOW = 64;
/**
 * A tick keeps its window rolling at most this long, then stops claiming, finishes the sends it
 * started and returns, so the background worker's other tasks get their turn.
 */
const TICK_BUDGET_MS = 1_000;
/** This many consecutive retryable failures of one provider open its circuit for CIRCUIT_OPEN_MS. */
export const CIRCUIT_THRESHOLD = 5;
export const CIRCUIT_OPEN_MS = 60_000;
/** Spans (tracing on): one per delivery attempt, one per provider called in it. */
export const DELIVERY_SPAN_NAME = 'herald.delivery.attempt';
export const PROVIDER_SPAN_NAME = 'herald.provider.send';

export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = BASE_DELAY_MS * 2 ** (attempt - 1);
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}

export interface DeliveryTaskOptions {
  db: Db;
  clock: Clock;
  logger: FastifyBaseLogger;
  workerId?: string;
  providers?: ReadonlyMap<string, Provider>;
  /** The SSRF policy for addresses from data (chat webhook URLs, webhook channel URLs); private networks refused by default. */
  outbound?: { allowPrivateNetworks: boolean };
  /** Sends in flight at once (default DEFAULT_WINDOW). */
  window?: number;
  /** Where provider calls and settled statuses are counted. */
  metrics?: Metrics;
}

interface Attempted {
  result: SendResult;
  logs: DeliveryLogInput[];
  /** The provider the attempt ended with (null when every circuit was open). */
  provider: string | null;
  invalidTokens: string[];
}

const noCall = (reason: string): SendResult['call'] => ({
  request: { method: 'POST', host: '', path: '/', query: null, headers: {}, body: {} },
  response: { status: 0, headers: {}, body: reason },
});

/**
 * Sends queued messages: claims due delivery jobs (SKIP LOCKED + lease), calls each channel's
 * provider with an idempotency key derived from the message id, failing over to the channel's
 * fallback providers on a retryable failure or an open circuit, and settles every attempt:
 * `sent` (`delivered` for webhooks), a retry (`delivery_attempted`) after exponential backoff
 * with jitter, or `undelivered` after a permanent failure or the last attempt. Every provider
 * call leaves a log row; the message records the provider that sent it.
 *
 * Throughput comes from never waiting in lock-step: up to `window` sends are in flight, and a
 * freed slot is refilled by the next claim (claims of several jobs at once, still SKIP LOCKED
 * with a lease), while finished attempts are settled many per statement (group commit). The
 * providers keep their connections open between sends (pooled SMTP, keep-alive HTTP).
 */
export function createDeliveryTask(opts: DeliveryTaskOptions): BackgroundTask {
  const owner = `delivery:${opts.workerId ?? randomUUID()}`;
  const registry = opts.providers ?? defaultProviders;
  const outbound = opts.outbound ?? { allowPrivateNetworks: false };
  const metrics = opts.metrics ?? noMetrics;

  /** Tries the channel's providers in order until one sends, one fails permanently, or none is left. */
  async function attempt(job: ClaimedDelivery, circuits: CircuitRow[]): Promise<Attempted> {
    const chain = [{ provider: job.channel.provider, settings: job.channel.settings }, ...(job.channel.fallbacks ?? [])];
    const logs: DeliveryLogInput[] = [];
    const invalidTokens: string[] = [];
    let last: SendResult | null = null;
    let lastProvider: string | null = null;
    for (const [index, link] of chain.entries()) {
      const now = opts.clock.now();
      const circuit = circuits.find((c) => c.channel_id === job.channel.id && c.provider_index === index);
      // An open circuit passes the provider over; after open_until one call probes it (half-open).
      if (circuit?.open_until && circuit.open_until.getTime() > now.getTime()) {
        last ??= { outcome: 'retryable', error: `provider "${link.provider}" circuit is open`, call: noCall('circuit open') };
        metrics.deliveryAttempt(link.provider, 'circuit_open', null);
        continue;
      }
      const provider = registry.get(link.provider);
      const callStarted = performance.now();
      const result: SendResult = provider
        ? await inSpan(PROVIDER_SPAN_NAME, { attributes: { 'herald.provider': link.provider, 'herald.provider.index': index } }, async (span) => {
          const sent = await provider.send(
            { id: job.message_id, recipient: job.recipient, channelType: job.channel.type, content: job.content, workflow: job.workflow_key, tenant: job.tenant_id, data: job.data },
            { channel: { ...job.channel, provider: link.provider, settings: link.settings ?? {} }, idempotencyKey: `herald-${job.message_id}`, attempt: job.attempts, outbound },
          );
          span.setAttributes({ 'herald.delivery.outcome': sent.outcome });
          if (sent.outcome !== 'sent') span.fail(sent.error ?? sent.outcome);
          return sent;
        })
        : { outcome: 'permanent', error: `unknown provider "${link.provider}"`, call: noCall(`no provider named "${link.provider}"`) };
      metrics.deliveryAttempt(link.provider, result.outcome, provider ? (performance.now() - callStarted) / 1000 : null);
      const serviceName = provider?.serviceName ?? link.provider;
      for (const call of [result.call, ...(result.moreCalls ?? [])]) logs.push({ serviceName, request: call.request, response: call.response });
      invalidTokens.push(...(result.invalidTokens ?? []));
      last = result;
      lastProvider = link.provider;
      // Only a change is written: a failure, or a success on a circuit that had failures. A
      // success on a healthy circuit writing its row every time serialised every send on it.
      const changes = result.outcome === 'retryable' || (result.outcome === 'sent' && !!circuit && (circuit.consecutive_failures > 0 || circuit.open_until !== null));
      if (provider && changes) {
        await recordCircuit(opts.db, { channelId: job.channel.id, index, provider: link.provider, ok: result.outcome === 'sent', now, threshold: CIRCUIT_THRESHOLD, openMs: CIRCUIT_OPEN_MS });
      }
      if (result.outcome !== 'retryable') break;
    }
    if (logs.length === 0) logs.push({ serviceName: job.channel.provider, ...noCall('not sent: every provider\'s circuit is open') });
    return { result: last!, logs, provider: lastProvider, invalidTokens };
  }

  /**
   * A retried push goes only to the tokens the recipient still has: tokens deregistered by an
   * earlier attempt (or removed by the app meanwhile) are not tried again.
   */
  async function currentContent(job: ClaimedDelivery): Promise<ClaimedDelivery> {
    if (job.channel.type !== 'push' || job.attempts <= 1 || !Array.isArray(job.content.tokens)) return job;
    const row = await getChannelData(opts.db, job.recipient, job.channel.id);
    const current = new Set(pushTokens(row?.data ?? null));
    const tokens = (job.content.tokens as string[]).filter((tk) => current.has(tk));
    return { ...job, content: { ...job.content, tokens, token: tokens[0] ?? null } };
  }

  /**
   * One attempt, as a span under the stored context of the trigger behind the message when
   * tracing is on (a new trace when it had none); its log lines then carry the trace id (the
   * logger's mixin reads the active span: telemetry/port.ts traceLogOptions).
   */
  async function deliverTraced(claimed: ClaimedDelivery, circuits: CircuitRow[], parent: TraceContext | null): Promise<void> {
    const span = tracer().startSpan(DELIVERY_SPAN_NAME, {
      kind: 'consumer',
      parent,
      attributes: {
        'herald.message_id': claimed.message_id,
        'herald.workflow': claimed.workflow_key,
        'herald.channel.key': claimed.channel.key,
        'herald.channel.type': claimed.channel.type,
        'herald.delivery.attempt': claimed.attempts,
      },
    });
    try {
      await span.within(() => deliver(claimed, circuits, (settled) => span.setAttributes({ 'herald.delivery.settlement': settled })));
    } catch (err) {
      span.fail(err);
      throw err;
    } finally {
      span.end();
    }
  }

  async function deliver(claimed: ClaimedDelivery, circuits: CircuitRow[], settledAs?: (settlement: string) => void): Promise<void> {
    const logger = opts.logger;
    const job = await currentContent(claimed);
    const noTokensLeft = job.channel.type === 'push' && Array.isArray(job.content.tokens) && job.content.tokens.length === 0;
    const { result, logs, provider, invalidTokens } = noTokensLeft
      ? { result: { outcome: 'permanent', error: 'the recipient has no push tokens left', call: noCall('not sent: no push tokens left') } as SendResult, logs: [{ serviceName: job.channel.provider, ...noCall('not sent: the recipient has no push tokens left') }], provider: null, invalidTokens: [] }
      : await attempt(job, circuits);
    const now = opts.clock.now();
    let settlement: Settlement;
    if (result.outcome === 'sent') settlement = { kind: 'final', status: result.status ?? 'sent' };
    else if (result.outcome === 'retryable' && job.attempts < MAX_ATTEMPTS) settlement = { kind: 'retry', at: new Date(now.getTime() + retryDelayMs(job.attempts)) };
    else settlement = { kind: 'final', status: 'undelivered' };
    settledAs?.(settlement.kind === 'final' ? settlement.status : 'retry');
    if (result.outcome !== 'sent') logger.info({ message_id: job.message_id, attempt: job.attempts, error: result.error, settlement: settlement.kind }, 'delivery attempt failed');
    if (invalidTokens.length > 0) await removePushTokens(opts.db, job.recipient, job.channel.id, [...new Set(invalidTokens)], now);
    const held = await settler.settle({ messageId: job.message_id, attempt: job.attempts, outcome: settlement, logs, now,
      by: provider ? { provider, externalId: result.outcome === 'sent' ? result.providerMessageId : null } : undefined });
    if (!held) logger.warn({ message_id: job.message_id }, 'delivery claim lost before its outcome was recorded');
    else if (settlement.kind === 'final') metrics.message(job.channel.type, settlement.status);
  }

  /** The claimed jobs' stored trace contexts in ONE query; null when tracing is off. */
  async function loadTraceContexts(jobs: ClaimedDelivery[]): Promise<Map<string, TraceContext> | null> {
    if (!tracer().enabled) return null;
    try {
      return await messageTraceContexts(opts.db, jobs.map((j) => j.message_id));
    } catch (err) {
      // Tracing never holds a delivery back: without the stored contexts the spans start new traces.
      opts.logger.warn({ err }, 'reading trace contexts failed');
      return new Map();
    }
  }

  const window = Math.max(1, opts.window ?? DEFAULT_WINDOW);
  // Claim when a quarter of the window is free (or it is empty): claims stay multi-row.
  const refill = Math.max(1, Math.floor(window / 4));
  const settler = createSettler(opts.db, owner);

  return {
    name: 'deliveries',
    /**
     * A rolling window: up to `window` sends in flight, more claimed as slots free, until
     * nothing is due or the tick's budget is spent; then the sends in flight finish and their
     * outcomes are committed before the tick returns (drain() and stop() rely on that).
     */
    async tick() {
      const started = performance.now();
      let inFlight = 0;
      let handled = 0;
      let dry = false;
      const failures: unknown[] = [];
      const waiting: (() => void)[] = [];
      const start = (job: ClaimedDelivery, circuits: CircuitRow[], traces: Map<string, TraceContext> | null) => {
        inFlight += 1;
        (traces ? deliverTraced(job, circuits, traces.get(job.message_id) ?? null) : deliver(job, circuits))
          .then(() => { handled += 1; }, (reason: unknown) => { failures.push(reason); })
          .finally(() => { inFlight -= 1; waiting.shift()?.(); });
      };
      for (;;) {
        const free = window - inFlight;
        const claiming = !dry && failures.length === 0 && performance.now() - started < TICK_BUDGET_MS && (inFlight === 0 || free >= refill);
        if (claiming) {
          const now = opts.clock.now();
          const jobs = await claimDueDeliveries(opts.db, owner, now, new Date(now.getTime() + LEASE_MS), free);
          // Fewer than asked: nothing more is due now. The next tick looks again.
          if (jobs.length < free) dry = true;
          if (jobs.length > 0) {
            const [circuits, traces] = await Promise.all([
              readCircuits(opts.db, [...new Set(jobs.map((j) => j.channel.id))]),
              loadTraceContexts(jobs),
            ]);
            for (const job of jobs) start(job, circuits, traces);
          }
        }
        if (inFlight === 0) break;
        // One failing job (e.g. a lost connection while settling) must not strand the others' outcomes.
        await new Promise<void>((resolve) => { waiting.push(resolve); });
      }
      if (failures.length > 0) throw failures[0];
      return handled;
    },
  };
}

/** Outcomes are gathered this long (at most) before one statement writes them. */
const SETTLE_GATHER_MS = 2;
/** At most this many outcomes per statement. */
const SETTLE_MAX = 500;

/**
 * Group commit of delivery outcomes: `settle` queues an outcome and resolves once the statement
 * carrying it has committed (true when the claim was still held). One statement runs at a time;
 * outcomes arriving meanwhile go into the next one, so the number of statements follows the
 * database's pace, not the number of sends. When a grouped statement fails, its outcomes are
 * retried one by one, so one bad outcome (say a provider answer PostgreSQL refuses to store)
 * cannot hold back the rest: only it stays unrecorded, to be retried after its lease.
 */
function createSettler(db: Queryable, owner: string) {
  let queue: { input: SettleInput; resolve: (held: boolean) => void; reject: (err: unknown) => void }[] = [];
  let running = false;

  async function flush(): Promise<void> {
    running = true;
    while (queue.length > 0) {
      const batch = queue.slice(0, SETTLE_MAX);
      queue = queue.slice(batch.length);
      try {
        const held = await settleDeliveries(db, owner, batch.map((b) => b.input));
        for (const b of batch) b.resolve(held.has(b.input.messageId));
      } catch (err) {
        if (batch.length === 1) { batch[0].reject(err); continue; }
        for (const b of batch) {
          try {
            b.resolve((await settleDeliveries(db, owner, [b.input])).has(b.input.messageId));
          } catch (one) {
            b.reject(one);
          }
        }
      }
    }
    running = false;
  }

  return {
    settle(input: SettleInput): Promise<boolean> {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ input, resolve, reject });
        if (!running) {
          running = true;
          setTimeout(() => void flush(), SETTLE_GATHER_MS);
        }
      });
    },
  };
}
