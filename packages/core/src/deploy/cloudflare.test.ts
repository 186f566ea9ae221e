import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeContext } from '../context.js';
import { isReynaError } from '../errors.js';
import { retryAfterMs } from './_cf-api.js';
import { cloudflareAssetHash } from './_cf-hash.js';
import { scriptUploadForm, type WorkerMetadata } from './_cf-script.js';
import { contentTypeOf } from './_content-type.js';
import { planCloudflareDeploy } from './adapters/cloudflare.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('cloudflareAssetHash', () => {
  it('is the first 32 hex chars of BLAKE3 over base64(bytes) + extension', () => {
    // base64("hello") = "aGVsbG8=", so the hashed input is "aGVsbG8=txt"; BLAKE3 of it, computed independently.
    expect(cloudflareAssetHash(bytes('hello'), '/a/b.txt')).toBe('f0b3413d4cabb000327fad369003d6a5');
    expect(cloudflareAssetHash(bytes('hello'), '/a/b.txt')).toHaveLength(32);
  });

  it('depends on the extension but not the rest of the path', () => {
    const html = cloudflareAssetHash(bytes('x'), '/index.html');
    expect(cloudflareAssetHash(bytes('x'), '/deep/other.html')).toBe(html);
    expect(cloudflareAssetHash(bytes('x'), '/index.htm')).not.toBe(html);
    expect(cloudflareAssetHash(bytes('x'), '/noext')).not.toBe(html);
  });

  it('reads a Uint8Array view at its offset', () => {
    const buffer = bytes('__hello__');
    expect(cloudflareAssetHash(buffer.subarray(2, 7), '/a.txt')).toBe(cloudflareAssetHash(bytes('hello'), '/a.txt'));
  });
});

