// `npm run build`: compile src/ to dist/.
import { build } from './build-lib.mjs';

try {
  await build();
} catch (err) {
  // tsc already printed its diagnostics.
  console.error(`build failed: ${err.message}`);
  process.exit(1);
}
