/**
 * A small pool of render processes, so that no template can block the event loop (the API, the
 * realtime sockets and every other run keep going while one renders) or take Herald down: each
 * render process has its own heap limit, and a request that overruns its hard timeout gets its
 * process killed and replaced. Requests queue while every process is busy.
 *
 * Processes rather than worker threads: on Node 20 a worker thread that reaches its
 * `resourceLimits` heap can still abort the whole process ("FATAL ERROR: Reached heap limit"
 * from a background compile allocation; reproduced with a 15-million-item range), so the only
 * memory bound that cannot take Herald down is a separate process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT, RUNNING_FROM_SOURCE } from '../package-root.js';
import type { RenderContent, RenderJob, RenderResult } from './liquid-environment.js';
import type { ReadyReply, RenderReply, RenderRequest } from './render-worker.js';
import { RENDER_HARD_TIMEOUT_MS, RENDER_WORKER_HEAP_MB, RENDER_WORKER_START_TIMEOUT_MS } from './render-limits.js';

/** Why a whole request failed (its render process had to be stopped), per bound. */
export class RenderAborted extends Error {
  constructor(message: string, readonly limit: 'time' | 'memory' | 'crash') {
    super(message);
    this.name = 'RenderAborted';
  }
}

/** A render's partials and translations: what it references (by sha) and their texts. */
export interface ContentForRender {
  content: RenderContent;
  blobs: Map<string, string>;
}

/**
 * Partial and translation text a render process is sent at most once per sha; past this many
 * characters held, the next message tells it to forget them all (and what it parsed of them)
 * and starts the record again. Well inside the process's heap (RENDER_WORKER_HEAP_MB) with the
 * parsed forms beside the texts.
 */
const PROCESS_CONTENT_MAX_CHARS = 8 * 1024 * 1024;

interface Pending {
  jobs: RenderJob[];
  scope: object;
  content: ContentForRender | null;
  /** Set after a shared message failed: this request is sent on its own from then on. */
  alone: boolean;
  resolve(results: RenderResult[]): void;
  reject(err: Error): void;
}

/** What one message to a render process carries. */
interface InFlight {
  id: number;
  requests: Pending[];
}

/**
 * At most this many callers' renders travel in one message. Waiting requests are sent together
 * (one round trip for a whole worker batch instead of one per run); the cap keeps one message's
 * render time well inside the hard timeout for ordinary templates.
 */
const MAX_REQUESTS_PER_MESSAGE = 64;

interface Slot {
  child: ChildProcess;
  /**
   * Whether the process has started and said so. Requests go only to ready processes: on a
   * loaded machine, starting one can take seconds, and a render's hard timeout must not count
   * that (it did, and healthy templates were killed and their runs halted).
   */
  ready: boolean;
  current: InFlight | null;
  timer: NodeJS.Timeout | null;
  /** The end of the child's stderr, where V8 reports running out of heap. */
  stderr: string;
  /** Shas of the partial and translation texts the process holds, and their total length. */
  known: Set<string>;
  knownChars: number;
}

/**
 * The render entry: dist/templates/render-worker.js (its own bundle) in the build; the `.ts`
 * source when running from source (tsx in dev, vitest in tests), which the child then loads
 * through tsx.
 */
function workerEntry(): { path: string; execArgv: string[] } {
  const path = RUNNING_FROM_SOURCE ? join(PACKAGE_ROOT, 'src/templates/render-worker.ts') : join(PACKAGE_ROOT, 'dist/templates/render-worker.js');
  if (!RUNNING_FROM_SOURCE) return { path, execArgv: [] };
  return { path, execArgv: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] };
}

