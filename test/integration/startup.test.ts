import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Knock from '@knocklabs/node';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Starts Herald from source (`src/main.ts` through tsx, as `npm run dev` does without the
 * watcher), or with `compiled` through `npm start` itself (scripts/start.mjs: build dist/ when
 * stale, then run dist/main.js in the same process), and collects what it prints.
 */
function startProcess(env: Record<string, string>, opts: { compiled?: boolean; args?: string[] } = {}) {
  const childEnv = { ...process.env, NODE_ENV: 'production', ...env, DATABASE_URL: '' };
  const child = opts.compiled
    ? spawn('npm', ['start', '--', ...(opts.args ?? [])], { cwd: ROOT, env: childEnv })
    : spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...(opts.args ?? [])], { cwd: ROOT, env: childEnv });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const waitFor = async (re: RegExp, ms = 120_000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = re.exec(output);
      if (m) return m;
      if (child.exitCode !== null) throw new Error(`herald exited: ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${re}: ${output}`);
  };
  /** Waits for "Herald listening" and returns the port it bound (PORT=0 lets the OS choose a free one). */
  const listening = async (ms?: number) => (await waitFor(/Herald listening on http:\/\/[^:]+:(\d+)/, ms))[1];
  const exited = () => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
  return { child, waitFor, listening, exited, output: () => output };
}

describe('starting Herald on the embedded database (npm start)', () => {
  const children: ChildProcess[] = [];
  afterEach(() => { for (const c of children.splice(0)) c.kill('SIGKILL'); });

  it('generates and prints API keys, loads good workflows, reports a malformed one, and serves the API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-start-'));
    const workflows = join(dir, 'workflows');
    mkdirSync(join(workflows, 'hello'), { recursive: true });
    writeFileSync(join(workflows, 'hello', 'workflow.json'), JSON.stringify({
      key: 'hello', name: 'Hello', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { 'markdown_body@': 'body.md' } }],
    }));
    writeFileSync(join(workflows, 'hello', 'body.md'), 'Hi {{ recipient.id }}');
    mkdirSync(join(workflows, 'broken'));
    writeFileSync(join(workflows, 'broken', 'workflow.json'), JSON.stringify({ key: 'broken', name: 'Broken', steps: [{ ref: 'd', type: 'delay', settings: {} }] }));

    const p = startProcess({ PORT: '0', HERALD_DATA_DIR: join(dir, 'data'), HERALD_WORKFLOWS_DIR: workflows, HERALD_POLL_INTERVAL_MS: '50', HERALD_LOG_LEVEL: 'info' });
    children.push(p.child);
    const sk = (await p.waitFor(/secret key: (sk_\S+)/))[1];
    expect((await p.waitFor(/public key: (pk_\S+)/))[1]).toMatch(/^pk_/);
    const port = await p.listening();
    expect(p.output()).toContain('broken');
    expect(p.output()).toMatch(/workflow not loaded/);

    const knock = new Knock({ apiKey: sk, baseURL: `http://127.0.0.1:${port}`, maxRetries: 0 });
    await knock.workflows.trigger('hello', { recipients: ['ada'] });
    let items: unknown[] = [];
    for (let i = 0; i < 100 && items.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      items = (await knock.users.listMessages('ada')).items;
    }
    expect(items).toHaveLength(1);
    const broken = await fetch(`http://127.0.0.1:${port}/v1/workflows/broken/trigger`, {
      method: 'POST', headers: { authorization: `Bearer ${sk}`, 'content-type': 'application/json' }, body: '{"recipients":["ada"]}',
    });
    expect(broken.status).toBe(404);

    // A restart reuses the stored keys and prints none.
    p.child.kill('SIGTERM');
    await new Promise((r) => p.child.once('exit', r));
    const again = startProcess({ PORT: '0', HERALD_DATA_DIR: join(dir, 'data'), HERALD_WORKFLOWS_DIR: workflows });
    children.push(again.child);
    const againPort = await again.listening();
    expect(again.output()).not.toContain('secret key:');
    const res = await fetch(`http://127.0.0.1:${againPort}/v1/users/ada`, { headers: { authorization: `Bearer ${sk}` } });
    expect(res.status).toBe(404);
  }, 300_000);

  it('loses no acknowledged run when the process is killed (SIGKILL) while runs are paused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-kill-'));
    const workflows = join(dir, 'workflows');
    mkdirSync(join(workflows, 'later'), { recursive: true });
    writeFileSync(join(workflows, 'later', 'workflow.json'), JSON.stringify({
      key: 'later', name: 'Later', steps: [
        { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'seconds', value: 2 } } },
        { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Later, {{ recipient.id }}' } },
      ],
    }));
    const env = { PORT: '0', HERALD_DATA_DIR: join(dir, 'data'), HERALD_WORKFLOWS_DIR: workflows, HERALD_POLL_INTERVAL_MS: '50', HERALD_SECRET_KEY: 'sk_test_kill' };
    const first = startProcess(env);
    children.push(first.child);
    const firstPort = await first.listening();
    const acked = await new Knock({ apiKey: 'sk_test_kill', baseURL: `http://127.0.0.1:${firstPort}`, maxRetries: 0 })
      .workflows.trigger('later', { recipients: ['ada', 'bob'] });
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = startProcess(env);
    children.push(second.child);
    const knock = new Knock({ apiKey: 'sk_test_kill', baseURL: `http://127.0.0.1:${await second.listening()}`, maxRetries: 0 });
    let delivered: unknown[] = [];
    for (let i = 0; i < 100 && delivered.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      delivered = (await knock.messages.list()).items;
    }
    expect(delivered).toHaveLength(2);
    const runs = (await knock.workflowRecipientRuns.list({ workflow: 'later' })).items;
    expect(runs.map((r) => r.workflow_run_id)).toEqual([acked.workflow_run_id, acked.workflow_run_id]);
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
  }, 300_000);
});

