/**
 * The `herald` command, run as an operator runs it: a child process (through tsx, so the test
 * needs no build) against a PGlite data directory or a PostgreSQL schema of its own, checked by
 * exit code and output, and by what a running Herald then accepts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import pino from 'pino';
import Knock from '@knocklabs/node';
import { createHerald, type Herald } from '../../src/herald.js';
import type { ChannelConfig } from '../../src/domain/channel-config.js';
import type { Db } from '../../src/store/db.js';
import { openPglite } from '../../src/store/pglite-adapter.js';
import { openPostgres } from '../../src/store/pg-adapter.js';
import { migrate } from '../../src/store/migrate.js';
import { engines, type EngineName } from '../support/harness.js';
import { LoopbackSmtp } from '../support/smtp-server.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface CliResult { code: number; stdout: string; stderr: string }

/** Runs `herald <args>` with `env` (on top of a clean Herald environment) and waits for it to exit. */
function herald(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/herald.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', HERALD_DATA_DIR: '', HERALD_SECRET_KEY: '', HERALD_PUBLIC_KEY: '', NODE_ENV: 'production', ...env },
      // PGlite opens take tens of seconds on a loaded 2-core machine.
      timeout: 180_000,
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

/**
 * A database both the test and the CLI open: a PGlite directory (copied from the migrated test
 * template unless `fresh`; one process at a time) or a PostgreSQL schema named in the URL, so the
 * CLI, which takes no schema option, lands in it too.
 */
interface Store {
  env: Record<string, string>;
  open(): Promise<Db>;
  cleanup(): Promise<void>;
}

async function newStore(engine: EngineName, fresh = false): Promise<Store> {
  if (engine === 'pglite') {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'herald-cli-')), 'data');
    if (!fresh) {
      const seeded = await openPglite({ dataDir, loadDataDir: new Blob([readFileSync(inject('pgliteTemplate'))]) });
      await seeded.close();
    }
    return { env: { HERALD_DATA_DIR: dataDir }, open: () => openPglite({ dataDir }), cleanup: async () => {} };
  }
  const schema = `herald_cli_${randomBytes(5).toString('hex')}`;
  const url = `${process.env.DATABASE_URL}${process.env.DATABASE_URL!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const admin = await openPostgres({ connectionString: process.env.DATABASE_URL!, max: 1 });
  await admin.exec(`CREATE SCHEMA "${schema}"`);
  if (!fresh) {
    const db = await openPostgres({ connectionString: url, max: 1 });
    await migrate(db);
    await db.close();
  }
  return {
    env: { DATABASE_URL: url },
    open: () => openPostgres({ connectionString: url, max: 4 }),
    async cleanup() {
      await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.close();
    },
  };
}

async function startHerald(db: Db, workflows?: Record<string, unknown>[]): Promise<{ herald: Herald; url: string }> {
  let workflowsDir: string | undefined;
  if (workflows) {
    workflowsDir = mkdtempSync(join(tmpdir(), 'herald-cli-wf-'));
    for (const wf of workflows) {
      mkdirSync(join(workflowsDir, String(wf.key)));
      writeFileSync(join(workflowsDir, String(wf.key), 'workflow.json'), JSON.stringify(wf));
    }
  }
  const herald = await createHerald({ db, logger: pino({ level: 'silent' }), workflowsDir });
  await herald.app.listen({ port: 0, host: '127.0.0.1' });
  const address = herald.app.server.address();
  return { herald, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

async function statusWith(url: string, key: string): Promise<number> {
  return (await fetch(`${url}/v1/users/nobody`, { headers: { authorization: `Bearer ${key}` } })).status;
}

const keyIn = (out: string, label: string) => new RegExp(`${label}: ((?:sk|pk)_\\S+)`).exec(out)?.[1];

describe.each(engines)('herald CLI on %s', (engine) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

  async function store(fresh = false): Promise<Store> {
    const s = await newStore(engine, fresh);
    cleanups.push(() => s.cleanup());
    return s;
  }

  it('migrate applies every migration to an empty database and lists each as applied; --status then exits 0', async () => {
    const s = await store(true);
    const before = await herald(['migrate', '--status'], s.env);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/pending {2}001_core\.sql/);
    expect(before.stderr).toMatch(/migration\(s\) pending: run "herald migrate"/);

    const applied = await herald(['migrate'], s.env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/applied {2}001_core\.sql {2}\d{4}-/);
    expect(applied.stdout).toMatch(/applied {2}017_api_key_rotation\.sql/);
    expect(applied.stdout).not.toMatch(/pending/);
    expect(applied.stdout).toMatch(/Applied \d+ migration\(s\)/);

    const status = await herald(['migrate', '--status'], s.env);
    expect(status.code).toBe(0);
    expect(status.stdout).not.toMatch(/Applied|pending/);
  }, 300_000);

  it('keys: show fails before any key exists, create makes a pair once, show prints it (key recovery)', async () => {
    const s = await store();
    const none = await herald(['keys', 'show'], s.env);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no keys are stored .* "herald keys create"/);

    const created = await herald(['keys', 'create'], s.env);
    expect(created.code, created.stderr).toBe(0);
    const secret = keyIn(created.stdout, 'secret key');
    const pub = keyIn(created.stdout, 'public key');
    expect(secret).toMatch(/^sk_/);
    expect(pub).toMatch(/^pk_/);

    const again = await herald(['keys', 'create'], s.env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/keys already exist/);

    const shown = await herald(['keys'], s.env);
    expect(shown.code).toBe(0);
    expect(keyIn(shown.stdout, 'secret key')).toBe(secret);
    expect(keyIn(shown.stdout, 'public key')).toBe(pub);

    // The keys Herald then serves with are the ones shown.
    const db = await s.open();
    const { herald: h, url } = await startHerald(db);
    cleanups.push(async () => { await h.close(); await db.close(); });
    expect(h.keys.secret).toBe(secret);
    expect(await statusWith(url, secret!)).toBe(404);
  }, 300_000);

  it('keys per environment: each has its own pair, show prints every one, rotate touches only the one named', async () => {
    const s = await store();
    expect((await herald(['keys', 'create'], s.env)).code).toBe(0);
    const onlyDev = await herald(['keys', 'show'], s.env);
    expect(onlyDev.stdout).toContain('No keys of production yet');
    const created = await herald(['keys', 'create', '--environment', 'production'], s.env);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('Created API keys of production');
    const prodSecret = keyIn(created.stdout, 'secret key');
    const shown = await herald(['keys', 'show'], s.env);
    const [dev, prod] = shown.stdout.split('API keys of production');
    expect(dev).toContain('API keys of development');
    expect(keyIn(prod, 'secret key')).toBe(prodSecret);
    expect(keyIn(dev, 'secret key')).not.toBe(prodSecret);
    const rotated = await herald(['keys', 'rotate', 'secret', '--environment', 'production', '--grace', '0'], s.env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const after = await herald(['keys', 'show', '--environment', 'production'], s.env);
    expect(keyIn(after.stdout, 'secret key')).toBe(keyIn(rotated.stdout, 'new secret key'));
    expect(keyIn(after.stdout, 'secret key')).not.toBe(prodSecret);
    expect(keyIn((await herald(['keys', 'show', '--environment', 'development'], s.env)).stdout, 'secret key')).toBe(keyIn(dev, 'secret key'));
    const unknown = await herald(['keys', 'show', '--environment', 'staging'], s.env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown environment "staging"');
  }, 300_000);

  it('keys rotate: the new key works at once, the old one until its grace period ends, then 401', async () => {
    const s = await store();
    let db = await s.open();
    let started = await startHerald(db);
    const old = started.herald.keys.secret;
    // PGlite is one process's: the CLI runs while Herald is stopped, and Herald is started again.
    const restart = engine === 'pglite';
    if (restart) { await started.herald.close(); await db.close(); }
    const grace = restart ? 15 : 6;
    const rotated = await herald(['keys', 'rotate', 'secret', '--grace', `${grace}s`], s.env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const fresh = keyIn(rotated.stdout, 'new secret key')!;
    const until = new Date(/keeps working until (\S+)/.exec(rotated.stdout)![1]).getTime();
    expect(until - Date.now()).toBeGreaterThan(0);
    if (restart) { db = await s.open(); started = await startHerald(db); }
    const { herald: h, url } = started;
    cleanups.push(async () => { await h.close(); await db.close(); });

    // PostgreSQL: the running process hears of the rotation by NOTIFY.
    let newStatus = 0;
    for (let i = 0; i < 50 && newStatus !== 404; i++) {
      newStatus = await statusWith(url, fresh);
      if (newStatus !== 404) await new Promise((r) => setTimeout(r, 50));
    }
    expect(newStatus).toBe(404);
    expect(Date.now()).toBeLessThan(until);
    expect(await statusWith(url, old)).toBe(404);

    await new Promise((r) => setTimeout(r, until - Date.now() + 100));
    expect(await statusWith(url, old)).toBe(401);
    expect(await statusWith(url, fresh)).toBe(404);
  }, 300_000);

  it('keys revoke ends a rotated-out key\'s grace at once and refuses the current key', async () => {
    const s = await store();
    const created = await herald(['keys', 'create'], s.env);
    const old = keyIn(created.stdout, 'public key')!;
    const rotated = await herald(['keys', 'rotate', 'public'], s.env);
    expect(rotated.stdout).toMatch(/keeps working until .* \(1d\)/);
    const current = keyIn(rotated.stdout, 'new public key')!;
    const shown = await herald(['keys', 'show'], s.env);
    expect(keyIn(shown.stdout, 'public key')).toBe(current);
    expect(shown.stdout).toContain(`rotated-out public key: ${old} (works until`);

    const refused = await herald(['keys', 'revoke', current], s.env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('herald keys rotate public --grace 0');

    const revoked = await herald(['keys', 'revoke', old], s.env);
    expect(revoked.code, revoked.stderr).toBe(0);
    const db = await s.open();
    const { herald: h, url } = await startHerald(db);
    cleanups.push(async () => { await h.close(); await db.close(); });
    const feed = (key: string) => fetch(`${url}/v1/users/ada/feeds/in-app-feed`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    expect(await feed(old)).toBe(401);
    expect(await feed(current)).toBe(200);

    const unknown = await herald(['keys', 'revoke', 'pk_nothing'], s.env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no rotated-out key matches/);
  }, 300_000);

  it('doctor passes on a current, idle database and fails on due runs nobody takes', async () => {
    const s = await store();
    const ok = await herald(['doctor', '--workflows-dir', mkdtempSync(join(tmpdir(), 'herald-empty-'))], s.env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    for (const check of ['database', 'migrations', 'due runs', 'workers', 'due deliveries', 'channels', 'workflows']) {
      expect(ok.stdout).toMatch(new RegExp(`^ok +${check}:`, 'm'));
    }
    expect(ok.stdout).toMatch(/channels: 1 configured \(in-app-feed: in_app_feed\/knock_in_app\)/);

    // A trigger with no worker running: its run is due and waits.
    const db = await s.open();
    const { herald: h, url } = await startHerald(db, [{ key: 'hello', name: 'Hello', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi' } }] }]);
    await new Knock({ apiKey: h.keys.secret, baseURL: url, maxRetries: 0 }).workflows.trigger('hello', { recipients: ['ada'] });
    await h.close();
    await db.close();
    await new Promise((r) => setTimeout(r, 1100));

    const late = await herald(['doctor', '--max-lag', '1s', '--workflows-dir', mkdtempSync(join(tmpdir(), 'herald-empty-'))], s.env);
    expect(late.code).toBe(1);
    expect(late.stdout).toMatch(/^FAIL +due runs: oldest due \d+[smh] ago \(limit 1s\)/m);
    expect(late.stdout).toMatch(/^FAIL +workers: no worker is taking due runs/m);
    expect(late.stderr).toMatch(/herald: 2 check\(s\) failed/);
  }, 300_000);

  /** Applies `channels` as `herald start` does, and writes a workflow sending to webhook channel `hook` at `url`. */
  async function withChannels(s: Store, channels: ChannelConfig[], hookUrl: string): Promise<string> {
    const db = await s.open();
    const h = await createHerald({ db, logger: pino({ level: 'silent' }), channels });
    await h.close();
    await db.close();
    const dir = mkdtempSync(join(tmpdir(), 'herald-doctor-wf-'));
    mkdirSync(join(dir, 'ping'));
    writeFileSync(join(dir, 'ping', 'workflow.json'), JSON.stringify({ key: 'ping', name: 'Ping', steps: [
      { ref: 'hook', type: 'channel', channel_key: 'hook', template: { method: 'POST', url: hookUrl } },
    ] }));
    return dir;
  }

  async function loopbackHttp(): Promise<{ server: Server; port: number }> {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => { server.close(() => resolve()); }));
    return { server, port: (server.address() as AddressInfo).port };
  }

  it('doctor tries each channel\'s provider: all reachable passes; once the HTTP server is gone those channels fail (exit 1)', async () => {
    const s = await store();
    const smtp = await new LoopbackSmtp('smtp-password-123').start();
    cleanups.push(() => smtp.close());
    const { server, port } = await loopbackHttp();
    const workflowsDir = await withChannels(s, [
      { key: 'mail', type: 'email', provider: 'smtp', settings: smtp.settings() },
      { key: 'sms', type: 'sms', provider: 'twilio', settings: { base_url: `http://127.0.0.1:${port}`, account_sid: 'AC1', auth_token: 'twilio-token-456', from: '+15550001' } },
      // Loopback is allowed for this channel only; the doctor connects through the same guard.
      { key: 'hook', type: 'http', provider: 'webhook', settings: { allow_private_networks: true, signing_key: 'signing-key-789' } },
    ], `http://127.0.0.1:${port}/hooks/secret-path`);

    const ok = await herald(['doctor', '--workflows-dir', workflowsDir], s.env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^ok +channel mail \\(smtp\\): SMTP server 127\\.0\\.0\\.1:${smtp.port} answers and accepts the login$`, 'm'));
    expect(ok.stdout).toMatch(new RegExp(`^ok +channel sms \\(twilio\\): 127\\.0\\.0\\.1:${port} reachable$`, 'm'));
    expect(ok.stdout).toMatch(new RegExp(`^ok +channel hook \\(webhook\\): 127\\.0\\.0\\.1:${port} reachable$`, 'm'));

    await new Promise<void>((resolve) => { server.close(() => resolve()); });
    const down = await herald(['doctor', '--workflows-dir', workflowsDir], s.env);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^ok +channel mail \(smtp\)/m);
    expect(down.stdout).toMatch(new RegExp(`^FAIL +channel sms \\(twilio\\): 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`, 'm'));
    expect(down.stdout).toMatch(new RegExp(`^FAIL +channel hook \\(webhook\\): 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`, 'm'));
    expect(down.stderr).toMatch(/herald: 2 check\(s\) failed/);
    for (const secret of ['smtp-password-123', 'twilio-token-456', 'signing-key-789', 'secret-path']) expect(ok.stdout + down.stdout + down.stderr).not.toContain(secret);
  }, 300_000);

  it('doctor fails a refused SMTP login and a webhook address the outbound guard refuses, printing no secret', async () => {
    const s = await store();
    const smtp = await new LoopbackSmtp('the-right-password').start();
    cleanups.push(() => smtp.close());
    const { port } = await loopbackHttp();
    const workflowsDir = await withChannels(s, [
      { key: 'mail', type: 'email', provider: 'smtp', settings: { ...smtp.settings(), password: 'a-wrong-password' } },
      // No allow_private_networks: a loopback URL is refused before any connection, as a delivery would be.
      { key: 'hook', type: 'http', provider: 'webhook', settings: {} },
    ], `http://127.0.0.1:${port}/hook`);

    const res = await herald(['doctor', '--workflows-dir', workflowsDir], s.env);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(new RegExp(`^FAIL +channel mail \\(smtp\\): SMTP server 127\\.0\\.0\\.1:${smtp.port}: Invalid login`, 'm'));
    expect(res.stdout).toMatch(/^FAIL +channel hook \(webhook\): refused to connect to 127\.0\.0\.1: it is a loopback address/m);
    expect(res.stdout + res.stderr).not.toContain('a-wrong-password');
  }, 300_000);

  it('doctor fails with pending migrations', async () => {
    const s = await store(true);
    const res = await herald(['doctor'], s.env);
    expect(res.code).toBe(1);
    expect(res.stdout, res.stderr).toMatch(/^FAIL +migrations: pending: 001_core\.sql/m);
  }, 300_000);
});

