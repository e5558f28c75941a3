/** The `herald` command (package bin, through scripts/herald.mjs). */
import { runCli } from './program.js';

await runCli(process.argv.slice(2));