describe('npm start (compiled)', () => {
  const children: ChildProcess[] = [];
  afterEach(() => { for (const c of children.splice(0)) c.kill('SIGKILL'); });

  it('npm start -- --help prints the usage and exits 0 without opening a database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-help-'));
    const child = spawn('npm', ['start', '--', '--help'], { cwd: ROOT, env: { ...process.env, HERALD_DATA_DIR: join(dir, 'data'), DATABASE_URL: '' } });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const code = await new Promise((r) => child.once('exit', r));
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/Usage: herald start \[options\]/);
    expect(stdout).toMatch(/--port <value> +HTTP port \(default 3000\) \(env PORT\)/);
    expect(stderr).not.toMatch(/Error|at .*:\d+:\d+/);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  }, 180_000);

  it('runs dist/main.js with no wrapper: ready on /readyz, and a SIGTERM to npm (as a supervisor sends) stops the server itself', async () => {
    // `.herald/data` as on a fresh checkout (the default): neither folder exists yet.
    const dir = join(mkdtempSync(join(tmpdir(), 'herald-compiled-')), '.herald');
    const p = startProcess({ PORT: '0', HERALD_DATA_DIR: join(dir, 'data'), HERALD_WORKFLOWS_DIR: join(dir, 'none') }, { compiled: true });
    children.push(p.child);
    const port = await p.listening(170_000);
    // JSON log lines (not a terminal, NODE_ENV=production).
    expect(p.output()).toMatch(/^\{"level":30,.*"startupMs":\d+,"startupCpuMs":\d+,"msg":"Herald listening on http:\/\/127\.0\.0\.1:\d+"\}$/m);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true });
    // The lock file names the process that holds the database: the server, npm's direct child.
    const server = Number(readFileSync(join(dir, 'data.lock'), 'utf8'));
    expect(server).not.toBe(p.child.pid);
    p.child.kill('SIGTERM');
    await p.exited();
    const alive = () => { try { process.kill(server, 0); return true; } catch { return false; } };
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
    // It shut down (releasing the lock) rather than being orphaned or killed.
    expect(existsSync(join(dir, 'data.lock'))).toBe(false);
  }, 240_000);
});