export class RenderPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private readonly entry = workerEntry();

  constructor(private readonly size: number, private readonly hardTimeoutMs = RENDER_HARD_TIMEOUT_MS, private readonly heapMb = RENDER_WORKER_HEAP_MB, private readonly contentMaxChars = PROCESS_CONTENT_MAX_CHARS) {}

  /** Renders the jobs in a render process; rejects with RenderAborted when it had to be stopped. */
  render(jobs: RenderJob[], scope: object, content: ContentForRender | null = null): Promise<RenderResult[]> {
    if (this.closed) return Promise.reject(new Error('the render pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ jobs, scope, content, alone: false, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Starts every render process now. A worker calls it when it starts: started lazily, the
   * processes' start-up (~0.3 s of CPU each on two cores) landed on the first busy moment and
   * made every delay due behind it fire late by that much.
   */
  warm(): void {
    while (!this.closed && this.slots.length < this.size) this.spawn();
  }

  /** Stops every render process; pending renders fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('the render pool is closed'));
    for (const slot of this.slots.splice(0)) {
      for (const p of slot.current?.requests ?? []) p.reject(new Error('the render pool is closed'));
      if (slot.timer) clearTimeout(slot.timer);
      slot.child.kill('SIGKILL');
    }
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.ready && s.current === null);
      if (!slot) {
        if (this.slots.length < this.size) this.spawn();
        return;
      }
      const requests = this.take();
      const message: InFlight = { id: this.nextId++, requests };
      const request: RenderRequest = { id: message.id, groups: requests.map((r) => ({ jobs: r.jobs, scope: r.scope, content: r.content?.content ?? null })) };
      const shipped = this.blobsFor(slot, requests);
      if (shipped.reset) request.reset = true;
      if (shipped.blobs) request.blobs = shipped.blobs;
      try {
        // The IPC channel carries JSON: five times faster than the structured clone for large
        // data (1.1 M small objects: 0.7 s against 4 s), and what templates read survives it
        // (a Date arrives as its ISO text, which the date filter reads alike; undefined as absent,
        // which renders empty alike). Scope values come from JSON columns anyway.
        slot.child.send(request);
      } catch (err) {
        if (requests.length > 1) this.isolate(requests);
        else requests[0].reject(new Error(`the template's variables cannot be passed to the renderer: ${(err as Error).message}`));
        continue;
      }
      if (shipped.reset) {
        slot.known = new Set();
        slot.knownChars = 0;
      }
      for (const [sha, text] of Object.entries(shipped.blobs ?? {})) {
        slot.known.add(sha);
        slot.knownChars += text.length;
      }
      slot.current = message;
      this.hold(slot, true);
      slot.timer = setTimeout(() => this.abort(slot, new RenderAborted(`the template took longer than ${this.hardTimeoutMs} ms`, 'time')), this.hardTimeoutMs);
    }
  }

  /** The texts the slot's process lacks for these requests (all of them, with a reset, when its record is full). */
  private blobsFor(slot: Slot, requests: Pending[]): { blobs: Record<string, string> | null; reset: boolean } {
    const missing = (known: Set<string>) => {
      const out: Record<string, string> = {};
      let chars = 0;
      let any = false;
      for (const r of requests) {
        for (const [sha, text] of r.content?.blobs ?? []) {
          if (known.has(sha) || sha in out) continue;
          out[sha] = text;
          chars += text.length;
          any = true;
        }
      }
      return { out: any ? out : null, chars };
    };
    const needed = missing(slot.known);
    if (slot.knownChars + needed.chars <= this.contentMaxChars) return { blobs: needed.out, reset: false };
    return { blobs: missing(new Set()).out, reset: true };
  }

  /** The next message's requests: the oldest waiting one, with more waiting ones if it may share. */
  private take(): Pending[] {
    const first = this.queue.shift()!;
    if (first.alone) return [first];
    const requests = [first];
    for (let i = 0; i < this.queue.length && requests.length < MAX_REQUESTS_PER_MESSAGE;) {
      if (this.queue[i].alone) i++;
      else requests.push(...this.queue.splice(i, 1));
    }
    return requests;
  }

  /** Puts requests of a failed shared message back at the front, each to be sent on its own. */
  private isolate(requests: Pending[]): void {
    for (const r of requests) r.alone = true;
    this.queue.unshift(...requests);
  }

  private spawn(): Slot {
    const child = fork(this.entry.path, [], {
      execArgv: [...this.entry.execArgv, `--max-old-space-size=${this.heapMb}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const slot: Slot = { child, ready: false, current: null, timer: null, stderr: '', known: new Set(), knownChars: 0 };
    // Held while starting, so a render waiting for it keeps the process alive.
    this.hold(slot, true);
    slot.timer = setTimeout(() => this.abort(slot, new RenderAborted(`the render process did not start within ${RENDER_WORKER_START_TIMEOUT_MS} ms`, 'crash')), RENDER_WORKER_START_TIMEOUT_MS);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => { slot.stderr = (slot.stderr + chunk).slice(-2_000); });
    child.on('message', (msg: RenderReply | ReadyReply) => {
      if ('ready' in msg) {
        this.settle(slot);
        slot.ready = true;
        this.dispatch();
        return;
      }
      const message = slot.current;
      if (!message || message.id !== msg.id) return;
      this.settle(slot);
      message.requests.forEach((r, i) => r.resolve(msg.results[i]));
      this.dispatch();
    });
    child.on('error', (err) => this.abort(slot, new RenderAborted(`the render process failed: ${err.message}`, 'crash')));
    child.on('exit', (code, signal) => {
      // V8 aborts a process that runs out of heap; the message is on stderr once it is drained.
      child.stderr!.once('close', () => {
        const oom = /heap out of memory|Reached heap limit/.test(slot.stderr) || signal === 'SIGABRT';
        this.abort(slot, oom
          ? new RenderAborted(`the template used more than ${this.heapMb} MB`, 'memory')
          : new RenderAborted(`the render process stopped (${signal ?? `exit code ${code}`})`, 'crash'));
      });
    });
    this.slots.push(slot);
    return slot;
  }

  /** A busy render process keeps Herald's event loop alive; an idle one must not. */
  private hold(slot: Slot, busy: boolean): void {
    const handles = [slot.child, slot.child.channel, slot.child.stderr] as ({ ref(): void; unref(): void } | null | undefined)[];
    for (const h of handles) {
      if (busy) h?.ref();
      else h?.unref();
    }
  }

  private settle(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.current = null;
    this.hold(slot, false);
  }

  /** Fails the slot's request, kills its process (a fresh one is spawned on demand) and moves on. */
  private abort(slot: Slot, err: RenderAborted): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    const requests = slot.current?.requests ?? [];
    this.settle(slot);
    slot.child.kill('SIGKILL');
    if (requests.length > 1) {
      // One of several callers' templates overran (or the process died under them): nobody can
      // tell whose, so each is rendered again on its own and only the culprit fails.
      this.isolate(requests);
    } else if (requests.length === 1) {
      requests[0].reject(err);
    } else if (!slot.ready) {
      // A process that died starting fails the oldest waiting request, so a process that can
      // never start surfaces its error instead of being respawned for ever behind a stuck queue.
      this.queue.shift()?.reject(err);
    }
    if (!this.closed) this.dispatch();
  }
}
