import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.js';
import type { Db } from '../store/db.js';
import { claimDueDeliveries, settleDelivery, type ClaimedDelivery, type Settlement } from '../store/deliveries.js';
import { providers as defaultProviders, type Provider, type SendResult } from '../providers/index.js';
import type { BackgroundTask } from './background-worker.js';

/** Knock: up to 8 attempts over about 30 minutes. */
export const MAX_ATTEMPTS = 8;
/** Waits after attempts 1..7 are 15 s · 2^(n-1) ± 20 %: 15 s, 30 s, … 16 min; ~32 min in all. */
const BASE_DELAY_MS = 15_000;
const JITTER = 0.2;
/** A claimed job is left alone this long; a worker killed mid-send gives it up after it. */
const LEASE_MS = 60_000;
/** Jobs per tick, sent concurrently. */
const BATCH = 20;

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
}

/**
 * Sends queued messages: claims due delivery jobs (SKIP LOCKED + lease), calls each channel's
 * provider with an idempotency key derived from the message id, and settles every attempt in one
 * statement: `sent`, a retry (`delivery_attempted`) after exponential backoff with jitter, or
 * `undelivered` after a permanent failure or the last attempt. Every attempt leaves a log row.
 */
export function createDeliveryTask(opts: DeliveryTaskOptions): BackgroundTask {
  const owner = `delivery:${opts.workerId ?? randomUUID()}`;
  const registry = opts.providers ?? defaultProviders;

  async function deliver(job: ClaimedDelivery): Promise<void> {
    const provider = registry.get(job.channel.provider);
    const result: SendResult = provider
      ? await provider.send(
        { id: job.message_id, recipient: job.recipient, content: job.content },
        { channel: job.channel, idempotencyKey: `herald-${job.message_id}`, attempt: job.attempts },
      )
      : {
        outcome: 'permanent',
        error: `unknown provider "${job.channel.provider}"`,
        call: { request: { method: 'POST', host: '', path: '/', query: null, headers: {}, body: {} }, response: { status: 0, headers: {}, body: `no provider named "${job.channel.provider}"` } },
      };
    const now = opts.clock.now();
    let settlement: Settlement;
    if (result.outcome === 'sent') settlement = { kind: 'final', status: 'sent' };
    else if (result.outcome === 'retryable' && job.attempts < MAX_ATTEMPTS) settlement = { kind: 'retry', at: new Date(now.getTime() + retryDelayMs(job.attempts)) };
    else settlement = { kind: 'final', status: 'undelivered' };
    if (result.outcome !== 'sent') opts.logger.info({ message_id: job.message_id, attempt: job.attempts, error: result.error, settlement: settlement.kind }, 'delivery attempt failed');
    const held = await settleDelivery(opts.db, owner, job.message_id, job.attempts, settlement,
      { serviceName: provider?.serviceName ?? job.channel.provider, request: result.call.request, response: result.call.response }, now);
    if (!held) opts.logger.warn({ message_id: job.message_id }, 'delivery claim lost before its outcome was recorded');
  }

  return {
    name: 'deliveries',
    async tick() {
      const now = opts.clock.now();
      const jobs = await claimDueDeliveries(opts.db, owner, now, new Date(now.getTime() + LEASE_MS), BATCH);
      // One failing job (e.g. a lost connection while settling) must not strand the others' outcomes.
      const results = await Promise.allSettled(jobs.map(deliver));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return jobs.length;
    },
  };
}
