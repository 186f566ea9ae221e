import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyCloudflareDeploy,
  type CloudflareApplyOptions,
  type CloudflareDeployResult,
  isReynaError,
  listCloudflareDeployments,
  makeContext,
  planCloudflareDeploy,
  type ReynaError,
  rollbackCloudflare,
} from '../src/index.js';
import { type CloudflareDouble, cloudflareHashOfBase64, startCloudflareDouble } from './cloudflare-double/index.js';

const TOKEN = 'test-api-token';
const ACCOUNT = 'acc0123456789';
const SUBDOMAIN = 'reyna-test';

let double: CloudflareDouble;
let root: string;

beforeAll(async () => {
  double = await startCloudflareDouble({ apiToken: TOKEN, accountId: ACCOUNT, subdomain: SUBDOMAIN });
  root = await mkdtemp(join(tmpdir(), 'reyna-cf-e2e-'));
});
afterAll(async () => {
  await double?.close();
  await rm(root, { recursive: true, force: true });
});

/** A small real build, as `reyna build` lays it out. */
async function makeBuild(name: string, version = 'v1'): Promise<string> {
  const dir = join(root, name);
  const files: Record<string, string> = {
    'client/index.html':
      '<!doctype html>\n<html>\n  <head>\n    <title>t</title>\n    <script type="module" src="/assets/app.js"></script>\n  </head>\n  <body><div id="root"></div></body>\n</html>\n',
    'client/assets/app.js': `document.getElementById('root').textContent = 'app ${version}';\n`,
    'client/assets/style.css': 'body { color: #333; }\n',
    'client/assets/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
    'worker/index.js':
      "import { greeting } from './lib.js';\n" +
      'export default {\n' +
      '  async fetch(request, env) {\n' +
      '    const url = new URL(request.url);\n' +
      "    if (url.pathname === '/api/hello') return Response.json({ appId: env.APP_ID, greeting });\n" +
      '    return env.ASSETS.fetch(request);\n' +
      '  },\n' +
      '};\n',
    'worker/lib.js': "export const greeting = 'hello';\n",
    'worker/index.js.map': '{"version":3,"sources":[],"mappings":""}',
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const ctx = () => makeContext({ cwd: root });

function connection(extra: Partial<CloudflareApplyOptions> = {}): CloudflareApplyOptions {
  return { apiToken: TOKEN, baseURL: double.baseURL, timeoutMs: 1000, backoffMs: 20, retries: 4, ...extra };
}

async function deploy(
  dir: string,
  workerName: string,
  appId: string,
  extra: Partial<CloudflareApplyOptions> = {},
): Promise<CloudflareDeployResult> {
  const plan = await planCloudflareDeploy(ctx(), { dir, appId, accountId: ACCOUNT, workerName });
  return applyCloudflareDeploy(ctx(), plan, connection(extra));
}

async function errorOf(promise: Promise<unknown>): Promise<ReynaError> {
  const error = await promise.then(
    () => undefined,
    (e) => e,
  );
  if (!isReynaError(error)) throw new Error(`expected a ReynaError, got ${String(error)}`);
  return error;
}

async function text(url: string, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await double.fetchDeployed(new URL(path, url).toString());
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

describe('deploy to the Cloudflare double', () => {
  it('serves the page with the APP_ID, the API with it, and index.html on deep SPA paths', async () => {
    const dir = await makeBuild('first');
    const result = await deploy(dir, 'first-app', 'app_first');
    expect(result).toMatchObject({
      target: 'cloudflare',
      url: `https://first-app.${SUBDOMAIN}.workers.dev`,
      createdWorker: true,
      createdVersion: true,
      sessions: 1,
      uploaded: { files: 4 },
      skipped: { files: 0, bytes: 0 },
    });
    const page = await text(result.url, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script>window.ENV = {"APP_ID":"app_first"}</script>');
    expect(page.body.indexOf('window.ENV')).toBeLessThan(page.body.indexOf('src="/assets/app.js"'));
    const api = await double.fetchDeployed(`${result.url}/api/hello`);
    expect(await api.json()).toEqual({ appId: 'app_first', greeting: 'hello' });
    const deep = await text(result.url, '/some/deep/route');
    expect(deep.status).toBe(200);
    expect(deep.body).toBe(page.body);
    const asset = await text(result.url, '/assets/app.js');
    expect(asset.body).toContain("'app v1'");
    expect(asset.type).toMatch(/javascript/);
    // One deploy, one version, one deployment serving it.
    expect(double.versions('first-app')).toHaveLength(1);
    const list = await listCloudflareDeployments(ctx(), {
      ...connection(),
      accountId: ACCOUNT,
      workerName: 'first-app',
    });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ active: true, versions: [{ versionId: result.versionId, percentage: 100 }] });
    expect(list[0]?.versionNumbers[result.versionId]).toBe(1);
  });

  it('uploads exactly one file after one asset changed, and serves the change', async () => {
    const dir = await makeBuild('one-asset');
    await deploy(dir, 'one-asset', 'app_one');
    await writeFile(join(dir, 'client/assets/app.js'), "document.body.textContent = 'changed';\n");
    const before = double.uploadedHashes.length;
    const result = await deploy(dir, 'one-asset', 'app_one');
    expect(double.uploadedHashes.length - before).toBe(1);
    expect(result).toMatchObject({
      createdWorker: false,
      createdVersion: true,
      uploaded: { files: 1 },
      skipped: { files: 3 },
    });
    expect((await text(result.url, '/assets/app.js')).body).toContain("'changed'");
    expect(double.versions('one-asset')).toHaveLength(2);
    expect(double.deployments('one-asset')).toHaveLength(2);
  });

  it('does not make a new version when nothing changed', async () => {
    const dir = await makeBuild('same');
    const first = await deploy(dir, 'same-app', 'app_same');
    const before = double.uploadedHashes.length;
    const again = await deploy(dir, 'same-app', 'app_same');
    expect(again).toMatchObject({
      versionId: first.versionId,
      createdVersion: false,
      uploaded: { files: 0, bytes: 0 },
    });
    expect(double.uploadedHashes.length).toBe(before);
    expect(double.versions('same-app')).toHaveLength(1);
    expect(double.deployments('same-app')).toHaveLength(1);
  });

  it('serves two ids when one build is deployed under two names', async () => {
    const dir = await makeBuild('twice');
    const staging = await deploy(dir, 'twice-staging', 'app_staging');
    const prod = await deploy(dir, 'twice-prod', 'app_prod');
    expect((await text(staging.url, '/')).body).toContain('{"APP_ID":"app_staging"}');
    expect((await text(prod.url, '/')).body).toContain('{"APP_ID":"app_prod"}');
    expect(await (await double.fetchDeployed(`${staging.url}/api/hello`)).json()).toMatchObject({
      appId: 'app_staging',
    });
    expect(await (await double.fetchDeployed(`${prod.url}/api/hello`)).json()).toMatchObject({ appId: 'app_prod' });
  });

  it('rolls back to the previous content, and forward again to a named version', async () => {
    const dir = await makeBuild('rollback', 'v1');
    const v1 = await deploy(dir, 'rollback-app', 'app_rb');
    await writeFile(join(dir, 'client/assets/app.js'), "document.body.textContent = 'v2';\n");
    await writeFile(join(dir, 'worker/lib.js'), "export const greeting = 'hi v2';\n");
    const v2 = await deploy(dir, 'rollback-app', 'app_rb');
    expect((await text(v2.url, '/assets/app.js')).body).toContain("'v2'");
    const target = { ...connection(), accountId: ACCOUNT, workerName: 'rollback-app' };
    const back = await rollbackCloudflare(ctx(), target);
    expect(back.versions).toEqual([{ versionId: v1.versionId, percentage: 100 }]);
    expect((await text(v1.url, '/assets/app.js')).body).toContain("'app v1'");
    expect(await (await double.fetchDeployed(`${v1.url}/api/hello`)).json()).toEqual({
      appId: 'app_rb',
      greeting: 'hello',
    });
    const list = await listCloudflareDeployments(ctx(), target);
    expect(list.map((d) => d.versions[0]?.versionId)).toEqual([v1.versionId, v2.versionId, v1.versionId]);
    expect(list[0]?.message).toBe(`Rollback to ${v1.versionId}`);
    // Rolling back makes no version; naming one goes to it.
    expect(double.versions('rollback-app')).toHaveLength(2);
    await rollbackCloudflare(ctx(), { ...target, versionId: v2.versionId });
    expect((await text(v2.url, '/assets/app.js')).body).toContain("'v2'");
    expect((await errorOf(rollbackCloudflare(ctx(), { ...target, versionId: 'nope' }))).code).toBe(
      'E_CLOUDFLARE_NO_VERSION',
    );
  });

  it('says clearly when the token or the account is wrong', async () => {
    const dir = await makeBuild('auth');
    const plan = await planCloudflareDeploy(ctx(), { dir, appId: 'a', accountId: ACCOUNT, workerName: 'auth-app' });
    const badToken = await errorOf(applyCloudflareDeploy(ctx(), plan, connection({ apiToken: 'wrong' })));
    expect(badToken.code).toBe('E_CLOUDFLARE_AUTH');
    expect(badToken.hint).toContain('CLOUDFLARE_API_TOKEN');
    const other = await planCloudflareDeploy(ctx(), {
      dir,
      appId: 'a',
      accountId: 'someone-else',
      workerName: 'auth-app',
    });
    const badAccount = await errorOf(applyCloudflareDeploy(ctx(), other, connection()));
    expect(badAccount.code).toBe('E_CLOUDFLARE_FORBIDDEN');
    expect(badAccount.hint).toContain('CLOUDFLARE_ACCOUNT_ID');
  });

  it('refuses to apply a plan whose build changed since', async () => {
    const dir = await makeBuild('stale');
    const plan = await planCloudflareDeploy(ctx(), { dir, appId: 'a', accountId: ACCOUNT, workerName: 'stale-app' });
    await writeFile(join(dir, 'client/assets/style.css'), 'body { color: red; }\n');
    expect((await errorOf(applyCloudflareDeploy(ctx(), plan, connection()))).code).toBe('E_PLAN_STALE');
  });
});

describe('faults', () => {
  it('waits as long as Retry-After says on a 429, then completes', async () => {
    const dir = await makeBuild('f429');
    double.fault({ method: 'POST', path: /\/workers\/assets\/upload$/, kind: '429', retryAfter: 1 });
    const result = await deploy(dir, 'f429', 'app_429', { backoffMs: 1 });
    const uploads = double.requests.filter((r) => r.path.endsWith('/workers/assets/upload'));
    const limited = uploads.findIndex((r) => r.status === 429);
    expect(limited).toBeGreaterThanOrEqual(0);
    // The bucket that got the 429 is retried no sooner than a second later; other buckets may go meanwhile.
    const retried = uploads.slice(limited + 1).filter((r) => r.status !== 429);
    expect(Math.max(...retried.map((r) => r.at)) - (uploads[limited]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect((await text(result.url, '/')).body).toContain('app_429');
    expect(double.versions('f429')).toHaveLength(1);
  });

  it('retries 500s on every step and still makes one version', async () => {
    const dir = await makeBuild('f500');
    await deploy(dir, 'f500', 'app_500');
    await writeFile(join(dir, 'client/assets/app.js'), "document.body.textContent = '500';\n");
    for (const path of [
      /assets-upload-session$/,
      /\/workers\/assets\/upload$/,
      /\/versions$/,
      /\/deployments$/,
      /\/subdomain$/,
    ]) {
      double.fault({ method: 'POST', path, kind: '500', times: 2 });
    }
    const result = await deploy(dir, 'f500', 'app_500');
    expect((await text(result.url, '/assets/app.js')).body).toContain("'500'");
    expect(double.versions('f500')).toHaveLength(2);
    expect(double.deployments('f500')).toHaveLength(2);
  });

  it('does not upload the version twice when a 500 came after it landed', async () => {
    const dir = await makeBuild('f500after');
    await deploy(dir, 'f500-after', 'app_5a');
    await writeFile(join(dir, 'worker/lib.js'), "export const greeting = 'after';\n");
    double.fault({ method: 'POST', path: /\/versions$/, kind: '500', after: true });
    double.fault({ method: 'POST', path: /\/deployments$/, kind: '500', after: true });
    const result = await deploy(dir, 'f500-after', 'app_5a');
    expect(double.versions('f500-after')).toHaveLength(2);
    expect(double.deployments('f500-after')).toHaveLength(2);
    expect(await (await double.fetchDeployed(`${result.url}/api/hello`)).json()).toMatchObject({ greeting: 'after' });
  });

  it('does not make a second Worker version when the first upload answered too slowly', async () => {
    const dir = await makeBuild('slowput');
    double.fault({ method: 'PUT', path: /\/workers\/scripts\/slow-put$/, kind: 'slow', ms: 1500, after: true });
    const result = await deploy(dir, 'slow-put', 'app_slow');
    expect(result.createdWorker).toBe(true);
    expect(double.versions('slow-put')).toHaveLength(1);
    expect((await text(result.url, '/')).body).toContain('app_slow');
  });

  it('times out a slow asset upload and retries it', async () => {
    const dir = await makeBuild('slowasset');
    double.fault({ method: 'POST', path: /\/workers\/assets\/upload$/, kind: 'slow', ms: 1500 });
    const started = Date.now();
    const result = await deploy(dir, 'slow-asset', 'app_sa');
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await text(result.url, '/assets/style.css')).body).toContain('#333');
    expect(double.versions('slow-asset')).toHaveLength(1);
  });

  it('stops with a resumable error when a version upload may still land, and the re-run uses it', async () => {
    const dir = await makeBuild('uncertain');
    await deploy(dir, 'uncertain', 'app_u');
    await writeFile(join(dir, 'worker/lib.js'), "export const greeting = 'late';\n");
    // The server takes 4 s to handle it; the client gives up after 1 s and watches for 1 s more.
    double.fault({ method: 'POST', path: /\/versions$/, kind: 'slow', ms: 4000 });
    const error = await errorOf(deploy(dir, 'uncertain', 'app_u'));
    expect(error.code).toBe('E_CLOUDFLARE_UNCERTAIN');
    expect(error.details).toMatchObject({ resumable: true });
    expect(error.hint).toContain('reyna deploy');
    // Wait for the slow request to land on the server, as a person re-running later would.
    for (let i = 0; i < 100 && double.versions('uncertain').length < 2; i++)
      await new Promise((r) => setTimeout(r, 100));
    const result = await deploy(dir, 'uncertain', 'app_u');
    expect(result.createdVersion).toBe(false);
    expect(double.versions('uncertain')).toHaveLength(2);
    expect(await (await double.fetchDeployed(`${result.url}/api/hello`)).json()).toMatchObject({ greeting: 'late' });
  });

  it('opens a new session when the upload token expires, sending only what is missing', async () => {
    const dir = await makeBuild('expire');
    const before = double.uploadedHashes.length;
    const sessions: number[] = [];
    let uploads = 0;
    const result = await deploy(dir, 'expire-app', 'app_exp', {
      concurrency: 1,
      onProgress: (event) => {
        if (event.type === 'session') sessions.push(event.files);
        // The token expires after the first of the two buckets went up.
        if (event.type === 'uploaded' && ++uploads === 1) {
          double.fault({ method: 'POST', path: /\/workers\/assets\/upload$/, kind: 'expire-upload-jwt' });
        }
      },
    });
    expect(result.sessions).toBe(2);
    expect(sessions).toEqual([4, 2]);
    // Each of the 4 files went up once, none twice.
    expect(double.uploadedHashes.length - before).toBe(4);
    expect(new Set(double.uploadedHashes.slice(before)).size).toBe(4);
    expect((await text(result.url, '/')).body).toContain('app_exp');
    expect(double.versions('expire-app')).toHaveLength(1);
  });

  it('gives up on a lasting outage with a resumable error, and the re-run sends only what is left', async () => {
    const dir = await makeBuild('outage');
    const plan = await planCloudflareDeploy(ctx(), { dir, appId: 'app_out', accountId: ACCOUNT, workerName: 'outage' });
    // The first bucket goes through; every attempt at the second fails (1 + 2 retries).
    let calls = 0;
    const error = await errorOf(
      applyCloudflareDeploy(ctx(), plan, {
        ...connection({ retries: 2, concurrency: 1 }),
        onProgress: (event) => {
          if (event.type === 'uploaded' && ++calls === 1) {
            double.fault({ method: 'POST', path: /\/workers\/assets\/upload$/, kind: '500', times: 3 });
          }
        },
      }),
    );
    expect(error.code).toBe('E_CLOUDFLARE_UNAVAILABLE');
    expect(error.details).toMatchObject({ resumable: true, status: 500 });
    expect(error.hint).toContain('reyna deploy');
    expect(double.versions('outage')).toHaveLength(0);
    const before = double.uploadedHashes.length;
    const result = await applyCloudflareDeploy(ctx(), plan, connection());
    expect(double.uploadedHashes.length - before).toBe(2);
    expect(result.uploaded.files).toBe(2);
    expect(result.skipped.files).toBe(2);
    expect(double.versions('outage')).toHaveLength(1);
    expect((await text(result.url, '/')).body).toContain('app_out');
  });
});

describe('the double rejects what Cloudflare rejects', () => {
  const api = (path: string, init: RequestInit & { token?: string } = {}) =>
    fetch(`${double.baseURL}/accounts/${ACCOUNT}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${init.token ?? TOKEN}`, ...(init.headers as Record<string, string>) },
    });

  async function session(name: string, content: string) {
    const base64 = Buffer.from(content).toString('base64');
    const hash = cloudflareHashOfBase64(base64, '/a.txt');
    const res = await api(`/workers/scripts/${name}/assets-upload-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ manifest: { '/a.txt': { hash, size: Buffer.byteLength(content) } } }),
    });
    expect(res.status).toBe(200);
    const { result } = (await res.json()) as { result: { jwt: string; buckets: string[][] } };
    return { ...result, base64, hash };
  }

  function upload(jwt: string, parts: { name: string; body: string; type?: string }[]) {
    const data = new FormData();
    for (const p of parts) data.append(p.name, new File([p.body], p.name, p.type ? { type: p.type } : {}));
    return fetch(`${double.baseURL}/accounts/${ACCOUNT}/workers/assets/upload?base64=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}` },
      body: data,
    });
  }

  it('checks auth, the account and content types', async () => {
    expect((await api('/workers/subdomain', { token: 'nope' })).status).toBe(401);
    expect((await fetch(`${double.baseURL}/accounts/${ACCOUNT}/workers/subdomain`)).status).toBe(401);
    expect(
      (
        await fetch(`${double.baseURL}/accounts/other/workers/subdomain`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).status,
    ).toBe(403);
    const plain = await api('/workers/scripts/x/assets-upload-session', {
      method: 'POST',
      body: '{"manifest":{}}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(plain.status).toBe(400);
    const noManifest = await api('/workers/scripts/x/assets-upload-session', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(noManifest.status).toBe(400);
  });

  it('checks asset uploads against the upload token and the content hash', async () => {
    const s = await session('strict-assets', 'hello strict');
    expect(s.buckets).toEqual([[s.hash]]);
    // The API token is not an upload token.
    expect((await upload(TOKEN, [{ name: s.hash, body: s.base64, type: 'text/plain' }])).status).toBe(401);
    const wrong = Buffer.from('something else').toString('base64');
    const mismatch = await upload(s.jwt, [{ name: s.hash, body: wrong, type: 'text/plain' }]);
    expect(mismatch.status).toBe(400);
    expect(JSON.stringify(await mismatch.json())).toContain('does not hash to its name');
    // A file that is not in this session's manifest, even with a matching hash.
    const stray = Buffer.from('stray').toString('base64');
    expect(
      (await upload(s.jwt, [{ name: cloudflareHashOfBase64(stray, '/a.txt'), body: stray, type: 'text/plain' }]))
        .status,
    ).toBe(400);
    const raw = await fetch(`${double.baseURL}/accounts/${ACCOUNT}/workers/assets/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.jwt}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(raw.status).toBe(400);
    const ok = await upload(s.jwt, [{ name: s.hash, body: s.base64, type: 'text/plain' }]);
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { result: { jwt: string } }).result.jwt).toMatch(/\./);
  });

  it('checks the script upload: metadata, module types and the completion token', async () => {
    const s = await session('strict-script', 'hi');
    const done = (await (await upload(s.jwt, [{ name: s.hash, body: s.base64, type: 'text/plain' }])).json()) as {
      result: { jwt: string };
    };
    const put = (metadata: unknown, moduleType = 'application/javascript+module') => {
      const data = new FormData();
      if (metadata !== undefined) data.append('metadata', JSON.stringify(metadata));
      data.append(
        'index.js',
        new File(['export default { fetch() { return new Response("x"); } };'], 'index.js', { type: moduleType }),
      );
      return api('/workers/scripts/strict-script', { method: 'PUT', body: data });
    };
    const good = {
      main_module: 'index.js',
      compatibility_date: '2026-04-01',
      bindings: [
        { type: 'plain_text', name: 'APP_ID', text: 'x' },
        { type: 'assets', name: 'ASSETS' },
      ],
      assets: { jwt: done.result.jwt, config: { not_found_handling: 'single-page-application' } },
    };
    expect((await put(undefined)).status).toBe(400);
    expect((await put({ ...good, main_module: undefined })).status).toBe(400);
    expect((await put(good, 'application/javascript')).status).toBe(400);
    expect((await put({ ...good, assets: { ...good.assets, jwt: s.jwt } })).status).toBe(400);
    expect((await put({ ...good, assets: { ...good.assets, jwt: 'forged.token.x' } })).status).toBe(400);
    expect((await put({ ...good, bindings: [{ type: 'plain_text', name: 'APP_ID' }] })).status).toBe(400);
    expect(double.versions('strict-script')).toHaveLength(0);
    expect((await put(good)).status).toBe(200);
    expect(double.versions('strict-script')).toHaveLength(1);
    // Versions of a Worker that does not exist, and deployments of unknown versions, are refused.
    expect((await api('/workers/scripts/never-made/versions')).status).toBe(404);
    const badDeploy = await api('/workers/scripts/strict-script/deployments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ strategy: 'percentage', versions: [{ version_id: 'nope', percentage: 100 }] }),
    });
    expect(badDeploy.status).toBe(400);
  });
});