describe('contentTypeOf', () => {
  it('types text with a charset and binary without', () => {
    expect(contentTypeOf('/index.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('/assets/app.JS')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('/logo.svg')).toBe('image/svg+xml');
    expect(contentTypeOf('/blob.bin')).toBe('application/octet-stream');
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('Thu, 01 Jan 2037 00:00:10 GMT', Date.parse('Thu, 01 Jan 2037 00:00:00 GMT'))).toBe(10_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

describe('scriptUploadForm (the wire format, pinned)', () => {
  const metadata: WorkerMetadata = {
    main_module: 'index.js',
    compatibility_date: '2026-04-01',
    compatibility_flags: [],
    bindings: [
      { type: 'plain_text', name: 'APP_ID', text: 'app_1' },
      { type: 'assets', name: 'ASSETS' },
    ],
    assets: {
      jwt: 'JWT',
      config: {
        html_handling: 'auto-trailing-slash',
        not_found_handling: 'single-page-application',
        run_worker_first: ['/api/*'],
      },
    },
    annotations: { 'workers/tag': 'reyna:t' },
  };
  const form = scriptUploadForm(metadata, [
    { name: 'index.js', contentType: 'application/javascript+module', bytes: bytes('export default {};\n') },
    { name: 'lib/a.js', contentType: 'application/javascript+module', bytes: bytes('export const a = 1;\n') },
  ]);

  it('is exactly these bytes', () => {
    const boundary = /boundary=(.+)$/.exec(form.contentType)?.[1] as string;
    expect(form.contentType).toBe(`multipart/form-data; boundary=${boundary}`);
    expect(boundary).toMatch(/^reyna-[0-9a-f]{32}$/);
    const json =
      '{"main_module":"index.js","compatibility_date":"2026-04-01","compatibility_flags":[],' +
      '"bindings":[{"type":"plain_text","name":"APP_ID","text":"app_1"},{"type":"assets","name":"ASSETS"}],' +
      '"assets":{"jwt":"JWT","config":{"html_handling":"auto-trailing-slash",' +
      '"not_found_handling":"single-page-application","run_worker_first":["/api/*"]}},' +
      '"annotations":{"workers/tag":"reyna:t"}}';
    expect(new TextDecoder().decode(form.body)).toBe(
      [
        `--${boundary}`,
        'Content-Disposition: form-data; name="metadata"',
        'Content-Type: application/json',
        '',
        json,
        `--${boundary}`,
        'Content-Disposition: form-data; name="index.js"; filename="index.js"',
        'Content-Type: application/javascript+module',
        '',
        'export default {};\n',
        `--${boundary}`,
        'Content-Disposition: form-data; name="lib/a.js"; filename="lib/a.js"',
        'Content-Type: application/javascript+module',
        '',
        'export const a = 1;\n',
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    );
  });

  it('parses back, as a server reads it, to the metadata and modules', async () => {
    const data = await new Response(form.body, { headers: { 'content-type': form.contentType } }).formData();
    expect(JSON.parse(data.get('metadata') as string)).toEqual(metadata);
    const main = data.get('index.js') as File;
    expect(main.type).toBe('application/javascript+module');
    expect(await main.text()).toBe('export default {};\n');
    expect((data.get('lib/a.js') as File).name).toBe('lib/a.js');
  });

  it('is the same bytes every time (the boundary comes from the content)', () => {
    const again = scriptUploadForm(metadata, [
      { name: 'index.js', contentType: 'application/javascript+module', bytes: bytes('export default {};\n') },
      { name: 'lib/a.js', contentType: 'application/javascript+module', bytes: bytes('export const a = 1;\n') },
    ]);
    expect(again.contentType).toBe(form.contentType);
    expect(Buffer.from(again.body).equals(Buffer.from(form.body))).toBe(true);
  });
});

describe('planCloudflareDeploy', () => {
  let root: string;
  const tree: Record<string, string> = {
    'client/index.html':
      '<!doctype html><html><head><script type="module" src="/assets/app.js"></script></head></html>',
    'client/assets/app.js': 'console.log(1)',
    'client/nested/page.htm': '<p>{{APP_ID}}</p>',
    'worker/index.js': 'import { x } from "./lib.js"; export default { fetch() { return new Response(x); } };',
    'worker/lib.js': 'export const x = "x";',
    'worker/index.js.map': '{}',
  };
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'reyna-cf-plan-'));
    for (const [path, text] of Object.entries(tree)) {
      await mkdir(dirname(join(root, 'dist', path)), { recursive: true });
      await writeFile(join(root, 'dist', path), text);
    }
  });
  afterAll(() => rm(root, { recursive: true, force: true }));
  const input = { dir: 'dist', appId: 'app_42', accountId: 'acc', workerName: 'my-app' };

  it('lists every file with its served bytes, hash and type, and the modules without the map', async () => {
    const plan = await planCloudflareDeploy(makeContext({ cwd: root }), input);
    const injected =
      '<!doctype html><html><head><script>window.ENV = {"APP_ID":"app_42"}</script>\n<script type="module" src="/assets/app.js"></script></head></html>';
    expect(plan.files).toEqual([
      {
        path: '/assets/app.js',
        hash: cloudflareAssetHash(bytes('console.log(1)'), 'x.js'),
        size: 14,
        contentType: 'text/javascript; charset=utf-8',
        injected: false,
      },
      {
        path: '/index.html',
        hash: cloudflareAssetHash(bytes(injected), 'x.html'),
        size: bytes(injected).byteLength,
        contentType: 'text/html; charset=utf-8',
        injected: true,
      },
      expect.objectContaining({
        path: '/nested/page.htm',
        injected: true,
        size: '<p>app_42</p>'.length + '<script>window.ENV = {"APP_ID":"app_42"}</script>'.length,
      }),
    ]);
    expect(plan.modules.map((m) => [m.name, m.contentType])).toEqual([
      ['index.js', 'application/javascript+module'],
      ['lib.js', 'application/javascript+module'],
    ]);
    expect(plan.bindings).toEqual([
      { type: 'plain_text', name: 'APP_ID', text: 'app_42' },
      { type: 'assets', name: 'ASSETS' },
    ]);
    expect(plan.assetsConfig).toEqual({
      html_handling: 'auto-trailing-slash',
      not_found_handling: 'single-page-application',
      run_worker_first: ['/api/*'],
    });
    expect(plan).toMatchObject({
      target: 'cloudflare',
      accountId: 'acc',
      workerName: 'my-app',
      appId: 'app_42',
      mainModule: 'index.js',
    });
    expect(plan.bytes.worker).toBe((tree['worker/index.js'] ?? '').length + (tree['worker/lib.js'] ?? '').length);
    expect(plan.bytes.workerGzip).toBeGreaterThan(0);
    // Serialisable: what --json prints is the plan itself.
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('has a tag that changes with the app id and the content, and not otherwise', async () => {
    const ctx = makeContext({ cwd: root });
    const a = await planCloudflareDeploy(ctx, input);
    expect((await planCloudflareDeploy(ctx, { ...input, message: 'again' })).tag).toBe(a.tag);
    expect((await planCloudflareDeploy(ctx, { ...input, appId: 'app_43' })).tag).not.toBe(a.tag);
    expect(a.tag).toMatch(/^reyna:[0-9a-f]{32}$/);
  });

  it('refuses a bad worker name, a missing build and a missing account', async () => {
    const ctx = makeContext({ cwd: root });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e) => (isReynaError(e) ? e.code : String(e)),
      );
    expect(await code(planCloudflareDeploy(ctx, { ...input, workerName: 'My_App' }))).toBe('E_CLOUDFLARE_WORKER_NAME');
    expect(await code(planCloudflareDeploy(ctx, { ...input, dir: 'nope' }))).toBe('E_BUILD_MISSING');
    expect(await code(planCloudflareDeploy(ctx, { ...input, accountId: '' }))).toBe('E_CLOUDFLARE_ACCOUNT_MISSING');
  });
});
