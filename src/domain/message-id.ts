import { randomFillSync } from 'node:crypto';

/**
 * Message ids are KSUIDs like Knock's (27 characters), sortable by creation time. KSUID time
 * has one-second resolution and the rest is random, so two messages of one second would sort
 * at random, and a feed (ordered by inserted_at, then id) could list a newer message below an
 * older one of the same millisecond. The payload therefore starts with the millisecond and a
 * counter that only grows within this process, then random bytes: ids made here sort in
 * creation order.
 */
let lastMs = 0;
let counter = 0;

/**
 * Random bytes drawn from the kernel 4 KB at a time: one randomBytes call per message id was 2 %
 * of a fan-out's main-thread CPU (issue 12). Each id still gets 10 bytes no other id gets.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function random10(target: Buffer, offset: number): void {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  pool.copy(target, offset, poolOffset, poolOffset + 10);
  poolOffset += 10;
}

/** KSUID's epoch (2014-05-13T16:53:20Z), in seconds since 1970. */
const KSUID_EPOCH_SECONDS = 1_400_000_000;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** A KSUID is 20 bytes (a 4-byte time and a 16-byte payload) written as 27 base-62 digits. */
const KSUID_CHARS = 27;

/** The 20 bytes of the id in the making, as five big-endian 32-bit words; reused by every id. */
const words = new Float64Array(5);
const digits = new Array<string>(KSUID_CHARS);

/**
 * The KSUID text of (seconds since KSUID's epoch, 16-byte payload): the 160-bit number divided by
 * 62 in place, one digit at a time. The ksuid package's encoder built new arrays for every digit:
 * ~20 KB of garbage per id, a third of everything a fan-out allocated (issue 12). Identical output
 * (test/unit/message-id.test.ts checks it against the package).
 */
export function ksuidText(seconds: number, payload: Buffer): string {
  words[0] = seconds >>> 0;
  for (let i = 0; i < 4; i++) words[i + 1] = payload.readUInt32BE(i * 4);
  for (let d = KSUID_CHARS - 1; d >= 0; d--) {
    // Long division of the five words by 62; remainder * 2^32 + word < 62 * 2^32, exact in a double.
    let remainder = 0;
    for (let i = 0; i < 5; i++) {
      const value = remainder * 0x1_0000_0000 + words[i];
      const quotient = Math.floor(value / 62);
      remainder = value - quotient * 62;
      words[i] = quotient;
    }
    digits[d] = BASE62[remainder];
  }
  return digits.join('');
}

/** The payload of the id in the making (read into `words` before the next id reuses it). */
const payload = Buffer.alloc(16);

export function newMessageId(at: Date): string {
  const ms = at.getTime();
  if (ms > lastMs) {
    lastMs = ms;
    counter = 0;
  } else {
    counter++;
  }
  payload.writeUInt16BE(ms % 1000, 0);
  payload.writeUInt32BE(counter >>> 0, 2);
  random10(payload, 6);
  return ksuidText(Math.floor(ms / 1000) - KSUID_EPOCH_SECONDS, payload);
}
