/**
 * A process of its own that LISTENs on Herald's new-messages channel (store/message-notify.ts)
 * and records, per recipient, the wall-clock time its first notification arrived. The NOTIFY is
 * sent by the statement that inserts the messages and delivered by PostgreSQL at its commit, so
 * this is "when the message committed" as seen by an idle client (no event loop shared with
 * Herald's worker or sockets). bench/sockets.ts measures push latency from it.
 *
 * Protocol (IPC): sends `{ready: true}` once listening; on `{cmd: 'dump'}` answers
 * `{arrivals: {userId: wallMs}}` and forgets them; exits on `{cmd: 'close'}`.
 * Usage (forked): commit-listener.ts <connectionString> <channel name>
 */
import pg from 'pg';

const [url, channel] = process.argv.slice(2);
const client = new pg.Client({ connectionString: url });
let arrivals: Record<string, number> = {};

client.on('notification', (n) => {
  const at = performance.timeOrigin + performance.now();
  try {
    const { r } = JSON.parse(n.payload ?? '') as { r?: string };
    if (typeof r === 'string' && arrivals[r] === undefined) arrivals[r] = at;
  } catch { /* not ours */ }
});

await client.connect();
await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
process.send!({ ready: true });
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'dump') { process.send!({ arrivals }); arrivals = {}; }
  else if (m.cmd === 'close') void client.end().finally(() => process.exit(0));
});
