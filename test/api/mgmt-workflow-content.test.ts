/**
 * Workflows as content through the unchanged clients on loopback: @knocklabs/mgmt upserts
 * (an uncommitted change in development), commits and promotes; @knocklabs/node triggers with
 * each environment's key and reads what was rendered. Triggers run the committed version only:
 * after a push the old version still runs, after a commit development runs the new one, and
 * production runs the old one until the commit is promoted. Plus the workflows folder: a removed
 * file deactivates its workflow, an API-owned key's file is skipped (logged), watch mode.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import Knock from '@knocklabs/node';
import KnockMgmt from '@knocklabs/mgmt';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { syncWorkflowsFromDirectory, watchWorkflowsDirectory, watchWorkflowsFromEnv } from '../../src/workflows/sync.js';

const feedStep = (body: string) => ({ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: body } });
const hello = { key: 'hello', name: 'Hello', steps: [feedStep('Old hello {{ recipient.id }}')] };
const other = { key: 'other', name: 'Other', steps: [feedStep('Other')] };

/** A pino logger whose lines the test can read. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function writeWorkflow(dir: string, wf: { key: string } & Record<string, unknown>) {
  mkdirSync(join(dir, wf.key), { recursive: true });
  writeFileSync(join(dir, wf.key, 'workflow.json'), JSON.stringify(wf, null, 2));
}

describe.each(engines)('workflows as content through @knocklabs/mgmt and @knocklabs/node (%s)', { timeout: 120_000 }, (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t?.close(); });

  const start = async (opts: Parameters<typeof startTestHerald>[1] = {}) => {
    t = await startTestHerald(engine, { workflows: [hello, other], environments: ['development', 'production'], ...opts });
    const [development, production] = t.herald.environments;
    const client = (apiKey: string) => new Knock({ apiKey, baseURL: t.url, maxRetries: 0 });
    return {
      dev: client(development.keys.secret),
      prod: client(production.keys.secret),
      mgmt: new KnockMgmt({ serviceToken: t.herald.serviceToken.token!, baseURL: `${t.url}/mgmt`, maxRetries: 0 }),
    };
  };

  /** Triggers `hello` for a fresh user and answers the markdown its feed message rendered. */
  async function rendered(client: Knock, user: string): Promise<string> {
    await client.workflows.trigger('hello', { recipients: [user] });
    await t.drain();
    const messages = (await client.users.listMessages(user)).items;
    expect(messages).toHaveLength(1);
    const content = await client.messages.getContent(messages[0].id);
    return JSON.stringify(content.data);
  }

  it('push without commit keeps running the committed version; commit changes development; promote changes production', async () => {
    const { dev, prod, mgmt } = await start();
    const pushed = await mgmt.workflows.upsert('hello', { environment: 'development', workflow: { name: 'Hello v2', steps: [feedStep('New hello {{ recipient.id }}')] } as never });
    expect(pushed.workflow).toMatchObject({ key: 'hello', name: 'Hello v2', environment: 'development', active: true, valid: true });

    // Listing in development shows the latest version (uncommitted included); hide_uncommitted_changes the committed one.
    const latest = await mgmt.workflows.list({ environment: 'development' });
    expect(latest.entries.map((w) => [w.key, w.name])).toEqual([['hello', 'Hello v2'], ['other', 'Other']]);
    const committedOnly = await mgmt.workflows.retrieve('hello', { environment: 'development', hide_uncommitted_changes: true });
    expect(committedOnly.name).toBe('Hello');
    expect(committedOnly.sha).not.toBe(pushed.workflow.sha);

    expect(await rendered(dev, 'u1')).toContain('Old hello u1');
    expect((await mgmt.commits.list({ environment: 'development' })).entries).toEqual([]);

    await mgmt.commits.commitAll({ environment: 'development', commit_message: 'New greeting' });
    const commits = (await mgmt.commits.list({ environment: 'development' })).entries;
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({ commit_message: 'New greeting', environment: 'development', resource: { type: 'workflow', identifier: 'hello' }, author: { name: 'herald' } });
    expect(await mgmt.commits.retrieve(commits[0].id)).toMatchObject({ id: commits[0].id, commit_message: 'New greeting' });
    expect((await mgmt.commits.list({ environment: 'development', promoted: false })).entries).toHaveLength(1);

    expect(await rendered(dev, 'u2')).toContain('New hello u2');
    expect(await rendered(prod, 'u3')).toContain('Old hello u3');
    expect((await mgmt.workflows.retrieve('hello', { environment: 'production' })).name).toBe('Hello');

    await mgmt.commits.promoteAll({ to_environment: 'production' });
    expect((await mgmt.workflows.retrieve('hello', { environment: 'production' })).name).toBe('Hello v2');
    expect(await rendered(prod, 'u4')).toContain('New hello u4');
    expect((await mgmt.commits.list({ environment: 'development', promoted: true })).entries.map((c) => c.id)).toEqual([commits[0].id]);
    expect((await mgmt.commits.list({ environment: 'development', promoted: false })).entries).toEqual([]);
    const received = (await mgmt.commits.list({ environment: 'production' })).entries;
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ environment: 'production', commit_message: 'New greeting', resource: { type: 'workflow', identifier: 'hello' } });
    // Promoting again changes nothing.
    await mgmt.commits.promoteAll({ to_environment: 'production' });
    expect((await mgmt.commits.list({ environment: 'production' })).entries).toHaveLength(1);
  });

  it('upsert with commit=true commits at once; one commit promoted by id; a run keeps the version it started with', async () => {
    const { dev, prod, mgmt } = await start();
    const delayed = { name: 'Hello slow', steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'seconds', value: 30 } } }, feedStep('Slow {{ recipient.id }}')] };
    await mgmt.workflows.upsert('hello', { environment: 'development', workflow: delayed as never, commit: true, commit_message: 'slow' });
    // A run that started on the delayed version ...
    await dev.workflows.trigger('hello', { recipients: ['pinned'] });
    await t.drain();
    // ... keeps it after the next commit.
    t.clock.advance(1_000);
    await mgmt.workflows.upsert('hello', { environment: 'development', workflow: { name: 'Hello fast', steps: [feedStep('Fast {{ recipient.id }}')] } as never, commit: true, commit_message: 'fast' });
    t.clock.advance(31_000);
    await t.drain();
    const pinned = (await dev.users.listMessages('pinned')).items;
    expect(pinned).toHaveLength(1);
    expect(JSON.stringify((await dev.messages.getContent(pinned[0].id)).data)).toContain('Slow pinned');
    expect(await rendered(dev, 'n1')).toContain('Fast n1');

    const commits = (await mgmt.commits.list({ environment: 'development' })).entries;
    expect(commits.map((c) => c.commit_message)).toEqual(['fast', 'slow']);
    // Promoting only the older commit gives production the slow version.
    const promoted = await mgmt.commits.promoteOne(commits[1].id);
    expect(promoted.commit).toMatchObject({ id: commits[1].id, environment: 'development' });
    expect((await mgmt.workflows.retrieve('hello', { environment: 'production' })).name).toBe('Hello slow');
    expect((await mgmt.commits.list({ environment: 'development', promoted: false })).entries.map((c) => c.id)).toEqual([commits[0].id]);
    await prod.workflows.trigger('hello', { recipients: ['p1'] });
    await t.drain();
    expect((await prod.users.listMessages('p1')).items).toHaveLength(0);
  });

  it('refuses writes outside development, invalid workflows with the step and field named, and validates without storing', async () => {
    const { mgmt } = await start();
    const auth = { authorization: `Bearer ${t.herald.serviceToken.token}` };
    const prodWrite = await http(t, 'PUT', '/mgmt/v1/workflows/hello?environment=production', { workflow: hello }, auth);
    expect(prodWrite.status).toBe(422);
    expect(prodWrite.body).toMatchObject({ code: 'invalid_params', errors: [{ field: 'environment' }] });

    const bad = { name: 'Bad', steps: [feedStep('x'), { ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'fortnights', value: 1 } } }] };
    const refused = await http(t, 'PUT', '/mgmt/v1/workflows/hello?environment=development', { workflow: bad }, auth);
    expect(refused.status).toBe(422);
    expect(refused.body.errors.map((e: { field: string }) => e.field)).toContain('workflow.steps[1].settings.delay_for.unit');
    await expect(mgmt.workflows.validate('hello', { environment: 'development', workflow: bad as never })).rejects.toMatchObject({ status: 422 });

    const ok = await mgmt.workflows.validate('brand-new', { environment: 'development', workflow: { name: 'New', steps: [feedStep('n')] } as never });
    expect(ok.workflow).toMatchObject({ key: 'brand-new', name: 'New', valid: true });
    await expect(mgmt.workflows.retrieve('brand-new', { environment: 'development' })).rejects.toMatchObject({ status: 404 });
    expect((await mgmt.workflows.retrieve('hello', { environment: 'development' })).name).toBe('Hello');
  });

  it('activates per environment and runs a workflow (test run) in an environment', async () => {
    const { dev, prod, mgmt } = await start();
    const off = await mgmt.workflows.activate('hello', { environment: 'development', status: false });
    expect(off.workflow).toMatchObject({ key: 'hello', active: false });
    await expect(dev.workflows.trigger('hello', { recipients: ['a'] })).rejects.toMatchObject({ status: 422 });
    expect((await mgmt.workflows.retrieve('hello', { environment: 'production' })).active).toBe(true);
    await prod.workflows.trigger('hello', { recipients: ['a'] });
    // A test run of an inactive workflow answers as its trigger does.
    await expect(mgmt.workflows.run('hello', { environment: 'development', recipients: ['runner'] })).rejects.toMatchObject({ status: 422 });
    await mgmt.workflows.activate('hello', { environment: 'development', status: true });
    const run = await mgmt.workflows.run('hello', { environment: 'development', recipients: ['runner'], data: { x: 1 } });
    expect(run.workflow_run_id).toMatch(/^[0-9a-f-]{36}$/);
    await t.drain();
    expect((await dev.users.listMessages('runner')).items).toHaveLength(1);
    expect((await prod.users.listMessages('runner')).items).toHaveLength(0);
    // Only a committed version can be activated.
    await mgmt.workflows.upsert('draft-only', { environment: 'development', workflow: { name: 'Draft', steps: [feedStep('d')] } as never });
    await expect(mgmt.workflows.activate('draft-only', { environment: 'development', status: true })).rejects.toMatchObject({ status: 422 });
  });

  it('the workflows folder: an API-owned key\'s file is skipped (logged), a removed file deactivates its workflow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-wf-'));
    writeWorkflow(dir, hello);
    writeWorkflow(dir, other);
    const { dev, prod, mgmt } = await start({ workflowsDir: dir, workflows: undefined });
    await mgmt.workflows.upsert('hello', { environment: 'development', workflow: { name: 'Hello API', steps: [feedStep('API {{ recipient.id }}')] } as never, commit: true });
    await mgmt.commits.promoteAll({ to_environment: 'production' });

    // The folder is read again (as at the next start) with the file for "other" gone.
    rmSync(join(dir, 'other'), { recursive: true });
    const { logger, lines } = capturedLogger();
    for (const env of t.herald.environments) {
      const report = await syncWorkflowsFromDirectory(env.db, dir, t.clock.now(), { environment: env.slug, logger });
      expect(report).toMatchObject({ loaded: [], skipped: [{ key: 'hello' }], deactivated: [{ key: 'other' }] });
    }
    const skipped = lines.find((l) => String(l.msg).includes('skipped'));
    expect(skipped).toMatchObject({ workflow: 'hello', path: join(dir, 'hello', 'workflow.json') });
    expect(String(skipped!.msg)).toContain(`workflow file ${join(dir, 'hello', 'workflow.json')} skipped`);
    expect(String(skipped!.msg)).toContain('management API');
    expect(lines.some((l) => l.workflow === 'other' && String(l.msg).includes('deactivated') && String(l.msg).includes('is gone'))).toBe(true);

    // Triggers: "other" answers as an inactive workflow does; "hello" keeps the API's version.
    await expect(dev.workflows.trigger('other', { recipients: ['a'] })).rejects.toMatchObject({ status: 422 });
    await expect(prod.workflows.trigger('other', { recipients: ['a'] })).rejects.toMatchObject({ status: 422 });
    expect(await rendered(dev, 'd1')).toContain('API d1');
    expect(await rendered(prod, 'p1')).toContain('API p1');
    expect((await mgmt.workflows.retrieve('other', { environment: 'development' })).active).toBe(false);

    // A file put back makes its workflow active again.
    writeWorkflow(dir, other);
    for (const env of t.herald.environments) await syncWorkflowsFromDirectory(env.db, dir, t.clock.now(), { environment: env.slug });
    await dev.workflows.trigger('other', { recipients: ['a'] });
  });

  it('Herald started with HERALD_WATCH_WORKFLOWS=true watches its folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-wf-'));
    writeWorkflow(dir, hello);
    const before = process.env.HERALD_WATCH_WORKFLOWS;
    process.env.HERALD_WATCH_WORKFLOWS = 'true';
    try {
      const { dev } = await start({ workflowsDir: dir, workflows: undefined });
      writeWorkflow(dir, { ...hello, steps: [feedStep('Watched {{ recipient.id }}')] });
      let body = '';
      for (let i = 0; i < 40 && !body.includes('Watched'); i++) {
        await new Promise((r) => setTimeout(r, 250));
        body = await rendered(dev, `x${i}`);
      }
      expect(body).toContain('Watched');
    } finally {
      if (before === undefined) delete process.env.HERALD_WATCH_WORKFLOWS;
      else process.env.HERALD_WATCH_WORKFLOWS = before;
    }
  });

  it('watch mode applies an edit, a new workflow and a removal without a restart', async () => {
    expect(watchWorkflowsFromEnv({ NODE_ENV: 'production' })).toBe(false);
    expect(watchWorkflowsFromEnv({})).toBe(true);
    expect(watchWorkflowsFromEnv({ NODE_ENV: 'test', HERALD_WATCH_WORKFLOWS: 'true' })).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'herald-wf-'));
    writeWorkflow(dir, hello);
    const { dev, prod } = await start({ workflowsDir: dir, workflows: undefined });
    const envs = t.herald.environments;
    const watcher = watchWorkflowsDirectory({
      dir, clock: t.clock, logger: pino({ level: 'silent' }), debounceMs: 50,
      environments: { slugs: envs.map((e) => e.slug), db: async (slug) => envs.find((e) => e.slug === slug)!.db },
    });
    try {
      expect(await rendered(dev, 'w1')).toContain('Old hello w1');
      writeWorkflow(dir, { ...hello, steps: [feedStep('Edited {{ recipient.id }}')] });
      writeWorkflow(dir, other);
      await new Promise((r) => setTimeout(r, 300));
      await watcher.settled();
      expect(await rendered(dev, 'w2')).toContain('Edited w2');
      expect(await rendered(prod, 'w3')).toContain('Edited w3');
      await dev.workflows.trigger('other', { recipients: ['w4'] });
      rmSync(join(dir, 'other'), { recursive: true });
      await new Promise((r) => setTimeout(r, 300));
      await watcher.settled();
      await expect(dev.workflows.trigger('other', { recipients: ['w5'] })).rejects.toMatchObject({ status: 422 });
    } finally {
      await watcher.close();
    }
  });
});
