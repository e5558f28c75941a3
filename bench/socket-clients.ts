/**
 * The client side of bench/sockets.ts, run as a separate process so 1,000 sockets' JSON parsing
 * does not share the server's event loop. It speaks the Phoenix v2 JSON protocol over plain `ws`
 * sockets, as phoenix.js inside `@knocklabs/client` does, and measures everything on its own
 * clock:
 *  1. connects N sockets and joins `feeds:in-app-feed:<prefix><i>` on each;
 *  2. one trigger for all N users (secret key, HTTP); time from sending it (and from its 200) to
 *     each socket's first `new-message`, and the wall-clock time of each arrival (the server
 *     compares it with the message's `inserted_at`: both clocks are this machine's);
 *  3. transport floor: a heartbeat sent on every socket at once, time to each `phx_reply`.
 * With `sockets` = `none` it only sends the trigger (the no-socket baseline), so both triggers
 * travel the same way, from a process that is not the server.
 * Prints one JSON line with the latencies (ms) on stdout; progress goes to stderr.
 * Usage: tsx bench/socket-clients.ts <baseUrl> <publicKey> <secretKey> <workflowKey> <n> <userPrefix> [none]
 */
import WebSocket from 'ws';

const [baseUrl, publicKey, secretKey, workflowKey, nArg, prefix, sockets] = process.argv.slice(2);
const N = Number(nArg);
/** Sockets opened at a time: keeps the server's accept backlog and the join queries bounded. */
const CONNECT_CONCURRENCY = 100;
/** Every wait is bounded, so a broken server ends the benchmark instead of hanging it. */
const WAIT_MS = 120_000;
/** phoenix.js heartbeats every 30 s; the server drops a socket silent for 60 s. */
const HEARTBEAT_MS = 20_000;

type Frame = [string | null, string | null, string, string, any];

interface Client {
  ws: WebSocket;
  userId: string;
  topic: string;
  ref: number;
  /** Replies awaited, by ref. */
  waiting: Map<string, (frame: Frame) => void>;
  newMessageAt?: number;
  /** Wall-clock ms (sub-millisecond) of the first new-message. */
  newMessageWallMs?: number;
  onNewMessage?: () => void;
}

const log = (msg: string) => process.stderr.write(`[socket-clients] ${msg}\n`);

function send(c: Client, topic: string, event: string, payload: unknown, joinRef: string | null = null): Promise<Frame> {
  const ref = String(++c.ref);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${event} on ${topic} within ${WAIT_MS} ms`)), WAIT_MS);
    c.waiting.set(ref, (frame) => { clearTimeout(timer); resolve(frame); });
    c.ws.send(JSON.stringify([joinRef, ref, topic, event, payload]));
  });
}

async function connect(i: number): Promise<Client> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/ws/v1/websocket?api_key=${encodeURIComponent(publicKey)}&vsn=2.0.0`;
  const ws = new WebSocket(url);
  const userId = `${prefix}${i}`;
  const c: Client = { ws, userId, topic: `feeds:in-app-feed:${userId}`, ref: 0, waiting: new Map() };
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame;
    const [, ref, , event] = frame;
    if (event === 'new-message') {
      if (c.newMessageAt === undefined) {
        c.newMessageAt = performance.now();
        c.newMessageWallMs = performance.timeOrigin + c.newMessageAt;
        c.onNewMessage?.();
      }
      return;
    }
    if (event === 'phx_reply' && ref !== null) {
      const done = c.waiting.get(ref);
      c.waiting.delete(ref);
      done?.(frame);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const joinRef = String(c.ref + 1);
  const [, , , , reply] = await send(c, c.topic, 'phx_join', { r1: { archived: 'exclude' } }, joinRef);
  if (reply?.status !== 'ok') throw new Error(`join ${c.topic} failed: ${JSON.stringify(reply)}`);
  return c;
}

async function connectAll(): Promise<Client[]> {
  const clients: Client[] = [];
  let next = 1;
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, async () => {
    while (next <= N) clients.push(await connect(next++));
  }));
  return clients;
}

const main = async () => {
  let t0 = performance.now();
  const clients = sockets === 'none' ? [] : await connectAll();
  const connectMs = performance.now() - t0;
  if (clients.length > 0) log(`${clients.length} sockets joined in ${Math.round(connectMs)} ms`);
  const heartbeat = setInterval(() => { for (const c of clients) send(c, 'phoenix', 'heartbeat', {}).catch(() => {}); }, HEARTBEAT_MS);

  // Every socket's first new-message, from the trigger's 200.
  const arrived = Promise.all(clients.map((c) => new Promise<void>((resolve) => { c.onNewMessage = resolve; })));
  const recipients = Array.from({ length: N }, (_, i) => `${prefix}${i + 1}`);
  // The server starts counting its feed statements on this line (bench/sockets.ts).
  log('triggering');
  const cpuAtTrigger = process.cpuUsage();
  const requestStart = performance.now();
  const res = await fetch(`${baseUrl}/v1/workflows/${workflowKey}/trigger`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ recipients, data: { note: 'socket benchmark' } }),
  });
  const acceptedAt = performance.now();
  const requestWallMs = performance.timeOrigin + requestStart;
  if (res.status !== 200) throw new Error(`trigger answered ${res.status}: ${await res.text()}`);
  await res.text();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([arrived, new Promise<void>((resolve) => { timer = setTimeout(resolve, WAIT_MS); })]);
  clearTimeout(timer);
  clearInterval(heartbeat);
  // This process's CPU from the trigger to the last push: what receiving the pushes costs the
  // clients, on the same cores as the server and PostgreSQL.
  const cpu = process.cpuUsage(cpuAtTrigger);

  // Transport floor: the same sockets, a server reply with no database work behind it. Measured
  // after the pushes: 1,000 heartbeats answered just before the trigger left their work (the
  // server's and this process's) to run inside the measured window.
  t0 = performance.now();
  const heartbeatMs = await Promise.all(clients.map(async (c) => { await send(c, 'phoenix', 'heartbeat', {}); return performance.now() - t0; }));

  const delivered = clients.filter((c) => c.newMessageAt !== undefined);
  const result = {
    sockets: clients.length,
    connectMs,
    heartbeatMs,
    triggerMs: acceptedAt - requestStart,
    requestWallMs,
    /** From the moment the trigger request was sent; subtract triggerMs for "from its 200". */
    newMessageMs: delivered.map((c) => c.newMessageAt! - requestStart),
    /** Each user's first new-message, as wall-clock ms. */
    arrivals: Object.fromEntries(delivered.map((c) => [c.userId, c.newMessageWallMs!])),
    missing: clients.length - delivered.length,
    /** CPU ms (user + system) this process spent from the trigger to the last push. */
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
  for (const c of clients) c.ws.terminate();
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

main().catch((err) => {
  log(String(err?.stack ?? err));
  process.exit(1);
});
