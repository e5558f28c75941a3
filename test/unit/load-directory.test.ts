import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkflowsFromDirectory } from '../../src/workflows/load-directory.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'herald-workflows-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes `<root>/<relativePath>`, creating folders; objects are written as JSON. */
async function put(relativePath: string, content: string | object): Promise<void> {
  const path = join(root, relativePath);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
}

const inAppStep = (template: Record<string, unknown>) => ({
  ref: 'in_app_feed_1',
  type: 'channel',
  channel_key: 'in-app',
  channel_type: 'in_app_feed',
  template,
});

describe('loadWorkflowsFromDirectory', () => {
  it('loads a workflow from <key>/workflow.json, active by default', async () => {
    await put('welcome/workflow.json', { key: 'welcome', name: 'Welcome', steps: [inAppStep({ markdown_body: 'Hi' })] });

    const { workflows, errors } = await loadWorkflowsFromDirectory(root);

    expect(errors).toEqual([]);
    expect(workflows).toEqual([{ key: 'welcome', name: 'Welcome', active: true, steps: [inAppStep({ markdown_body: 'Hi' })] }]);
  });

  it('takes the key from the directory name when workflow.json has none', async () => {
    await put('digest/workflow.json', { name: 'Digest', steps: [] });

    const { workflows } = await loadWorkflowsFromDirectory(root);

    expect(workflows.map((w) => w.key)).toEqual(['digest']);
  });

  it('replaces "field@" with the content of the referenced file', async () => {
    await put('welcome/workflow.json', { key: 'welcome', name: 'Welcome', steps: [inAppStep({ 'markdown_body@': 'in_app_feed_1/markdown_body.md' })] });
    await put('welcome/in_app_feed_1/markdown_body.md', 'Welcome, **{{ recipient.name }}**!\n');

    const { workflows, errors } = await loadWorkflowsFromDirectory(root);

    expect(errors).toEqual([]);
    expect(workflows[0].steps[0]).toEqual(inAppStep({ markdown_body: 'Welcome, **{{ recipient.name }}**!\n' }));
  });

  it('parses referenced .json files', async () => {
    await put('schema-demo/workflow.json', { name: 'Schema demo', steps: [], 'trigger_data_json_schema@': 'schema.json' });
    await put('schema-demo/schema.json', { type: 'object', required: ['email'] });

    const { workflows } = await loadWorkflowsFromDirectory(root);

    expect(workflows[0].trigger_data_json_schema).toEqual({ type: 'object', required: ['email'] });
  });

  it('reports a missing referenced file with its field', async () => {
    await put('welcome/workflow.json', { name: 'Welcome', steps: [inAppStep({ 'markdown_body@': 'in_app_feed_1/markdown_body.md' })] });

    const { workflows, errors } = await loadWorkflowsFromDirectory(root);

    expect(workflows).toEqual([]);
    expect(errors).toEqual([
      {
        path: join(root, 'welcome/workflow.json'),
        field: 'steps[0].template.markdown_body@',
        message: 'file "in_app_feed_1/markdown_body.md" does not exist',
      },
    ]);
  });

  it('refuses referenced files outside the workflow directory', async () => {
    await put('welcome/workflow.json', { name: 'Welcome', steps: [inAppStep({ 'markdown_body@': '../secret.md' })] });
    await put('secret.md', 'nope');

    const { errors } = await loadWorkflowsFromDirectory(root);

    expect(errors).toMatchObject([{ field: 'steps[0].template.markdown_body@', message: '"../secret.md" points outside the workflow directory' }]);
  });

  it('refuses a referenced file that is a symlink to a file outside the workflow directory', async () => {
    await put('welcome/workflow.json', { name: 'Welcome', steps: [inAppStep({ 'markdown_body@': 'body.md' })] });
    await put('outside/secret.md', 'the operator\'s secret');
    await symlink(join(root, 'outside/secret.md'), join(root, 'welcome/body.md'));

    const { workflows, errors } = await loadWorkflowsFromDirectory(root);

    expect(workflows).toEqual([]);
    expect(errors).toMatchObject([{ field: 'steps[0].template.markdown_body@', message: '"body.md" resolves (through a symbolic link) outside the workflow directory' }]);
  });

  it('refuses a reference through a symlinked folder that leads outside the workflow directory', async () => {
    await put('welcome/workflow.json', { name: 'Welcome', steps: [inAppStep({ 'markdown_body@': 'parts/secret.md' })] });
    await put('outside/secret.md', 'nope');
    await symlink(join(root, 'outside'), join(root, 'welcome/parts'));

    const { errors } = await loadWorkflowsFromDirectory(root);

    expect(errors).toMatchObject([{ field: 'steps[0].template.markdown_body@', message: expect.stringContaining('outside the workflow directory') }]);
  });

  it('follows a symlink that stays inside the workflow directory', async () => {
    await put('welcome/workflow.json', { name: 'Welcome', steps: [inAppStep({ 'markdown_body@': 'body.md' })] });
    await put('welcome/templates/body.md', 'Hi');
    await symlink(join(root, 'welcome/templates/body.md'), join(root, 'welcome/body.md'));

    const { workflows, errors } = await loadWorkflowsFromDirectory(root);

    expect(errors).toEqual([]);
    expect(workflows[0].steps).toEqual([inAppStep({ markdown_body: 'Hi' })]);
  });

  it('reports a workflow.json nested 3,000 levels as malformed, and still loads the others', async () => {
    await put('deep/workflow.json', `{"name":"Deep","steps":[],"x":${'['.repeat(3000)}${']'.repeat(3000)}}`);
    await put('good/workflow.json', { name: 'Good', steps: [] });

    const { workflows, errors } = await loadWorkflowsFromDirectory(root);

    expect(workflows.map((w) => w.key)).toEqual(['good']);
    expect(errors).toEqual([{ path: join(root, 'deep/workflow.json'), field: '', message: expect.stringContaining('nests deeper than 64 levels') }]);
  });

  it('reports malformed JSON without stopping the other workflows', async () => {
    await put('broken/workflow.json', '{ "name": "Broken", ');
    await put('good/workflow.json', { name: 'Good', steps: [] });

    const { workflows, errors } = await loadWorkflowsFromDirectory(root);

    expect(workflows.map((w) => w.key)).toEqual(['good']);
    expect(errors).toEqual([{ path: join(root, 'broken/workflow.json'), field: '', message: expect.stringContaining('is not valid JSON') }]);
  });

  it('reports an invalid step with its field path', async () => {
    await put('reminder/workflow.json', { name: 'Reminder', steps: [{ ref: 'delay_1', type: 'delay', settings: { delay_for: { unit: 'years', value: 1 } } }] });

    const { workflows, errors } = await loadWorkflowsFromDirectory(root);

    expect(workflows).toEqual([]);
    expect(errors).toEqual([
      {
        path: join(root, 'reminder/workflow.json'),
        field: 'steps[0].settings.delay_for.unit',
        message: 'must be one of: seconds, minutes, hours, days, weeks, months',
      },
    ]);
  });

  it('keeps "active": false', async () => {
    await put('paused/workflow.json', { name: 'Paused', active: false, steps: [] });

    const { workflows } = await loadWorkflowsFromDirectory(root);

    expect(workflows[0]).toMatchObject({ key: 'paused', active: false });
  });

  it('reports a second workflow claiming an existing key', async () => {
    await put('a-first/workflow.json', { key: 'shared', name: 'First', steps: [] });
    await put('b-second/workflow.json', { key: 'shared', name: 'Second', steps: [] });

    const { workflows, errors } = await loadWorkflowsFromDirectory(root);

    expect(workflows.map((w) => w.name)).toEqual(['First']);
    expect(errors).toMatchObject([{ path: join(root, 'b-second/workflow.json'), field: 'key' }]);
  });

  it('ignores folders without a workflow.json', async () => {
    await put('notes/readme.md', '# not a workflow');

    expect(await loadWorkflowsFromDirectory(root)).toEqual({ workflows: [], errors: [], files: {} });
  });

  it('returns empty lists for a missing directory', async () => {
    expect(await loadWorkflowsFromDirectory(join(root, 'does-not-exist'))).toEqual({ workflows: [], errors: [], files: {} });
  });
});
