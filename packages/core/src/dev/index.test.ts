import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../context.js';
import { ReynaError } from '../errors.js';
import { capnpString, startWorkerd } from './_workerd.js';
import { type DevServer, startDev } from './index.js';

// Under the repository, so that the app resolves Vite and esbuild from its node_modules.
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const tmp = join(repo, '.tmp');
mkdirSync(tmp, { recursive: true });

function app(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmp, 'core-dev-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/api/echo') {
      const headers = new Headers({ 'x-method': request.method });
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/');
      return new Response(request.body, { status: 201, statusText: 'Made', headers });
    }
    if (url.pathname === '/api/throw') throw new Error('thrown while answering');
    if (url.pathname === '/api/assets') {
      const page = await env.ASSETS.fetch('http://assets.invalid/');
      return new Response(page.status + ' ' + (await page.text()));
    }
    return Response.json({
      url: request.url,
      country: request.cf?.country,
      ip: request.headers.get('cf-connecting-ip'),
      own: [...request.headers.keys()].filter((name) => name.startsWith('x-reyna')),
    });
  },
};
`;

const logs: string[] = [];
const logger: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), debug() {} };

/** The workerd processes this test process started and that still run. */
function workerds(): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, ppid, command]) => Number(ppid) === process.pid && command?.includes('workerd'))
    .map(([pid]) => Number(pid));
}

/** A raw HTTP request, so that a test sees headers exactly as they come (fetch merges some). */
function raw(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, text }),
      );
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('startDev', () => {
  let dir = '';
  let dev: DevServer;
  beforeAll(async () => {
    dir = app({
      'reyna.json': JSON.stringify({ name: 'core-dev' }),
      'index.html': '<!doctype html><html><head></head><body><p>the page</p></body></html>\n',
      'worker/index.ts': WORKER,
    });
    dev = await startDev({ cwd: dir, env: process.env, logger }, { port: 0 });
  });
  afterAll(async () => {
    await dev?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes a request to the Worker as it came and its answer back as it went, without dev's own headers", async () => {
    const body = 'x'.repeat(200_000);
    const echo = await raw(new URL('/api/echo', dev.url).href, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-reyna-worker': '999', 'x-reyna-probe': '1' },
      body,
    });
    expect(echo.status).toBe(201);
    expect(echo.statusText).toBe('Made');
    expect(echo.headers['x-method']).toBe('POST');
    expect(echo.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(echo.text).toBe(body);

    const seen = JSON.parse(
      (await raw(new URL('/api/who?q=1', dev.url).href, { headers: { 'x-reyna-code': '1' } })).text,
    );
    expect(seen).toEqual({ url: `${dev.url}api/who?q=1`, country: 'US', ip: '127.0.0.1', own: [] });
  });

  it('answers an exception the Worker throws with a 500 and its stack, and shows it', async () => {
    const thrown = await raw(new URL('/api/throw', dev.url).href);
    expect(thrown.status).toBe(500);
    expect(thrown.text).toContain('Error: thrown while answering');
    expect(thrown.text).not.toContain('__reyna_dev_host');
    expect(logs.join('\n')).toContain('thrown while answering');
  });

  it('serves ASSETS from Vite whatever host the Worker names', async () => {
    const assets = await raw(new URL('/api/assets', dev.url).href);
    expect(assets.text).toMatch(/^200 .*<p>the page<\/p>/s);
    expect(assets.text).toContain('window.ENV = {"APP_ID":"dev-core-dev"}');
  });

  it('leaves no workerd behind once closed', async () => {
    const before = workerds();
    const other = await startDev({ cwd: dir, env: process.env, logger }, { port: 0 });
    const its = workerds().filter((pid) => !before.includes(pid));
    expect(its).toHaveLength(1);
    await other.close();
    expect(workerds()).toEqual(before);
  });
});

describe('startDev when workerd refuses to start', () => {
  it('fails with workerd’s reason and leaves nothing running', async () => {
    const dir = app({
      'reyna.json': JSON.stringify({ name: 'refused', deploy: { compatibilityDate: '2999-01-01' } }),
      'index.html': '<!doctype html><p>x</p>\n',
      'worker/index.ts': WORKER,
    });
    try {
      const error = await startDev({ cwd: dir, env: process.env, logger }, { port: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReynaError);
      expect((error as ReynaError).code).toBe('E_WORKERD_FAILED');
      expect((error as ReynaError).message).toMatch(/compatibility date/i);
      expect(workerds()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('workerd config', () => {
  it('carries any APP_ID through as it is', async () => {
    const appId = 'quote " back \\ newline \n tab \t bell \u0007 é 🦀 \\x41';
    const runtime = await startWorkerd(
      {
        hostModule: 'export default { fetch(request, env) { return new Response(env.APP_ID); } };',
        compatibilityDate: '2026-04-01',
        appId,
        callbacks: '127.0.0.1:9',
      },
      { env: process.env, onStdio() {} },
    );
    try {
      const answer = await raw(`http://127.0.0.1:${runtime.port}/`);
      expect(answer.text).toBe(appId);
    } finally {
      await runtime.dispose();
    }
    expect(capnpString('a"b\\c\n')).toBe('"a\\"b\\\\c\\n"');
  });
});
