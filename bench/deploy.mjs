// `reyna deploy --target local` of the react example app with N extra static assets (default 1,000) to a studio
// server and its edge on this machine: first deploy, a no-change redeploy, and a redeploy after one asset
// changed. Times are wall clock of the `reyna deploy` process (including its start); the build is not timed.
// Prints figures; always exits 0.
// `node bench/deploy.mjs [assets]`
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const assets = Number(process.argv[2] ?? 1000);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/reyna.cjs');
const work = join(root, '.tmp/bench-deploy');
const app = join(work, 'bench-app');

rmSync(work, { recursive: true, force: true });
const server = spawn(
  process.execPath,
  [bin, 'server', 'start', '--port', '0', '--edge-port', '0', '--data-dir', join(work, 'studio'), '--json'],
  { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, REYNA_LOG_LEVEL: 'warn' } },
);
try {
  const info = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
    });
    server.once('exit', (code) => reject(new Error(`the studio server exited (${code})`)));
  });
  const created = await fetch(`${info.url}/v1/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${info.ownerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench-app' }),
  });
  const { id: appId } = await created.json();

  execFileSync(process.execPath, [bin, 'init', app, '--template', 'react', '--no-install', '--no-git', '--yes'], {
    stdio: 'ignore',
  });
  mkdirSync(join(app, 'public/data'), { recursive: true });
  for (let i = 0; i < assets; i++) {
    writeFileSync(join(app, `public/data/asset-${i}.json`), JSON.stringify({ i, text: `asset ${i} `.repeat(40) }));
  }
  const build = () =>
    execFileSync(process.execPath, [bin, 'build', '--no-typecheck'], {
      cwd: app,
      stdio: 'ignore',
      env: { ...process.env, CI: 'true' },
    });
  const deploy = () => {
    const started = performance.now();
    const out = execFileSync(process.execPath, [bin, 'deploy', '--target', 'local', '--app', appId, '--json'], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, REYNA_SERVER: info.url, REYNA_TOKEN: info.ownerToken },
    });
    return { ms: performance.now() - started, ...JSON.parse(out) };
  };

  build();
  const rows = [];
  const row = (name, { ms, plan, result }) =>
    rows.push({
      name,
      ms,
      files: plan.files.length + plan.modules.length,
      up: result.uploaded.files,
      bytes: result.uploaded.bytes,
      skipped: result.skipped.bytes,
    });
  row('first deploy', deploy());
  row('no-change redeploy', deploy());
  writeFileSync(join(app, 'public/data/asset-0.json'), JSON.stringify({ changed: true }));
  build();
  row('one-asset redeploy', deploy());

  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`reyna deploy --target local, react app + ${assets} assets (edge ${info.edgeUrl})`);
  console.log('                      time   files  uploaded            skipped');
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(20)} ${`${Math.round(r.ms)} ms`.padStart(8)}  ${String(r.files).padStart(5)}  ${String(r.up).padStart(5)} (${kib(r.bytes).padStart(10)})  ${kib(r.skipped).padStart(10)}`,
    );
  }
} catch (error) {
  console.log(`bench/deploy did not finish: ${error.message}`);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(work, { recursive: true, force: true });
}
