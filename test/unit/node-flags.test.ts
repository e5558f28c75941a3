import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Herald's node flags (scripts/node-flags.json) must reach every way of launching it; a launch path
// that drops them runs with V8's default young generation and ~15 % more CPU per fan-out message.
const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const { flags } = JSON.parse(read('scripts/node-flags.json')) as { flags: string[] };
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

describe("Herald's node flags", () => {
  it('are a non-empty list of node options', () => {
    expect(flags.length).toBeGreaterThan(0);
    for (const f of flags) expect(f).toMatch(/^--[a-z-]+(=\S+)?$/);
  });

  it.each([
    ['npm start', () => scripts.start],
    ['npm run herald', () => scripts.herald],
    ['the herald command (shebang)', () => read('scripts/herald.mjs').split('\n')[0]],
    ['deploy/herald.service', () => read('deploy/herald.service').split('\n').find((l) => l.startsWith('ExecStart=')) ?? ''],
    ['npm run bench:fanout', () => scripts['bench:fanout']],
  ])('reach %s', (_, launch) => {
    const line = launch();
    for (const f of flags) expect(line.split(/\s+/)).toContain(f);
  });
});
