import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { PGlite } from '@electric-sql/pglite';
import { wrapPglite } from '../../src/store/pglite-adapter.js';
import { migrate } from '../../src/store/migrate.js';
import { ensureDashboardBuilt } from '../../scripts/build-dashboard.mjs';

/**
 * Creating a PGlite database takes seconds (initdb in WASM); loading a dump takes ~0.5 s.
 * So the suite migrates one database once and every test starts from a copy of it.
 */
export default async function setup(project: TestProject) {
  // The dashboard's page, once per run when its sources changed: the browser tests open it, and
  // building it here (not in each test file) keeps parallel files from writing dashboard/dist at once.
  await ensureDashboardBuilt();
  const pg = await PGlite.create();
  await migrate(wrapPglite(pg));
  const dump = await pg.dumpDataDir('none');
  await pg.close();
  const file = join(mkdtempSync(join(tmpdir(), 'herald-test-')), 'template.tar');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  project.provide('pgliteTemplate', file);
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}
