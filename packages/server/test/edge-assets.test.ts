// The local edge's static-file rules against real files: html_handling auto-trailing-slash, not_found_handling
// (single-page-application / none), run_worker_first, and the headers Cloudflare's asset worker sends.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppAssets, type AssetRequest } from '../src/edge/_assets.js';
import type { EdgeVersionSpec } from '../src/edge/_versions.js';

const root = mkdtempSync(join(tmpdir(), 'reyna-assets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const FILES: Record<string, string> = {
  '/index.html': '<!doctype html><p>home</p>',
  '/about.html': '<p>about</p>',
  '/docs/index.html': '<p>docs</p>',
  '/app.js': 'console.log(1)',
  '/a b.txt': 'spaced\n',
  '/api/public/terms.txt': 'terms\n',
};

let n = 0;
function assets(options: Partial<EdgeVersionSpec> = {}): AppAssets {
  const dir = join(root, String(n++));
  const files: EdgeVersionSpec['files'] = {};
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(dir, 'assets', path)), { recursive: true });
    writeFileSync(join(dir, 'assets', path), text);
    files[path] = { sha256: createHash('sha256').update(text).digest('hex'), size: Buffer.byteLength(text) };
  }
  return new AppAssets(dir, {
    files,
    modules: {},
    mainModule: 'index.js',
    spa: true,
    runWorkerFirst: ['/api/*'],
    compatibilityDate: '2026-04-01',
    compatibilityFlags: [],
    ...options,
  });
}

const req = (path: string, headers: Record<string, string> = {}, method = 'GET'): AssetRequest => ({
  method,
  url: `http://shop.localhost:8788${path}`,
  headers: new Headers(headers),
});
const navigate = { 'sec-fetch-mode': 'navigate' };

describe('edge static files (Cloudflare assets semantics)', () => {
  it('auto-trailing-slash: serves /x from x.html and /d/ from d/index.html, redirects the other spellings', async () => {
    const a = assets();
    const home = a.fetch(req('/'));
    expect(home.status).toBe(200);
    expect(await home.text()).toBe(FILES['/index.html']);
    expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(home.headers.get('cache-control')).toBe('public, max-age=0, must-revalidate');
    expect(await a.fetch(req('/about')).text()).toBe(FILES['/about.html']);
    expect(await a.fetch(req('/docs/')).text()).toBe(FILES['/docs/index.html']);
    for (const [from, to] of [
      ['/index.html', '/'],
      ['/about.html', '/about'],
      ['/docs', '/docs/'],
      ['/docs/index.html', '/docs/'],
      ['/about.html?x=1', '/about?x=1'],
    ]) {
      const answer = a.fetch(req(from as string));
      expect([from, answer.status, answer.headers.get('location')]).toEqual([from, 307, to]);
    }
    expect(await a.fetch(req('/a%20b.txt')).text()).toBe('spaced\n');
    expect(a.fetch(req('/a%20b.txt')).headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('run_worker_first sends /api/* to the Worker, even a navigation, and a ! pattern back to the files', () => {
    const a = assets({ runWorkerFirst: ['/api/*', '!/api/public/*'] });
    expect(a.route(req('/api/x', navigate))).toBe('worker');
    expect(a.route(req('/api/x'))).toBe('worker');
    expect(a.route(req('/api/public/terms.txt'))).toBe('assets');
    expect(a.route(req('/app.js'))).toBe('assets');
  });

  it('single-page-application: unknown paths get index.html (every request under static routing)', async () => {
    const a = assets();
    expect(a.route(req('/orders/42', navigate))).toBe('assets');
    // With run_worker_first patterns Cloudflare applies not_found_handling to every request before the Worker.
    expect(a.route(req('/orders/42'))).toBe('assets');
    expect(await a.fetch(req('/orders/42', navigate)).text()).toBe(FILES['/index.html']);

    // Without patterns: a navigation gets index.html, a fetch() of an unknown path goes to the Worker, whose
    // env.ASSETS.fetch still gets index.html.
    const plain = assets({ runWorkerFirst: [] });
    expect(plain.route(req('/orders/42', navigate))).toBe('assets');
    expect(plain.route(req('/orders/42'))).toBe('worker');
    expect(plain.route(req('/app.js'))).toBe('assets');
    expect(await plain.fetch(req('/orders/42')).text()).toBe(FILES['/index.html']);
    // Before 2025-04-01 (or with the flag that turns it off) a navigation is no different.
    expect(assets({ runWorkerFirst: [], compatibilityDate: '2025-01-01' }).route(req('/x', navigate))).toBe('worker');
    const off = assets({ runWorkerFirst: [], compatibilityFlags: ['assets_navigation_has_no_effect'] });
    expect(off.route(req('/x', navigate))).toBe('worker');
  });

  it('not_found_handling none: unknown paths go to the Worker, and ASSETS answers 404', async () => {
    const a = assets({ spa: false });
    expect(a.route(req('/orders/42', navigate))).toBe('worker');
    const missing = a.fetch(req('/orders/42'));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('');
  });

  it('ETag and If-None-Match, HEAD, 405 for other methods', async () => {
    const a = assets();
    const first = a.fetch(req('/app.js'));
    const etag = first.headers.get('etag') as string;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.headers.get('content-length')).toBe(String(FILES['/app.js']?.length));
    await first.body?.cancel();
    expect(a.fetch(req('/app.js', { 'if-none-match': etag })).status).toBe(304);
    expect(a.fetch(req('/app.js', { 'if-none-match': `W/${etag}` })).status).toBe(304);
    expect(a.fetch(req('/app.js', { 'if-none-match': '"other"' })).status).toBe(200);
    expect(a.fetch(req('/app.js', { authorization: 'Bearer x' })).headers.get('cache-control')).toBeNull();
    const head = a.fetch(req('/app.js', {}, 'HEAD'));
    expect(head.body).toBeNull();
    expect(head.headers.get('content-length')).toBe(String(FILES['/app.js']?.length));
    // A POST to a path the files answer is refused there, as on Cloudflare; to /api/* it is the Worker's.
    expect(a.route(req('/', {}, 'POST'))).toBe('assets');
    expect(a.fetch(req('/', {}, 'POST')).status).toBe(405);
    expect(a.route(req('/api/orders', {}, 'POST'))).toBe('worker');
  });
});
