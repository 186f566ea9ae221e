// `npm start`: Reyna's main job on embedded defaults, with the real `reyna` binary. It starts the studio server
// on PGlite with its local edge, creates an app through the API, makes the app from the built-in react template,
// builds it, deploys it to the local edge, prints its URL, and keeps serving until Ctrl-C.
import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/reyna.cjs');
// Inside the repository, so the app resolves the workspace's installed dependencies: no second npm install.
const work = join(root, '.tmp/start');
const dataDir = join(work, 'studio');
const app = join(work, 'example-app');
const step = (text) => process.stdout.write(`\n▸ ${text}\n`);
const reyna = (args, options = {}) =>
  execFileSync(process.execPath, [bin, ...args], {
    stdio: 'inherit',
    ...options,
    env: { ...process.env, ...options.env },
  });

/** The port when it is free on loopback, else 0 (any free one). */
const freeOr0 = (port) =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(0));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(port)));
  });

rmSync(work, { recursive: true, force: true });

const port = await freeOr0(8787);
const edgePort = await freeOr0(8788);
step(`reyna server start --port ${port} --edge-port ${edgePort}  (PGlite in ${relative(root, dataDir)})`);
const server = spawn(
  process.execPath,
  [bin, 'server', 'start', '--port', String(port), '--edge-port', String(edgePort), '--data-dir', dataDir, '--json'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, REYNA_LOG_LEVEL: 'warn' },
    // Its own process group: Ctrl-C reaches this script only, which stops the server with one SIGTERM (a terminal's
    // SIGINT as well would be a second signal, which makes the server quit at once instead of cleanly).
    detached: true,
  },
);
const stopServer = () => {
  if (server.exitCode === null) server.kill('SIGTERM');
};
process.on('exit', stopServer);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    process.stdout.write('\nStopping the studio server…\n');
    stopServer();
    server.once('exit', () => process.exit(0));
  });
}
const info = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (chunk) => {
    out += chunk;
    if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
  });
  server.once('exit', (code) => reject(new Error(`the studio server exited (${code}) before it was ready`)));
});
process.stdout.write(`  studio server ${info.url}, local edge ${info.edgeUrl}, ready in ${info.readyMs} ms\n`);
const env = { REYNA_SERVER: info.url, REYNA_TOKEN: info.ownerToken };

step('POST /v1/apps {"name":"example-app"}  (as the owner, with the token the first start printed)');
const created = await fetch(`${info.url}/v1/apps`, {
  method: 'POST',
  headers: { authorization: `Bearer ${info.ownerToken}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'example-app' }),
});
if (created.status !== 201) throw new Error(`creating the app answered ${created.status}: ${await created.text()}`);
const { id: appId } = await created.json();
process.stdout.write(`  APP_ID ${appId}\n`);

step('reyna init example-app --template react');
reyna(['init', app, '--template', 'react', '--no-install', '--yes']);

step('reyna build');
reyna(['build'], { cwd: app });

step(`reyna deploy --target local --app ${appId}`);
const deployed = JSON.parse(
  execFileSync(process.execPath, [bin, 'deploy', '--target', 'local', '--app', appId, '--json'], {
    cwd: app,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  }),
).result;
process.stdout.write(
  `  uploaded ${deployed.uploaded.files} files (${deployed.uploaded.bytes} bytes) in ${deployed.durationMs} ms\n`,
);

// Check the deployed page as a browser would ask for it (Host: example-app.localhost), through loopback.
const url = new URL(deployed.url);
const page = await new Promise((resolve, reject) => {
  const req = request({ host: '127.0.0.1', port: url.port, path: '/', headers: { host: url.host } }, (res) => {
    let text = '';
    res.on('data', (c) => (text += c));
    res.on('end', () => resolve({ status: res.statusCode, text }));
  });
  req.on('error', reject);
  req.end();
});
const injected = page.text.includes(`{"APP_ID":"${appId}"}`);

process.stdout.write(`
Done:
  app      ${relative(root, app)}  (made from the built-in react template by the reyna binary)
  server   ${info.url}  (PGlite in ${relative(root, dataDir)}; owner token in REYNA_TOKEN below)
  page     HTTP ${page.status}, ${injected ? 'carries' : 'does NOT carry'} window.ENV.APP_ID = "${appId}"

  Open ${deployed.url}
  (also ${deployed.url}api/hello; *.localhost resolves to this machine in browsers)

  Try:  cd ${relative(process.cwd(), app) || '.'} && REYNA_SERVER=${info.url} REYNA_TOKEN=${info.ownerToken} \\
        npx reyna deployments list --app ${appId}

Serving until Ctrl-C.
`);
if (page.status !== 200 || !injected) process.exitCode = 1;
