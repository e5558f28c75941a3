/**
 * knock-cli (@knocklabs/cli, unchanged) managing workflows as content in Herald, on loopback
 * only (support/loopback-only.mjs): `workflow validate/push --all` of a knock-cli folder with
 * `@` file references, `workflow list/get/run`, `commit`, `commit list`, `commit promote --to
 * production`, `workflow activate`, and `workflow pull --all` giving back equivalent files.
 * Between the commands @knocklabs/node triggers with each environment's key: the committed
 * version runs, never an uncommitted one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Knock from '@knocklabs/node';
import { knockCli } from '../support/knock-cli.js';
import { engines, http, startTestHerald, type TestHerald } from '../support/harness.js';
import { loadWorkflowsFromDirectory } from '../../src/workflows/load-directory.js';

const CLI_TEST_TIMEOUT_MS = 600_000;

const oldWelcome = { key: 'welcome', name: 'Welcome', steps: [{ ref: 'in_app_feed_1', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Old welcome {{ recipient.id }}' } }] };
const NEW_BODY = 'New **welcome** {{ recipient.id }}\n\nSee you soon.\n';

/** A knock-cli workflows folder: workflow.json with an `@` reference to the step's markdown file. */
function writeCliFolder(root: string) {
  const dir = join(root, 'welcome');
  mkdirSync(join(dir, 'in_app_feed_1'), { recursive: true });
  writeFileSync(join(dir, 'workflow.json'), JSON.stringify({
    name: 'Welcome v2',
    categories: ['onboarding'],
    steps: [
      { ref: 'delay_1', type: 'delay', settings: { delay_for: { unit: 'seconds', value: 1 } } },
      { ref: 'in_app_feed_1', type: 'channel', channel_key: 'in-app-feed', template: { 'markdown_body@': 'in_app_feed_1/markdown_body.md', action_url: '{{ vars.app_url }}' } },
    ],
  }, null, 2));
  writeFileSync(join(dir, 'in_app_feed_1', 'markdown_body.md'), NEW_BODY);
  const alerts = join(root, 'alerts');
  mkdirSync(alerts, { recursive: true });
  writeFileSync(join(alerts, 'workflow.json'), JSON.stringify({ name: 'Alerts', steps: [{ ref: 'feed', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Alert' } }] }, null, 2));
}

describe.each(engines)('knock-cli manages workflows as content (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t?.close(); });

  function cli(home: string) {
    return async (args: string[]) => {
      const out = await knockCli(args, { home, token: t.herald.serviceToken.token!, origin: `${t.url}/mgmt` });
      expect(out.stderr).not.toContain('OUTSIDE NETWORK');
      return out;
    };
  }

  it('validate, push --all (with @ files), list, get, commit, run, commit list, promote, activate, pull --all', async () => {
    t = await startTestHerald(engine, { workflows: [oldWelcome], environments: ['development', 'production'] });
    const [development, production] = t.herald.environments;
    const dev = new Knock({ apiKey: development.keys.secret, baseURL: t.url, maxRetries: 0 });
    const prod = new Knock({ apiKey: production.keys.secret, baseURL: t.url, maxRetries: 0 });
    const auth = { authorization: `Bearer ${t.herald.serviceToken.token}` };
    const mgmtGet = (path: string) => http(t, 'GET', `/mgmt${path}`, undefined, auth);
    const rendered = async (client: Knock, user: string) => {
      await client.workflows.trigger('welcome', { recipients: [user] });
      t.clock.advance(2_000);
      await t.drain();
      const messages = (await client.users.listMessages(user)).items;
      expect(messages).toHaveLength(1);
      return JSON.stringify((await client.messages.getContent(messages[0].id)).data);
    };

    const home = mkdtempSync(join(tmpdir(), 'herald-knock-content-'));
    writeCliFolder(join(home, 'workflows'));
    const knock = cli(home);

    const validated = await knock(['workflow', 'validate', '--all', '--workflows-dir', 'workflows']);
    expect(validated.code).toBe(0);
    expect(validated.stdout).toMatch(/validated 2 workflow/i);

    const pushed = await knock(['workflow', 'push', '--all', '--workflows-dir', 'workflows']);
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/Successfully pushed 2 workflow\(s\)/);
    // knock-cli rewrote the folder from Herald's answer: the body is still in its own file.
    const rewritten = JSON.parse(readFileSync(join(home, 'workflows/welcome/workflow.json'), 'utf8'));
    expect(rewritten.steps[1].template['markdown_body@']).toBe('in_app_feed_1/markdown_body.md');
    expect(rewritten.steps[1].template.markdown_body).toBeUndefined();
    expect(readFileSync(join(home, 'workflows/welcome/in_app_feed_1/markdown_body.md'), 'utf8')).toBe(NEW_BODY);

    // Pushed, not committed: the @ file was read, development shows it, triggers still run the old version.
    const latest = await mgmtGet('/v1/workflows/welcome?environment=development');
    expect(latest.body).toMatchObject({ name: 'Welcome v2', steps: [{ ref: 'delay_1' }, { ref: 'in_app_feed_1', template: { markdown_body: NEW_BODY } }] });
    expect((await mgmtGet('/v1/workflows/welcome?environment=development&hide_uncommitted_changes=true')).body.name).toBe('Welcome');
    expect(await rendered(dev, 'd1')).toContain('Old welcome d1');

    const list = await knock(['workflow', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/Showing 2 workflows/);
    expect(list.stdout).toMatch(/welcome\s+Welcome v2/);
    const get = await knock(['workflow', 'get', 'welcome', '--json']);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ key: 'welcome', name: 'Welcome v2', categories: ['onboarding'] });

    const committed = await knock(['commit', '--force', '--commit-message', 'Welcome v2 from the CLI']);
    expect(committed.code).toBe(0);
    expect(committed.stdout).toMatch(/Successfully committed all changes/);
    expect(await rendered(dev, 'd2')).toContain('New **welcome** d2');
    expect(await rendered(prod, 'p1')).toContain('Old welcome p1');

    const ran = await knock(['workflow', 'run', 'welcome', '--recipients', 'cli-runner', '--data', '{"source":"cli"}']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/Successfully ran `welcome` workflow/);
    expect(ran.stdout).toMatch(/Workflow run id: [0-9a-f-]{36}/);
    t.clock.advance(2_000);
    await t.drain();
    const runnerMessages = (await dev.users.listMessages('cli-runner')).items;
    expect(runnerMessages).toHaveLength(1);
    expect(JSON.stringify((await dev.messages.getContent(runnerMessages[0].id)).data)).toContain('New **welcome** cli-runner');

    const commits = await knock(['commit', 'list', '--json']);
    expect(commits.code).toBe(0);
    const entries = JSON.parse(commits.stdout).entries as { commit_message: string; resource: { identifier: string } }[];
    expect(entries.map((c) => c.resource.identifier).sort()).toEqual(['alerts', 'welcome']);
    expect(new Set(entries.map((c) => c.commit_message))).toEqual(new Set(['Welcome v2 from the CLI']));

    const promoted = await knock(['commit', 'promote', '--to', 'production', '--force']);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toMatch(/Successfully promoted all changes/);
    expect((await mgmtGet('/v1/workflows/welcome?environment=production')).body).toMatchObject({ name: 'Welcome v2', environment: 'production', active: true });
    expect((await mgmtGet('/v1/commits?environment=development&promoted=false')).body.entries).toEqual([]);
    expect(await rendered(prod, 'p2')).toContain('New **welcome** p2');

    const deactivated = await knock(['workflow', 'activate', 'welcome', '--environment', 'production', '--status', 'false', '--force']);
    expect(deactivated.code).toBe(0);
    expect((await mgmtGet('/v1/workflows/welcome?environment=production')).body.active).toBe(false);
    expect((await mgmtGet('/v1/workflows/welcome?environment=development')).body.active).toBe(true);
    await expect(prod.workflows.trigger('welcome', { recipients: ['p3'] })).rejects.toMatchObject({ status: 422 });

    const pulled = await knock(['workflow', 'pull', '--all', '--workflows-dir', 'pulled', '--force']);
    expect(pulled.code).toBe(0);
    const pulledJson = JSON.parse(readFileSync(join(home, 'pulled/welcome/workflow.json'), 'utf8'));
    expect(pulledJson.steps[1].template['markdown_body@']).toBe('in_app_feed_1/markdown_body.md');
    expect(readFileSync(join(home, 'pulled/welcome/in_app_feed_1/markdown_body.md'), 'utf8')).toBe(NEW_BODY);
    expect(existsSync(join(home, 'pulled/alerts/workflow.json'))).toBe(true);
    // Equivalent: both folders load (through Herald's own loader) to the same workflows.
    const [original, back] = await Promise.all([loadWorkflowsFromDirectory(join(home, 'workflows')), loadWorkflowsFromDirectory(join(home, 'pulled'))]);
    expect(back.errors).toEqual([]);
    const essentials = (w: { key: string; name: string; steps: unknown[] }) => ({ key: w.key, name: w.name, steps: JSON.parse(JSON.stringify(w.steps, (_k, v) => (v === null ? undefined : v))) });
    expect(back.workflows.map(essentials)).toEqual(original.workflows.map(essentials));
  }, CLI_TEST_TIMEOUT_MS);

  it('validate and push refuse an invalid workflow naming the step and field; nothing is stored', async () => {
    t = await startTestHerald(engine, { workflows: [oldWelcome], environments: ['development', 'production'] });
    const home = mkdtempSync(join(tmpdir(), 'herald-knock-content-'));
    const dir = join(home, 'workflows', 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'workflow.json'), JSON.stringify({ name: 'Broken', steps: [{ ref: 'wait', type: 'delay', settings: { delay_for: { unit: 'fortnights', value: 1 } } }] }));
    const knock = cli(home);
    const out = await knock(['workflow', 'push', '--all', '--workflows-dir', 'workflows']);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('workflow.steps[0].settings.delay_for.unit');
    const auth = { authorization: `Bearer ${t.herald.serviceToken.token}` };
    expect((await http(t, 'GET', '/mgmt/v1/workflows/broken?environment=development', undefined, auth)).status).toBe(404);
  }, CLI_TEST_TIMEOUT_MS);
});
