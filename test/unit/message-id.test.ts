import fc from 'fast-check';
import KSUID from 'ksuid';
import { describe, expect, it } from 'vitest';
import { ksuidText, newMessageId } from '../../src/domain/message-id.js';

describe('message ids (KSUIDs, like Knock)', () => {
  it('are written exactly as the ksuid package writes the same time and payload', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      (seconds, bytes) => {
        const payload = Buffer.from(bytes);
        expect(ksuidText(seconds, payload)).toBe(KSUID.fromParts(1.4e12 + seconds * 1000, payload).string);
      },
    ), { numRuns: 2_000 });
  });

  it('include the extremes: all zero bits and all one bits', () => {
    expect(ksuidText(0, Buffer.alloc(16))).toBe('0'.repeat(27));
    expect(ksuidText(2 ** 32 - 1, Buffer.alloc(16, 0xff))).toBe(KSUID.fromParts(1.4e12 + (2 ** 32 - 1) * 1000, Buffer.alloc(16, 0xff)).string);
    expect(ksuidText(2 ** 32 - 1, Buffer.alloc(16, 0xff))).toBe('aWgEPTl1tmebfsQzFP4bxwgy80V');
  });

  it('carry their creation time, and sort in creation order within a process', () => {
    const at = new Date('2026-12-06T12:00:00.250Z');
    const ids = Array.from({ length: 1_000 }, (_, i) => newMessageId(new Date(at.getTime() + Math.floor(i / 10))));
    expect(ids.every((id) => id.length === 27)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(KSUID.parse(ids[0]).date.toISOString()).toBe('2026-12-06T12:00:00.000Z');
  });
});
