// `reyna build` against the plain tools on the same app, in one run: `vite build` then `esbuild` of the Worker
// (what a hand-written build script does). reyna also type-checks beside the bundling (skipped when nothing it
// read changed since it last passed) and writes the report. Shown: a rebuild of unchanged sources (the target:
// ≤ 1.15× the plain tools), a build after an edit (the type check runs), and `--no-typecheck`.
// Prints figures; exits 1 when the target is missed.
// `node bench/build.mjs [runs]` (default 5, interleaved).
import { execFileSync } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 5);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/reyna.cjs');
const vite = join(root, 'node_modules/vite/bin/vite.js');
const esbuild = join(root, 'node_modules/esbuild/bin/esbuild');
const work = join(root, '.tmp/bench-build');
const app = join(work, 'bench-app');

rmSync(work, { recursive: true, force: true });
execFileSync(process.execPath, [bin, 'init', app, '--template', 'react', '--no-install', '--no-git', '--yes'], {
  stdio: 'ignore',
});

const variants = {
  'vite build + esbuild': () => {
    execFileSync(process.execPath, [vite, 'build', '--outDir', 'plain/client', '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: app,
      stdio: 'ignore',
    });
    execFileSync(
      esbuild,
      [
        'worker/index.ts',
        '--bundle',
        '--format=esm',
        '--platform=neutral',
        '--conditions=workerd,worker,browser',
        '--main-fields=module,main',
        '--minify',
        '--sourcemap=external',
        '--outfile=plain/worker/index.js',
        '--log-level=warning',
      ],
      { cwd: app, stdio: 'ignore' },
    );
  },
  'reyna build': () =>
    execFileSync(process.execPath, [bin, 'build'], { cwd: app, stdio: 'ignore', env: { ...process.env, CI: 'true' } }),
  'reyna build, after an edit': () =>
    execFileSync(process.execPath, [bin, 'build'], { cwd: app, stdio: 'ignore', env: { ...process.env, CI: 'true' } }),
  'reyna build --no-typecheck': () =>
    execFileSync(process.execPath, [bin, 'build', '--no-typecheck'], {
      cwd: app,
      stdio: 'ignore',
      env: { ...process.env, CI: 'true' },
    }),
};

const times = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
for (const run of Object.values(variants)) run(); // warm the file cache and Vite's own caches
for (let i = 0; i < runs; i++) {
  for (const [name, run] of Object.entries(variants)) {
    // The edit is made before the clock starts: a comment, so the output stays the same size.
    if (name.includes('after an edit')) appendFileSync(join(app, 'src/app.tsx'), `// edit ${i}\n`);
    const started = performance.now();
    run();
    times[name].push(performance.now() - started);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const base = median(times['vite build + esbuild']);
console.log(`build of the react template, median of ${runs} runs`);
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(`  ${name.padEnd(28)} ${m.toFixed(0).padStart(6)} ms  ${(m / base).toFixed(2)}×`);
}
const ratio = median(times['reyna build']) / base;
console.log(
  `target reyna build ≤ 1.15× vite build + esbuild: ${ratio <= 1.15 ? 'PASS' : 'MISS'} (${ratio.toFixed(2)}×)`,
);
rmSync(work, { recursive: true, force: true });
if (ratio > 1.15) process.exitCode = 1;
