/**
 * Bundles the example inbox (examples/react-inbox: Knock's own `@knocklabs/react` components)
 * with Vite, using the example's own vite.config.ts as its developers would, and serves the bundle
 * with Vite's preview server on a loopback port. Served from its own origin, so the browser talks
 * to Herald cross-origin (CORS), as a real application does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';

export interface ReactInboxServer {
  /** The page's address; add `?host=&key=&user=&token=&channel=`. */
  url: string;
  close(): Promise<void>;
}

const root = fileURLToPath(new URL('../../../examples/react-inbox/', import.meta.url));

export async function buildAndServeReactInbox(): Promise<ReactInboxServer> {
  const outDir = mkdtempSync(join(tmpdir(), 'herald-e2e-react-inbox-'));
  const common = { root, configFile: join(root, 'vite.config.ts'), logLevel: 'warn' as const, build: { outDir, emptyOutDir: true } };
  // vitest sets NODE_ENV=test, and Vite builds with NODE_ENV when it is set: React's development
  // build, StrictMode's doubled effects. The example ships as a production build, so build it as one.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ ...common, mode: 'production' });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
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
