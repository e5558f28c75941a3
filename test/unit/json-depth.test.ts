import { describe, expect, it } from 'vitest';
import { nestingDepth } from '../../src/domain/json-depth.js';

describe('nestingDepth (the body parser\'s check before JSON.parse)', () => {
  it.each([
    ['{}', 1],
    ['[{"a":[1,{"b":2}]}]', 4],
    ['{"a":"[[[[{{{{"}', 1],
    ['{"a":"\\"[[[["}', 1],
    ['{"a":"\\\\"}', 1],
    ['["\\\\\\"[[["]', 1],
    ['"[[[', 0],
  ])('counts %s as %i levels, ignoring brackets inside strings', (text, depth) => {
    expect(nestingDepth(text, 64)).toBe(depth);
  });

  it('stops as soon as the limit is passed, whatever follows', () => {
    expect(nestingDepth('['.repeat(1_000_000), 64)).toBe(65);
  });
});
