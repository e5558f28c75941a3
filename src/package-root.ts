/**
 * The package's root folder (the one holding package.json), found by walking up from this
 * module. Files Herald reads at run time (migrations/, the render worker, the dashboard's built
 * assets) are located from here rather than relative to the importing module: `npm run build`
 * bundles the entry points, so a module's own location differs between src/ (tsx, tests) and
 * dist/ (one bundled file per entry point).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  for (let dir = dirname(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(fileURLToPath(import.meta.url));

/** True when this code runs from TypeScript sources (tsx, vitest), false from the built dist/. */
export const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');
