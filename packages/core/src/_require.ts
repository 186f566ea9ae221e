import { createRequire } from 'node:module';

/**
 * Reyna's own CommonJS dependencies on the paths that must start fast, loaded with require(). `import()` of a
 * CommonJS file makes Node's ESM loader read and scan the whole of it for its export names first (cjs-module-lexer):
 * ~30 ms for esbuild, before the code even runs.
 */
const require = createRequire(import.meta.url);

export const requireEsbuild = (): typeof import('esbuild') => require('esbuild');
