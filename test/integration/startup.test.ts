import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Knock from '@knocklabs/node';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Starts `src/main.ts` the way `npm start` does and collects what it prints. */
function startProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...process.env, ...env, DATABASE_URL: '' } });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const waitFor = async (re: RegExp, ms = 45_000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = re.exec(output);
      if (m) return m;
      if (child.exitCode !== null) throw new Error(`herald exited: ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${re}: ${output}`);
  };
  return { child, waitFor, output: () => output };
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

    const port = String(20000 + Math.floor(Math.random() * 20000));
    const p = startProcess({ PORT: port, HERALD_DATA_DIR: join(dir, 'data'), HERALD_WORKFLOWS_DIR: workflows, HERALD_POLL_INTERVAL_MS: '50', HERALD_LOG_LEVEL: 'info' });
    children.push(p.child);
    const sk = (await p.waitFor(/secret key: (sk_\S+)/))[1];
    expect((await p.waitFor(/public key: (pk_\S+)/))[1]).toMatch(/^pk_/);
    await p.waitFor(/Herald listening/);
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
    const again = startProcess({ PORT: port, HERALD_DATA_DIR: join(dir, 'data'), HERALD_WORKFLOWS_DIR: workflows });
    children.push(again.child);
    await again.waitFor(/Herald listening/);
    expect(again.output()).not.toContain('secret key:');
    const res = await fetch(`http://127.0.0.1:${port}/v1/users/ada`, { headers: { authorization: `Bearer ${sk}` } });
    expect(res.status).toBe(404);
  }, 120_000);

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
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const env = { PORT: port, HERALD_DATA_DIR: join(dir, 'data'), HERALD_WORKFLOWS_DIR: workflows, HERALD_POLL_INTERVAL_MS: '50', HERALD_SECRET_KEY: 'sk_test_kill' };
    const first = startProcess(env);
    children.push(first.child);
    await first.waitFor(/Herald listening/);
    const knock = new Knock({ apiKey: 'sk_test_kill', baseURL: `http://127.0.0.1:${port}`, maxRetries: 0 });
    const acked = await knock.workflows.trigger('later', { recipients: ['ada', 'bob'] });
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = startProcess(env);
    children.push(second.child);
    await second.waitFor(/Herald listening/);
    let delivered: unknown[] = [];
    for (let i = 0; i < 100 && delivered.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      delivered = (await knock.messages.list()).items;
    }
    expect(delivered).toHaveLength(2);
    const runs = (await knock.workflowRecipientRuns.list({ workflow: 'later' })).items;
    expect(runs.map((r) => r.workflow_run_id)).toEqual([acked.workflow_run_id, acked.workflow_run_id]);
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
  }, 120_000);
});
