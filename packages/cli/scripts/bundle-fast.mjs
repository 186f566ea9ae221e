// Bundles src/daemon/fast.ts (as compiled to dist/daemon/fast.js) and what it imports into one CommonJS file,
// dist/daemon/fast.cjs, which bin/reyna.cjs loads for a `reyna status` the sync daemon answers: one file, and no
// ESM loader, before the answer. Core stays outside (loaded with import() where it is needed at all).
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = (path) => fileURLToPath(new URL(`../dist/${path}`, import.meta.url));
await build({
  entryPoints: [dist('daemon/fast.js')],
  outfile: dist('daemon/fast.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['@reyna/*'],
  // The modules find files beside them (dist/build-id.txt) through import.meta.url; the bundle sits where
  // dist/daemon/_wire.js does, so the same URL serves.
  define: { 'import.meta.url': '__reynaModuleUrl' },
  banner: { js: "const __reynaModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
