// The built `reyna` binary end to end against the real studio server and its local edge (workerd): server start
// → init (react) → build → deploy --target local → the page, its API and a deep SPA path, then headless Chromium.
// Then: two apps from one build, a one-asset redeploy with requests in flight, list, rollback, restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeGet, NAVIGATE, settleWorkerd } from '../../server/test/_edge.js';
import { bin, cleanEnv, repoRoot, reyna, tempDir } from './_reyna.js';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium, need } from './_services.js';

const built = need(
  'the built reyna CLI',
  existsSync(join(bin, '../../dist/commands/deploy.js')),
  'run `npm run build`',
);
const chromium = need('Chromium', hasChromium(), 'apt-get install chromium');
const home = tempDir('reyna-local-home-');
const dataDir = join(home, 'studio');
// Inside the repository, so the app resolves the workspace's installed dependencies.
const scratch = tempDir('deploy-local-', join(repoRoot, '.tmp'));
const children: ChildProcess[] = [];

interface Info {
  url: string;
  edgeUrl: string;
  edgePort: number;
  ownerToken?: string;
}

function startServer(): Promise<{ child: ChildProcess; info: Info }> {
  const child = spawn(
    process.execPath,
    [bin, 'server', 'start', '--port', '0', '--edge-port', '0', '--data-dir', dataDir, '--json'],
    { env: cleanEnv(home, { REYNA_LOG_LEVEL: 'warn' }), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout?.on('data', (d) => {
      stdout += d;
      if (!stdout.includes('\n')) return;
      clearTimeout(timer);
      resolve({ child, info: JSON.parse(stdout.split('\n')[0] as string) });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

let server: { child: ChildProcess; info: Info };
let token: string;

beforeAll(async () => {
  if (!built) return;
  server = await startServer();
  token = server.info.ownerToken as string;
}, 60_000);
afterAll(async () => {
  // SIGTERM, so a server stops its workerd too; SIGKILL only for one that does not end in time.
  await Promise.all(
    children.map(async (c) => {
      const stopping = stop(c);
      const late = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await stopping;
      clearTimeout(late);
    }),
  );
  rmSync(scratch, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}, 30_000);

async function createApp(name: string): Promise<string> {
  const res = await fetch(`${server.info.url}/v1/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const env = () => ({ REYNA_SERVER: server.info.url, REYNA_TOKEN: token });

describe.runIf(built)('reyna deploy --target local (the real binary, server and edge)', () => {
  it('init → build → deploy: page, /api, deep path and Chromium see the APP_ID; two apps; one-asset redeploy under load; rollback; restart', async () => {
    expect(server.info.edgeUrl).toBe(`http://localhost:${server.info.edgePort}`);
    const made = await reyna(['init', 'shop', '--template', 'react', '--no-install', '--no-git'], {
      cwd: scratch,
      home,
    });
    expect(made.code, made.stderr).toBe(0);
    const app = join(scratch, 'shop');
    mkdirSync(join(app, 'public'), { recursive: true });
    writeFileSync(join(app, 'public/notes.txt'), 'first\n');
    const b1 = await reyna(['build'], { cwd: app, home });
    expect(b1.code, b1.stderr).toBe(0);

    const shop = await createApp('shop');
    const dry = await reyna(['deploy', '--target', 'local', '--app', shop, '--dry-run', '--json'], {
      cwd: app,
      home,
      env: env(),
    });
    expect(dry.code, dry.stderr).toBe(0);
    const { plan } = JSON.parse(dry.stdout);
    expect(plan).toMatchObject({ target: 'local', appId: shop, upload: { files: plan.files.length + 1 } });
    expect(plan.bindings).toContainEqual({ type: 'plain_text', name: 'APP_ID', text: shop });

    const first = await reyna(['deploy', '--target', 'local', '--app', shop, '--json'], { cwd: app, home, env: env() });
    expect(first.code, first.stderr).toBe(0);
    const r1 = JSON.parse(first.stdout).result;
    const port = server.info.edgePort;
    expect(r1.url).toBe(`http://shop.localhost:${port}/`);

    const page = await edgeGet(port, 'shop.localhost');
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<script>window.ENV = {"APP_ID":"${shop}"}</script>`);
    const hello = JSON.parse((await edgeGet(port, 'shop.localhost', '/api/hello')).text);
    expect(hello.appId).toBe(shop);
    const deep = await edgeGet(port, 'shop.localhost', '/orders/42/details');
    expect(deep.status).toBe(200);
    expect(deep.text).toBe(page.text);
    expect((await edgeGet(port, `${shop}.localhost`, '/notes.txt')).text).toBe('first\n');

    if (chromium) {
      const { chromium: pw } = await import('playwright-core');
      const browser = await pw.launch({
        executablePath: CHROMIUM,
        args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP *.localhost 127.0.0.1'],
      });
      try {
        const tab = await browser.newPage();
        await tab.goto(r1.url);
        expect(await tab.evaluate(() => (window as unknown as { ENV: { APP_ID: string } }).ENV.APP_ID)).toBe(shop);
      } finally {
        await browser.close();
      }
    }

    // The same build as a second app: its own id in the page and from the Worker.
    const staging = await createApp('shop-staging');
    const second = await reyna(['deploy', '--target', 'local', '--app', staging, '--json'], {
      cwd: app,
      home,
      env: env(),
    });
    expect(second.code, second.stderr).toBe(0);
    const r2 = JSON.parse(second.stdout).result;
    expect(r2.url).toBe(`http://shop-staging.localhost:${port}/`);
    // Only the HTML differs between the two apps.
    expect(r2.uploaded.files).toBe(1);
    expect((await edgeGet(port, 'shop-staging.localhost')).text).toContain(`{"APP_ID":"${staging}"}`);
    expect(JSON.parse((await edgeGet(port, 'shop-staging.localhost', '/api/hello')).text).appId).toBe(staging);
    expect(JSON.parse((await edgeGet(port, 'shop.localhost', '/api/hello')).text).appId).toBe(shop);
    // Both apps in one workerd process of the server; a browser's navigation to /api/* is the Worker's.
    expect(await settleWorkerd(server.child.pid as number, 1)).toHaveLength(1);
    const nav = await edgeGet(port, 'shop-staging.localhost', '/api/hello', NAVIGATE);
    expect(JSON.parse(nav.text).appId).toBe(staging);

    // One asset changes: exactly one file goes up, and requests during the swap all succeed.
    writeFileSync(join(app, 'public/notes.txt'), 'second\n');
    expect((await reyna(['build'], { cwd: app, home })).code).toBe(0);
    let loading = true;
    const seen: { status: number; text: string }[] = [];
    const load = (async () => {
      while (loading) seen.push(await edgeGet(port, 'shop.localhost', '/notes.txt'));
    })();
    const third = await reyna(['deploy', '--target', 'local', '--app', shop, '--json', '-m', 'new notes'], {
      cwd: app,
      home,
      env: env(),
    });
    await new Promise((r) => setTimeout(r, 200));
    loading = false;
    await load;
    expect(third.code, third.stderr).toBe(0);
    const r3 = JSON.parse(third.stdout).result;
    expect(r3.uploaded.files).toBe(1);
    expect(r3.uploaded.bytes).toBe('second\n'.length);
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.filter((s) => s.status !== 200)).toEqual([]);
    expect(new Set(seen.map((s) => s.text))).toEqual(new Set(['first\n', 'second\n']));
    expect(seen.at(-1)?.text).toBe('second\n');

    const list = await reyna(['deployments', 'list', '--target', 'local', '--app', shop, '--json'], {
      cwd: app,
      home,
      env: env(),
    });
    expect(list.code, list.stderr).toBe(0);
    const { deployments } = JSON.parse(list.stdout);
    expect(deployments).toHaveLength(2);
    expect(deployments[0]).toMatchObject({ active: true, message: 'new notes', id: r3.deploymentId });
    expect(deployments[1].versions[0].versionId).toBe(r1.versionId);

    const back = await reyna(['rollback', '--target', 'local', '--app', shop, '--json'], {
      cwd: app,
      home,
      env: env(),
    });
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout).deployment.versions[0].versionId).toBe(r1.versionId);
    expect((await edgeGet(port, 'shop.localhost', '/notes.txt')).text).toBe('first\n');
    expect((await edgeGet(port, 'shop.localhost')).text).toBe(page.text);

    // A restart serves what served before it (the rollback), on the same port.
    await stop(server.child);
    const before = server.info;
    server = await startServer();
    expect(server.info.ownerToken).toBeUndefined();
    const after = server.info.edgePort;
    expect((await edgeGet(after, 'shop.localhost', '/notes.txt')).text).toBe('first\n');
    expect(JSON.parse((await edgeGet(after, 'shop-staging.localhost', '/api/hello')).text).appId).toBe(staging);
    expect(before.edgePort).toBeGreaterThan(0);
  }, 240_000);
});
