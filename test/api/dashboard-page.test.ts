/**
 * The dashboard's page at /dashboard/: the built files served by Herald itself, the app's own
 * routes answered with index.html, strict security headers, and a clear 503 before a build.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, startTestHerald, type TestHerald } from '../support/harness.js';

function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-dashboard-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Herald</title><script type="module" src="/dashboard/assets/app-1234.js"></script>');
  writeFileSync(join(dir, 'assets', 'app-1234.js'), 'console.log("herald")');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

describe.each(engines)('dashboard page (%s)', (engine) => {
  let built: TestHerald;
  let unbuilt: TestHerald;
  beforeAll(async () => {
    built = await startTestHerald(engine, { dashboard: { assetsDir: fakeBuild() } });
    unbuilt = await startTestHerald(engine, { dashboard: { assetsDir: join(tmpdir(), 'herald-no-such-dashboard-build') } });
  });
  afterAll(async () => {
    await built?.close();
    await unbuilt?.close();
  });

  it('redirects /dashboard to /dashboard/ and serves index.html there, uncached, under a strict CSP', async () => {
    const redirect = await fetch(`${built.url}/dashboard`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/dashboard/');
    const page = await fetch(`${built.url}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('<title>Herald</title>');
  });

  it('answers the app\'s own routes with index.html (single-page app) and top-level files as themselves', async () => {
    const route = await fetch(`${built.url}/dashboard/runs/0b6c1f0e-6a55-4f0e-9a51-6f4f8d1f9b2a`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('<title>Herald</title>');
    const icon = await fetch(`${built.url}/dashboard/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toMatch(/svg/);
  });

  it('serves hashed assets with a long cache, and a missing asset is a 404, not the page', async () => {
    const asset = await fetch(`${built.url}/dashboard/assets/app-1234.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toContain('herald');
    const missing = await fetch(`${built.url}/dashboard/assets/nope-1.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'resource_missing' });
  });

  it('an unknown /dashboard/api path is the API\'s 404, not the page', async () => {
    const res = await fetch(`${built.url}/dashboard/api/no-such-thing`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'resource_missing', status: 404 });
  });

  it('does not serve files outside the build', async () => {
    const res = await fetch(`${built.url}/dashboard/..%2f..%2fpackage.json`);
    expect(res.status).not.toBe(500);
    expect(await res.text()).not.toContain('"dependencies"');
  });

  it('answers 503 in Knock\'s error shape, saying to build, when the dashboard is not built', async () => {
    const res = await fetch(`${unbuilt.url}/dashboard/`);
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body).toMatchObject({ status: 503, code: 'dashboard_not_built' });
    expect(body.message).toContain('npm run build');
  });
});
