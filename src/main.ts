/** `node dist/main.js` (what `npm start` runs): the server, same as `herald start`. */
import { runCli } from './cli/program.js';

await runCli(['start', ...process.argv.slice(2)]);
