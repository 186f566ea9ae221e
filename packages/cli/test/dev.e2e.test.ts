import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, bin, cleanEnv, repoRoot, reyna, tempDir } from './_reyna.js';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium, need } from './_services.js';

const browserOk = need('Chromium', hasChromium(), 'apt-get install -y chromium');

/** Every process below pid, found through /proc, so the test can tell that none outlives Ctrl-C. */
function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const all: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      all.push(c);
      walk(c);
    }
  };
  walk(pid);
  return all;
}

/** The workerd processes among pids: one per running Worker runtime. */
const workerdsIn = (pids: number[]) =>
  pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('workerd');
    } catch {
      return false;
    }
  });

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

interface Ready {
  url: string;
  networkUrls: string[];
  appId: string;
  readyMs: number;
}

/** `reyna dev --port 0 --json …` in app, and its ready document. */
function spawnDev(app: string, home: string, args: string[] = []): { child: ChildProcess; ready: Promise<Ready> } {
  const child = spawn(process.execPath, [bin, 'dev', '--port', '0', '--json', ...args], {
    cwd: app,
    env: cleanEnv(home),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  const ready = until(
    'the ready document',
    async () => (stdout.includes('\n') ? (JSON.parse(stdout) as Ready) : undefined),
    20_000,
  );
  return { child, ready };
}

/** Ctrl-C, and its end. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGINT');
  await exited;
}

/** Whether a TCP socket listens on port at the IPv6 any-address (which takes IPv4 too), from /proc/net/tcp6. */
function listensEverywhere(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp6', 'utf8')
    .split('\n')
    .some((line) => line.trim().split(/\s+/)[1] === `00000000000000000000000000000000:${hex}` && / 0A /.test(line));
}

describe('reyna dev --host', () => {
  const home = tempDir('dev-host-', join(repoRoot, '.tmp'));
  const app = join(home, 'host-app');
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  beforeAll(async () => {
    const init = await reyna(['init', 'host-app', '--template', 'vanilla', '--no-install', '--no-git'], {
      cwd: home,
      home,
    });
    expect(init.code, init.stderr).toBe(0);
  });

  it('bare, listens on every interface (IPv4 and IPv6) and lists the network URLs', async () => {
    const { child, ready } = spawnDev(app, home, ['--host']);
    try {
      const { url, networkUrls } = await ready;
      const port = Number(new URL(url).port);
      expect(url).toBe(`http://localhost:${port}/`);
      expect(listensEverywhere(port)).toBe(true);
      expect(Array.isArray(networkUrls)).toBe(true);
      for (const loop of ['127.0.0.1', '[::1]']) {
        expect((await fetch(`http://${loop}:${port}/`)).status).toBe(200);
        expect((await fetch(`http://${loop}:${port}/api/hello`)).status).toBe(200);
      }
    } finally {
      await stop(child);
    }
  }, 30_000);

  it('with a value, listens there only', async () => {
    const { child, ready } = spawnDev(app, home, ['--host', '::1']);
    try {
      const { url, networkUrls } = await ready;
      const port = Number(new URL(url).port);
      expect(url).toBe(`http://[::1]:${port}/`);
      expect(networkUrls).toEqual([]);
      expect((await fetch(`http://[::1]:${port}/api/hello`)).status).toBe(200);
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    } finally {
      await stop(child);
    }
  }, 30_000);
});

describe('reyna dev with a Worker that throws as it first starts', () => {
  it('starts anyway, answers /api with the reason, and serves the Worker once it is fixed', async () => {
    const home = tempDir('dev-broken-', join(repoRoot, '.tmp'));
    const init = await reyna(['init', 'broken', '--template', 'vanilla', '--no-install', '--no-git'], {
      cwd: home,
      home,
    });
    expect(init.code, init.stderr).toBe(0);
    const app = join(home, 'broken');
    const worker = join(app, 'worker/index.ts');
    const source = readFileSync(worker, 'utf8');
    writeFileSync(worker, `throw new Error('broken from the start');\n${source}`);
    const { child, ready } = spawnDev(app, home);
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    try {
      const { url } = await ready;
      // Written before the ready document, but on another pipe: it may come after it.
      await until('the start error', async () =>
        /Worker: failed to start: .*broken from the start/.test(stderr) ? true : undefined,
      );
      const api = await fetch(new URL('/api/hello', url));
      expect(api.status).toBe(500);
      expect(await api.text()).toContain('broken from the start');
      expect((await fetch(url)).status).toBe(200);
      writeFileSync(worker, source);
      await until('the fixed Worker', async () =>
        (await fetch(new URL('/api/hello', url))).status === 200 ? true : undefined,
      );
    } finally {
      await stop(child);
      rmSync(home, { recursive: true, force: true });
    }
  }, 30_000);
});

describe.runIf(browserOk)('reyna dev on the react template', () => {
  const home = tempDir('dev-', join(repoRoot, '.tmp'));
  const app = join(home, 'dev-app');
  let child: ChildProcess;
  let url = '';
  let stderr = '';

  beforeAll(async () => {
    const init = await reyna(['init', 'dev-app', '--template', 'react', '--no-install', '--no-git'], {
      cwd: home,
      home,
    });
    expect(init.code, init.stderr).toBe(0);
    const dev = spawnDev(app, home);
    child = dev.child;
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    const ready = await dev.ready;
    url = ready.url;
    expect(ready.readyMs).toBeGreaterThan(0);
  }, 30_000);

  afterAll(async () => {
    if (child) await stop(child);
    rmSync(home, { recursive: true, force: true });
  });

  const hello = async () => (await (await fetch(new URL('/api/hello', url))).json()) as { message: string };
  /** Headless Chromium on the dev page. */
  async function inBrowser(use: (page: Page) => Promise<void>): Promise<void> {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await use(page);
    } finally {
      await browser.close();
    }
  }
  const overlayGone = (page: Page) =>
    until('the overlay to go', async () =>
      (await page.locator('vite-error-overlay').count()) === 0 ? true : undefined,
    );

  it("runs the Worker with production's bindings only, sees none of dev's own headers, and swaps it without restarting workerd", async () => {
    const worker = join(app, 'worker/index.ts');
    const source = readFileSync(worker, 'utf8');
    const workerds = workerdsIn(descendants(child.pid as number));
    try {
      writeFileSync(
        worker,
        source.replace(
          "return Response.json({ message: 'Hello from the Worker', appId: env.APP_ID, path });",
          'return Response.json({ message: Object.keys(env).sort().join(","), appId: env.APP_ID, path, headers: [...request.headers.keys()] });',
        ),
      );
      const seen = await until('the env-listing Worker', async () => {
        const body = (await (
          await fetch(new URL('/api/hello', url), { headers: { 'x-reyna-probe': '1' } })
        ).json()) as {
          message: string;
          headers?: string[];
        };
        return body.headers ? body : undefined;
      });
      expect(seen.message).toBe('APP_ID,ASSETS');
      expect(seen.headers?.filter((h) => h.startsWith('x-reyna'))).toEqual([]);
      // The same workerd process serves the new version.
      expect(workerdsIn(descendants(child.pid as number))).toEqual(workerds);
    } finally {
      writeFileSync(worker, source);
      await until('the original Worker', async () =>
        (await hello()).message === 'Hello from the Worker' ? true : undefined,
      );
    }
  });

  it('serves the page with APP_ID injected and the Worker on /api', async () => {
    const page = await (await fetch(url)).text();
    expect(page).toContain('<script>window.ENV = {"APP_ID":"dev-dev-app"}</script>');
    const api = await (await fetch(new URL('/api/hello', url))).json();
    expect(api).toMatchObject({ appId: 'dev-dev-app', path: '/api/hello' });
    const deep = await fetch(new URL('/some/deep/route', url));
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="root">');
  });

  it('hot-reloads a component without losing page state, swaps the Worker, and survives a syntax error', async () => {
    await inBrowser(async (page) => {
      expect(await page.evaluate(() => (window as { ENV?: { APP_ID: string } }).ENV?.APP_ID)).toBe('dev-dev-app');
      await page.getByRole('button', { name: 'Call /api/hello' }).click();
      await page.getByText('"appId": "dev-dev-app"').waitFor();
      await page.evaluate(() => {
        (window as { marker?: number }).marker = 42;
      });

      const component = join(app, 'src/app.tsx');
      writeFileSync(component, readFileSync(component, 'utf8').replace('Call /api/hello', 'Ask the Worker'));
      await page.getByRole('button', { name: 'Ask the Worker' }).waitFor({ timeout: 10_000 });
      // No reload: the window kept its marker and React kept the answer in state.
      expect(await page.evaluate(() => (window as { marker?: number }).marker)).toBe(42);
      expect(await page.getByText('"appId": "dev-dev-app"').count()).toBe(1);

      const worker = join(app, 'worker/index.ts');
      const source = readFileSync(worker, 'utf8');
      // Requests keep flowing while the Worker is swapped: every one must be answered.
      let flowing = true;
      const statuses: number[] = [];
      const traffic = (async () => {
        while (flowing) statuses.push((await fetch(new URL('/api/hello', url))).status);
      })();
      writeFileSync(worker, source.replace('Hello from the Worker', 'Hello again'));
      await until('the new Worker', async () => ((await hello()).message === 'Hello again' ? true : undefined));
      flowing = false;
      await traffic;
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);

      writeFileSync(
        worker,
        source.replace('Hello from the Worker', 'Hello again').replace('export default {', 'export default {{'),
      );
      await until('the compile error', async () =>
        /Worker: .*worker\/index\.ts:\d+:\d+/.test(stderr) ? true : undefined,
      );
      expect((await hello()).message).toBe('Hello again');
      expect(child.exitCode).toBeNull();
      await page.locator('vite-error-overlay').waitFor({ state: 'attached', timeout: 5_000 });

      writeFileSync(worker, source.replace('Hello from the Worker', 'Fixed'));
      await until('the fixed Worker', async () => ((await hello()).message === 'Fixed' ? true : undefined));
      await overlayGone(page);
    });
  }, 60_000);

  it('survives a Worker that throws as it starts: the error shows, the last good one serves, a good save recovers', async () => {
    await inBrowser(async (page) => {
      const worker = join(app, 'worker/index.ts');
      const source = readFileSync(worker, 'utf8');
      const good = (await hello()).message;
      const errors = stderr.length;
      writeFileSync(worker, `throw new Error('boom at startup');\n${source}`);
      await until('the start error', async () =>
        /Worker: failed to start: .*boom at startup/.test(stderr.slice(errors)) ? true : undefined,
      );
      await page.locator('vite-error-overlay').waitFor({ state: 'attached', timeout: 5_000 });
      // The overlay's text is in its shadow root, which getByText reaches.
      await page.getByText(/failed to start: .*boom at startup/).waitFor({ timeout: 5_000 });
      expect(child.exitCode).toBeNull();
      // The last good Worker answers, and a second bad save changes nothing.
      expect((await hello()).message).toBe(good);
      writeFileSync(worker, `throw new Error('boom again');\n${source}`);
      await until('the second start error', async () => (/boom again/.test(stderr.slice(errors)) ? true : undefined));
      expect((await hello()).message).toBe(good);

      writeFileSync(worker, source.replace(/Hello from the Worker|Fixed/, 'Recovered'));
      await until('the recovered Worker', async () => ((await hello()).message === 'Recovered' ? true : undefined));
      await overlayGone(page);
    });
  }, 60_000);

  it('restarts itself when reyna.json changes', async () => {
    const config = join(app, 'reyna.json');
    writeFileSync(
      config,
      JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), appId: 'app_linked' }, null, 2),
    );
    await until('the new APP_ID', async () =>
      (await (await fetch(url)).text()).includes('"APP_ID":"app_linked"') ? true : undefined,
    );
    const api = await (await fetch(new URL('/api/hello', url))).json();
    expect(api.appId).toBe('app_linked');
  }, 20_000);

  it('a reyna.json saved during a restart is not lost', async () => {
    const config = join(app, 'reyna.json');
    const base = JSON.parse(readFileSync(config, 'utf8'));
    // The second save lands while the first restart is still opening Vite and workerd.
    writeFileSync(config, JSON.stringify({ ...base, appId: 'app_first' }, null, 2));
    await new Promise((resolve) => setTimeout(resolve, 150));
    writeFileSync(config, JSON.stringify({ ...base, appId: 'app_second' }, null, 2));
    // Two restarts back to back: slow on a loaded machine.
    await until(
      'the second APP_ID',
      async () => ((await (await fetch(url)).text()).includes('"APP_ID":"app_second"') ? true : undefined),
      20_000,
    );
    expect(((await (await fetch(new URL('/api/hello', url))).json()) as { appId: string }).appId).toBe('app_second');
    // One workerd serves: the process tree holds no second one.
    expect(workerdsIn(descendants(child.pid as number))).toHaveLength(1);
  }, 30_000);

  it('an invalid reyna.json stops the restart with its error, and fixing it starts dev again', async () => {
    const config = join(app, 'reyna.json');
    const base = readFileSync(config, 'utf8');
    const seen = stderr.length;
    writeFileSync(config, '{"name": 5}\n');
    await until('the restart error', async () =>
      /Restart failed: .*reyna\.json is invalid/.test(stderr.slice(seen)) ? true : undefined,
    );
    expect((await fetch(url)).status).toBe(503);
    writeFileSync(config, JSON.stringify({ ...JSON.parse(base), appId: 'app_fixed' }, null, 2));
    await until('dev again', async () =>
      (await (await fetch(url)).text()).includes('"APP_ID":"app_fixed"') ? true : undefined,
    );
  }, 30_000);

  it('on a terminal, `r` pressed during a restart restarts once more and leaves no second server behind', async () => {
    // `script` gives reyna dev a terminal, so its shortcuts are live.
    const tty = spawn('script', ['-qfec', `${process.execPath} ${bin} dev --port 0`, '/dev/null'], {
      cwd: app,
      env: { ...cleanEnv(home), TERM: 'dumb' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    tty.stdout?.on('data', (chunk) => (out += chunk));
    try {
      await until('dev on a terminal', async () => (out.includes('press h for shortcuts') ? true : undefined), 20_000);
      const restarted = () => (out.match(/Restarted in/g) ?? []).length;
      tty.stdin?.write('r');
      await until('the first restart to begin', async () => (out.includes('Restarting') ? true : undefined));
      tty.stdin?.write('r');
      await until('both restarts', async () => (restarted() >= 2 ? true : undefined), 20_000);
      const dev = descendants(tty.pid as number);
      expect(workerdsIn(dev)).toHaveLength(1);
      tty.stdin?.write('q');
      await until('dev to quit', async () => (tty.exitCode !== null ? true : undefined));
      await until('its children to exit', async () => (dev.every((p) => !alive(p)) ? true : undefined), 5_000);
    } finally {
      if (tty.exitCode === null) tty.kill('SIGKILL');
    }
  }, 60_000);

  it('leaves no process behind on Ctrl-C', async () => {
    const pid = child.pid as number;
    const below = descendants(pid);
    expect(below.length).toBeGreaterThan(0);
    child.kill('SIGINT');
    await until('dev to exit', async () => (child.exitCode !== null ? true : undefined));
    await until('its children to exit', async () => (below.every((p) => !alive(p)) ? true : undefined), 5_000);
  }, 20_000);
});