describe('start-up failures', () => {
  const children: ChildProcess[] = [];
  afterEach(() => { for (const c of children.splice(0)) c.kill('SIGKILL'); });

  it('a port already in use fails at once with a clear message, before the database is opened', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = String((busy.address() as AddressInfo).port);
    try {
      const dir = mkdtempSync(join(tmpdir(), 'herald-busy-'));
      const p = startProcess({ PORT: port, HERALD_DATA_DIR: join(dir, 'data') });
      children.push(p.child);
      expect(await p.exited()).toBe(1);
      expect(p.output()).toContain(`herald: port ${port} on 127.0.0.1 is already in use (another Herald?); choose another with PORT or --port`);
      expect(p.output()).not.toMatch(/at .*:\d+:\d+/);
      // PGlite never created its directory: the check came first.
      expect(existsSync(join(dir, 'data'))).toBe(false);
    } finally {
      busy.close();
    }
  }, 60_000);

  it('a second process on the same PGlite data directory is refused while the first runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-twice-'));
    const env = { HERALD_DATA_DIR: join(dir, 'data'), HERALD_WORKFLOWS_DIR: join(dir, 'none') };
    const first = startProcess({ ...env, PORT: '0' });
    children.push(first.child);
    await first.listening();
    const second = startProcess({ ...env, PORT: '0' });
    children.push(second.child);
    expect(await second.exited()).toBe(1);
    expect(second.output()).toContain(`is in use by another Herald process (pid ${first.child.pid})`);
  }, 300_000);

  it('herald doctor on a PGlite directory a running Herald holds asks that process\'s /readyz', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-doctor-'));
    const env = { HERALD_DATA_DIR: join(dir, 'data'), HERALD_WORKFLOWS_DIR: join(dir, 'none') };
    const server = startProcess({ ...env, PORT: '0' });
    children.push(server.child);
    const port = await server.listening();
    // doctor is configured as the server would be after the fact: the port it actually bound.
    const doctor = spawn(process.execPath, ['--import', 'tsx', 'src/cli/herald.ts', 'doctor'], { cwd: ROOT, env: { ...process.env, ...env, PORT: port, DATABASE_URL: '' } });
    let out = '';
    doctor.stdout.on('data', (d) => { out += d; });
    doctor.stderr.on('data', (d) => { out += d; });
    expect(await new Promise((r) => doctor.once('exit', r)), out).toBe(0);
    expect(out).toMatch(new RegExp(`^ok +server: Herald \\(pid ${server.child.pid}\\) holds .*; http://127\\.0\\.0\\.1:${port}/readyz answers ready$`, 'm'));
  }, 300_000);

  it('an invalid setting is one line naming it, exit code 1', async () => {
    const p = startProcess({ PORT: 'eighty' });
    children.push(p.child);
    expect(await p.exited()).toBe(1);
    expect(p.output()).toContain('herald: invalid configuration: PORT must be a non-negative integer, got "eighty"');
  }, 60_000);
});

describe.each(engines)('readiness probes on %s', (engine) => {
  let t: TestHerald | undefined;
  afterEach(async () => { await t?.close().catch(() => {}); t = undefined; });

  it('/healthz and /readyz answer 200 without a key when the database is reachable and migrated', async () => {
    t = await startTestHerald(engine);
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true });
  });

  it('/readyz answers 503 in Knock\'s error shape when a migration is not applied', async () => {
    t = await startTestHerald(engine);
    await t.db.query('DELETE FROM herald_migrations WHERE version = 17');
    const res = await http(t, 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      code: 'not_ready', status: 503, type: 'api_error',
      message: 'Not ready: migrations not applied: 017_api_key_rotation.sql (run "herald migrate").',
      errors: [{ field: 'migrations', message: 'not applied: 017_api_key_rotation.sql (run "herald migrate")', type: 'not_ready' }],
    });
  });

  it('/readyz answers 503 when the database is gone, while /healthz stays 200', async () => {
    t = await startTestHerald(engine);
    await t.db.close();
    const res = await http(t, 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('not_ready');
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'database', message: expect.stringMatching(/^unreachable: /) })]);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