describe('herald CLI without a database', () => {
  it('doctor fails when the database cannot be reached', async () => {
    const res = await herald(['doctor'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^FAIL +database: cannot open the database: .*ECONNREFUSED/m);
  });

  it('keys rotate refuses a key that comes from HERALD_SECRET_KEY, before opening any database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-configured-'));
    const res = await herald(['keys', 'rotate', 'secret'], { HERALD_SECRET_KEY: 'sk_from_env', HERALD_DATA_DIR: join(dir, 'data') });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('the secret key comes from HERALD_SECRET_KEY, not the database: change it there');
  });

  it('workflows validate accepts a valid directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-validate-'));
    mkdirSync(join(dir, 'hello'));
    writeFileSync(join(dir, 'hello', 'workflow.json'), JSON.stringify({ key: 'hello', name: 'Hello', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { 'markdown_body@': 'body.md' } }] }));
    writeFileSync(join(dir, 'hello', 'body.md'), 'Hi {{ recipient.id }}');
    const res = await herald(['workflows', 'validate', dir], {});
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^ok +hello$/m);
    expect(res.stdout).toContain('1 workflow(s) valid');
  });

  it('workflows validate exits 1 naming the file, step and field of each error, as the loader reports them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-validate-'));
    mkdirSync(join(dir, 'good'));
    writeFileSync(join(dir, 'good', 'workflow.json'), JSON.stringify({ key: 'good', name: 'Good', steps: [] }));
    mkdirSync(join(dir, 'late'));
    writeFileSync(join(dir, 'late', 'workflow.json'), JSON.stringify({ key: 'late', name: 'Late', steps: [
      { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hi' } },
      { ref: 'wait', type: 'delay', settings: {} },
    ] }));
    mkdirSync(join(dir, 'missing'));
    writeFileSync(join(dir, 'missing', 'workflow.json'), JSON.stringify({ key: 'missing', name: 'Missing', steps: [
      { ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { 'markdown_body@': 'nope.md' } },
    ] }));
    const res = await herald(['workflows', 'validate', dir], {});
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^ok +good$/m);
    expect(res.stderr).toMatch(/late\/workflow\.json: steps\[1\][\w.]* \(step "wait"\):/);
    expect(res.stderr).toMatch(/missing\/workflow\.json: steps\[0\]\.template\.markdown_body@ \(step "feed"\): file "nope\.md" does not exist/);
    expect(res.stderr).toMatch(/herald: 2 error\(s\); 1 workflow\(s\) valid/);
  });

  it('workflows validate exits 1 for a directory that does not exist', async () => {
    const res = await herald(['workflows', 'validate', '/nonexistent/herald-workflows'], {});
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/is not a directory/);
  });

  it('every command answers --help with its usage and exit code 0', async () => {
    for (const args of [['--help'], ['start', '--help'], ['migrate', '--help'], ['keys', '--help'], ['keys', 'rotate', '--help'], ['keys', 'revoke', '--help'],
      ['keys', 'show', '--help'], ['keys', 'create', '--help'], ['workflows', 'validate', '--help'], ['doctor', '--help']]) {
      const res = await herald(args, {});
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout, args.join(' ')).toMatch(/^Usage: herald/);
    }
  }, 300_000);

  it('an unknown option is a one-line usage error with exit code 1', async () => {
    const res = await herald(['migrate', '--colour'], {});
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/unknown option '--colour'/);
    expect(res.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
});
