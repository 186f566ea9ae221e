import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireEsbuild } from '../_require.js';

type Vite = typeof import('vite');
type Esbuild = typeof import('esbuild');

/** The entry a package's `exports["."]` (or `main`) names for `import`. */
function importEntry(pkg: { exports?: unknown; main?: string; module?: string }): string {
  const pick = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object') {
      const v = value as Record<string, unknown>;
      return pick(v['.']) ?? pick(v.import) ?? pick(v.node) ?? pick(v.default);
    }
    return undefined;
  };
  return pick(pkg.exports) ?? pkg.module ?? pkg.main ?? 'index.js';
}

/**
 * Imports a tool as the app resolves it: the app's own pinned copy (its plugins are written against it, and a
 * Docker build of the same app uses the same one), else Reyna's.
 */
async function fromApp<T>(dir: string, name: string, fallback: () => Promise<T>): Promise<T> {
  for (let at = dir; ; at = dirname(at)) {
    const root = join(at, 'node_modules', name);
    try {
      const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
      return (await import(pathToFileURL(join(root, importEntry(pkg))).href)) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (dirname(at) === at) return fallback();
  }
}

export const loadVite = (dir: string): Promise<Vite> => fromApp(dir, 'vite', () => import('vite'));

/** esbuild as the app resolves it, else Reyna's; CommonJS, so required (see _require.ts). */
export async function loadEsbuild(dir: string): Promise<Esbuild> {
  const fromDir = createRequire(join(dir, 'package.json'));
  let path: string;
  try {
    path = fromDir.resolve('esbuild');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    return requireEsbuild();
  }
  return fromDir(path) as Esbuild;
}
