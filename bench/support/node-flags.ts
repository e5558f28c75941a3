import { readFileSync } from 'node:fs';

/**
 * The node flags Herald runs with in production (scripts/node-flags.json, also in package.json's
 * start script, the herald command's shebang and deploy/herald.service): benchmarks start their
 * processes with them, so they measure Herald as it is deployed.
 */
export const HERALD_NODE_FLAGS: string[] = (JSON.parse(readFileSync(new URL('../../scripts/node-flags.json', import.meta.url), 'utf8')) as { flags: string[] }).flags;
