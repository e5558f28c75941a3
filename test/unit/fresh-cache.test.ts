import { afterEach, describe, expect, it, vi } from 'vitest';
import { FRESH_MS, readFresh, type FreshEntry } from '../../src/engine/caches.js';

/** Channel and layout reads during planning (engine/caches.ts readFresh). */
describe('reads cached for a few seconds', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('runs planned together share one read when the entry is missing', async () => {
    const cache = new Map<string, FreshEntry<string>>();
    let reads = 0;
    const load = async (key: string) => { reads++; await new Promise((r) => setTimeout(r, 5)); return `row of ${key}`; };
    const rows = await Promise.all(Array.from({ length: 2_000 }, () => readFresh(cache, 'in-app-feed', load)));
    expect(reads).toBe(1);
    expect(new Set(rows)).toEqual(new Set(['row of in-app-feed']));
  });

  it('reads again once the entry is older than FRESH_MS', async () => {
    vi.useFakeTimers();
    const cache = new Map<string, FreshEntry<number>>();
    let reads = 0;
    const load = async () => ++reads;
    expect(await readFresh(cache, 'k', load)).toBe(1);
    vi.advanceTimersByTime(FRESH_MS - 1);
    expect(await readFresh(cache, 'k', load)).toBe(1);
    vi.advanceTimersByTime(1);
    expect(await readFresh(cache, 'k', load)).toBe(2);
  });

  it('forgets a failed read, so the next caller tries again', async () => {
    const cache = new Map<string, FreshEntry<string>>();
    let fail = true;
    const load = async () => { if (fail) throw new Error('connection lost'); return 'row'; };
    await expect(readFresh(cache, 'k', load)).rejects.toThrow('connection lost');
    fail = false;
    expect(await readFresh(cache, 'k', load)).toBe('row');
  });
});
