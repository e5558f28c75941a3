// `npm start`: build dist/ when it is missing or stale, then run the compiled server in THIS
// process (an import, not a child): SIGTERM and SIGINT from a supervisor reach the server itself.
import { ensureBuilt } from './build-lib.mjs';

try {
  await ensureBuilt();
} catch (err) {
  console.error(`herald: cannot build dist/: ${err.message}`);
  process.exit(1);
}
await import('../dist/main.js');
