import type { BuildOptions } from 'esbuild';

/**
 * How a Worker entry is bundled: ESM for workerd, resolving the `workerd`/`worker`/`browser` export conditions
 * the way Cloudflare's own tooling does. Shared by `reyna dev` and `reyna build` so both run the same code.
 */
export function workerBuildOptions(
  entry: string,
  options: { minify: boolean; sourcemap: BuildOptions['sourcemap'] },
): BuildOptions {
  return {
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2024',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    minify: options.minify,
    sourcemap: options.sourcemap,
    metafile: true,
    write: false,
    outfile: 'index.js',
    logLevel: 'silent',
  };
}
