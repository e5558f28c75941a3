import pino, { type Logger } from 'pino';
import { traceLogOptions } from '../telemetry/port.js';

/**
 * Readable lines in a developer's terminal, JSON everywhere else: pino-pretty only when stdout
 * is a TTY and NODE_ENV is not `production` (a supervisor, container or pipe gets JSON lines that
 * log shippers parse). Pretty printing runs in this thread, without a transport worker.
 * A line written while a span is active carries its `trace_id` and `span_id` (tracing on only).
 */
export async function createLogger(level: string): Promise<Logger> {
  if (process.stdout.isTTY && process.env.NODE_ENV !== 'production') {
    const { default: pretty } = await import('pino-pretty');
    return pino({ level, ...traceLogOptions }, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  // Asynchronous stdout: a log line never blocks a request on a write(2). Lines are written as
  // soon as the event loop is free, never held back for a fuller buffer (a supervisor or a test
  // waiting for "Herald listening" must see it at once); what is pending is flushed at exit.
  const destination = pino.destination({ dest: 1, sync: false });
  process.once('exit', () => { try { destination.flushSync(); } catch { /* stdout already gone */ } });
  return pino({ level, ...traceLogOptions }, destination);
}
