#!/usr/bin/env -S node --max-semi-space-size=64
// The `herald` command (package.json "bin"): builds dist/ when stale, then runs the compiled CLI
// in this process, so signals sent to `herald start` reach the server. The shebang's node flags are
// scripts/node-flags.json's (test/unit/node-flags.test.ts keeps every launch path in step).
import { ensureBuilt } from './build-lib.mjs';

try {
  await ensureBuilt();
} catch (err) {
  console.error(`herald: cannot build dist/: ${err.message}`);
  process.exit(1);
}
await import('../dist/cli/herald.js');
