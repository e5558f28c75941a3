/**
 * Bundles the feed page (test/e2e/page) with Vite, as an application would ship it, and serves
 * the bundle with Vite's preview server on a loopback port. The page is served from its own
 * origin, so the browser talks to Herald cross-origin (CORS), as a real app does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';

export interface FeedPageServer {
  /** The page's address; add `?host=&key=&user=&token=&channel=`. */
  url: string;
  close(): Promise<void>;
}

const root = fileURLToPath(new URL('../page/', import.meta.url));

export async function buildAndServeFeedPage(): Promise<FeedPageServer> {
  const outDir = mkdtempSync(join(tmpdir(), 'herald-e2e-page-'));
  // configFile: false keeps the repository's vitest.config.ts out of the page's build.
  const common = { root, configFile: false as const, logLevel: 'warn' as const, build: { outDir, emptyOutDir: true } };
  await build({ ...common, base: './' });
  const server = await preview({ ...common, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
  const address = server.httpServer.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
