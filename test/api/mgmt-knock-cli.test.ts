/**
 * knock-cli (@knocklabs/cli, unchanged) against Herald's management API on loopback: its own
 * binary with KNOCK_SERVICE_TOKEN and `--api-origin <herald>/mgmt`. It runs from an empty
 * directory with its own empty HOME (no user config, no knock.json), and with a preload that
 * refuses and reports any connection or DNS lookup beyond loopback (support/loopback-only.mjs).
 * knock-cli 1.1 has no telemetry and no update check (its only oclif plugin is plugin-help).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knockCli } from '../support/knock-cli.js';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';

/** Each knock-cli process loads oclif and its commands: seconds apiece on a busy machine. */
const CLI_TEST_TIMEOUT_MS = 180_000;

const feed = { ref: 'in_app_feed_1', type: 'channel', channel_key: 'in-app-feed', template: { markdown_body: 'Hello {{ recipient.name }}' } };
const welcome = {
  key: 'welcome', name: 'Welcome', categories: ['onboarding'],
  steps: [{ ref: 'delay_1', type: 'delay', settings: { delay_for: { unit: 'seconds', value: 5 } } }, feed],
};
const alerts = { key: 'alerts', name: 'Alerts', steps: [feed] };

describe.each(engines)('knock-cli against the management API (%s)', (engine) => {
  let t: TestHerald;
  afterEach(async () => { await t.close(); });

  /** Runs `knock <args>` against Herald (or, with `origin` null, knock-cli's default origin); answers its stdout, stderr and exit code. */
  async function knock(args: string[], token = t.herald.serviceToken.token!, origin: string | null = `${t.url}/mgmt`) {
    const home = mkdtempSync(join(tmpdir(), 'herald-knock-home-'));
    return knockCli(args, { home, token, origin, timeoutMs: 60_000 });
  }

  it('whoami verifies the service token', async () => {
    t = await startTestHerald(engine, { workflows: [welcome, alerts] });
    const out = await knock(['whoami']);
    expect(out.stderr).not.toContain('OUTSIDE NETWORK');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('Successfully authenticated');
    expect(out.stdout).toContain('Service token name: herald');
    const json = await knock(['whoami', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ type: 'service_token', account_features: { translations_allowed: true } });
  }, CLI_TEST_TIMEOUT_MS);

  it('workflow list and workflow get show Herald\'s workflows', async () => {
    t = await startTestHerald(engine, { workflows: [welcome, alerts], environments: ['development', 'production'] });
    const table = await knock(['workflow', 'list']);
    expect(table.stderr).not.toContain('OUTSIDE NETWORK');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/Showing 2 workflows/);
    expect(table.stdout).toMatch(/alerts\s+Alerts\s+active/);
    expect(table.stdout).toMatch(/welcome\s+Welcome\s+active\s+onboarding\s+2/);

    const list = await knock(['workflow', 'list', '--environment', 'production', '--json']);
    expect(JSON.parse(list.stdout).entries.map((w: { key: string; environment: string }) => [w.key, w.environment]))
      .toEqual([['alerts', 'production'], ['welcome', 'production']]);

    const get = await knock(['workflow', 'get', 'welcome', '--json']);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ key: 'welcome', name: 'Welcome', environment: 'development', steps: [{ ref: 'delay_1', type: 'delay' }, { ref: 'in_app_feed_1', channel_type: 'in_app_feed' }] });
    const shown = await knock(['workflow', 'get', 'welcome']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('welcome');
    expect(shown.stderr).not.toContain('OUTSIDE NETWORK');
  }, CLI_TEST_TIMEOUT_MS);

  it('is refused with an API key instead of a service token', async () => {
    t = await startTestHerald(engine, { workflows: [alerts] });
    const out = await knock(['workflow', 'list'], t.secretKey);
    expect(out.code).not.toBe(0);
    expect(out.stderr + out.stdout).toMatch(/service token/i);
    expect(out.stderr).not.toContain('OUTSIDE NETWORK');
  }, CLI_TEST_TIMEOUT_MS);

  it('the loopback guard does catch a call beyond loopback (knock-cli\'s default origin)', async () => {
    t = await startTestHerald(engine);
    const out = await knock(['whoami'], 'knock_st_not_sent_anywhere', null);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('OUTSIDE NETWORK: control.knock.app');
  }, CLI_TEST_TIMEOUT_MS);
});
