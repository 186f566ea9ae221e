// `reyna dev` against plain `vite` on the same app, in one run: time from the command to the first 200 of
// `/` (and, for reyna, `/api/hello` too), and how soon a Worker edit is served after the save.
// Targets: ready in ≤ 1.5 s, a Worker edit served in ≤ 300 ms. Prints figures; exits 1 when a target is missed.
// `node bench/dev.mjs [runs]` (default 5, interleaved).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 5);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/reyna.cjs');
const vite = join(root, 'node_modules/vite/bin/vite.js');
const work = join(root, '.tmp/bench-dev');
const app = join(work, 'bench-app');

rmSync(work, { recursive: true, force: true });
execFileSync(process.execPath, [bin, 'init', app, '--template', 'react', '--no-install', '--no-git', '--yes'], {
  stdio: 'ignore',
});

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function ok(url) {
  try {
    return (await fetch(url)).status === 200;
  } catch {
    return false;
  }
}

async function waitFor(urls, started) {
  const pending = new Set(urls);
  while (pending.size) {
    for (const url of [...pending]) if (await ok(url)) pending.delete(url);
    if (performance.now() - started > 30_000) throw new Error(`no answer from ${[...pending].join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}

async function stop(child) {
  const closed = new Promise((resolve) => child.on('close', resolve));
  child.kill('SIGINT');
  await closed;
}

async function timeStart(kind) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child =
    kind === 'reyna'
      ? spawn(process.execPath, [bin, 'dev', '--port', String(port)], { cwd: app, stdio: 'ignore' })
      : spawn(process.execPath, [vite, '--port', String(port), '--strictPort', '--host', '127.0.0.1'], {
          cwd: app,
          stdio: 'ignore',
        });
  const urls = kind === 'reyna' ? [`${base}/`, `${base}/api/hello`] : [`${base}/`];
  const ms = await waitFor(urls, started);
  return { ms, child, base };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const times = { reyna: [], vite: [] };
for (let i = 0; i < runs; i++) {
  for (const kind of ['reyna', 'vite']) {
    const { ms, child } = await timeStart(kind);
    times[kind].push(ms);
    await stop(child);
  }
}

// Worker edits: write, then poll /api/hello until the new answer is served.
const worker = join(app, 'worker/index.ts');
const source = readFileSync(worker, 'utf8');
const { child, base } = await timeStart('reyna');
const edits = [];
for (let i = 0; i < runs; i++) {
  const token = `edit-${i}-${Date.now()}`;
  const started = performance.now();
  writeFileSync(worker, source.replace('Hello from the Worker', token));
  for (;;) {
    const body = await (await fetch(`${base}/api/hello`)).text();
    if (body.includes(token)) break;
    if (performance.now() - started > 10_000) throw new Error('the Worker edit was never served');
  }
  edits.push(performance.now() - started);
  await new Promise((resolve) => setTimeout(resolve, 200));
}
await stop(child);
writeFileSync(worker, source);

const fmt = (ms) => `${ms.toFixed(0).padStart(6)} ms`;
const line = (name, ms, target) => {
  if (target !== undefined && ms > target) process.exitCode = 1;
  const verdict = target === undefined ? '' : ms <= target ? `PASS (≤ ${target} ms)` : `FAIL (target ≤ ${target} ms)`;
  console.log(`${name.padEnd(44)} ${fmt(ms)}   ${verdict}`);
};
console.log(`reyna dev vs vite, median of ${runs} runs (${app})`);
line('vite: first 200 of /', median(times.vite));
line('reyna dev: first 200 of / and /api/hello', median(times.reyna), 1500);
console.log(`${'ratio reyna dev / vite'.padEnd(44)} ${(median(times.reyna) / median(times.vite)).toFixed(2)}×`);
line('reyna dev: Worker edit served after save', median(edits), 300);
