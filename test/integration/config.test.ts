import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { openStore } from '../../src/cli/open-store.js';

describe('configuration (flags > env > config file > defaults)', () => {
  it('uses defaults when nothing is set', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1', databaseUrl: undefined, dataDir: '.herald/data', workflowsDir: 'workflows', roles: ['api', 'worker'] });
  });

  it('reads the documented environment names', () => {
    const c = loadConfig([], {
      PORT: '4000', HOST: '0.0.0.0', DATABASE_URL: 'postgres://x/y', HERALD_DATA_DIR: '/d', HERALD_WORKFLOWS_DIR: '/w',
      HERALD_SECRET_KEY: 'sk_a', HERALD_PUBLIC_KEY: 'pk_b', HERALD_ROLES: 'worker',
    });
    expect(c).toMatchObject({ port: 4000, host: '0.0.0.0', databaseUrl: 'postgres://x/y', dataDir: '/d', workflowsDir: '/w', secretKey: 'sk_a', publicKey: 'pk_b', roles: ['worker'] });
  });

  it('lets a flag beat the environment, and the environment beat the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
    const file = join(dir, 'herald.config.json');
    writeFileSync(file, JSON.stringify({ port: 5000, host: '10.0.0.1', workflowsDir: '/from-file' }));
    const c = loadConfig(['--config', file, '--port', '6000'], { PORT: '5500', HOST: '10.0.0.2' });
    expect(c.port).toBe(6000);
    expect(c.host).toBe('10.0.0.2');
    expect(c.workflowsDir).toBe('/from-file');
  });

  it("passes HERALD_PGLITE_SHARED_BUFFERS to the embedded database, whose memory it mostly decides", async () => {
    expect(loadConfig([], {}).pgliteSharedBuffers).toBe('128MB');
    const c = loadConfig([], { HERALD_PGLITE_SHARED_BUFFERS: '1GB', HERALD_DATA_DIR: mkdtempSync(join(tmpdir(), 'herald-pglite-')) });
    expect(c.pgliteSharedBuffers).toBe('1024MB');
    expect(() => loadConfig([], { HERALD_PGLITE_SHARED_BUFFERS: 'lots' })).toThrow(/HERALD_PGLITE_SHARED_BUFFERS/);
    expect(() => loadConfig([], { HERALD_PGLITE_SHARED_BUFFERS: '2GB' })).toThrow(/HERALD_PGLITE_SHARED_BUFFERS/);
    const store = await openStore({ ...c, pgliteSharedBuffers: '16MB' });
    try {
      expect(await store.db.query("SELECT current_setting('shared_buffers') AS v")).toEqual([{ v: '16MB' }]);
    } finally {
      await store.close();
    }
  });

  it('rejects invalid values with a message naming the setting', () => {
    expect(() => loadConfig([], { PORT: 'abc' })).toThrow(/PORT/);
    expect(() => loadConfig([], { HERALD_SECRET_KEY: 'nope' })).toThrow(/HERALD_SECRET_KEY/);
    expect(() => loadConfig([], { HERALD_ROLES: 'api,cook' })).toThrow(/cook/);
  });

  it('takes the public URL for absolute URLs from HERALD_PUBLIC_URL, else from the listen address', () => {
    expect(loadConfig([], {}).publicUrl).toBe('http://127.0.0.1:3000');
    expect(loadConfig([], { HOST: '0.0.0.0', PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig([], { HOST: '::1' }).publicUrl).toBe('http://[::1]:3000');
    expect(loadConfig(['--public-url', 'https://notify.example.com/herald/'], { HERALD_PUBLIC_URL: 'https://env.example' }).publicUrl).toBe('https://notify.example.com/herald');
    expect(loadConfig([], { HERALD_PUBLIC_URL: 'https://env.example' }).publicUrl).toBe('https://env.example');
    expect(() => loadConfig([], { HERALD_PUBLIC_URL: 'notify.example.com' })).toThrow(/HERALD_PUBLIC_URL/);
    expect(() => loadConfig([], { HERALD_PUBLIC_URL: 'ftp://notify.example.com' })).toThrow(/HERALD_PUBLIC_URL/);
    expect(() => loadConfig([], { HERALD_PUBLIC_URL: 'https://notify.example.com/?x=1' })).toThrow(/HERALD_PUBLIC_URL/);
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig([], {}))).toBe(true);
  });
});
