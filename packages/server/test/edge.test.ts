// The local edge in one process: the core client (plan → upload missing blobs → commit) against createServer()
// through app.request(), and the edge's own port serving what was deployed, in workerd.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  applyLocalDeploy,
  type LocalConnection,
  listLocalDeployments,
  makeContext,
  planLocalDeploy,
  rollbackLocal,
} from '@reyna/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Edge } from '../src/edge/host.js';
import { listen } from '../src/listen.js';
import { createServer, type ReynaServer } from '../src/server.js';
import { edgeGet, NAVIGATE, settleWorkerd } from './_edge.js';
import { client, type Harness, makeHarness } from './_harness.js';

const WORKER = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const { pathname } = url;
    if (pathname === '/api/asset') return env.ASSETS.fetch(new URL(url.searchParams.get('path'), request.url));
    if (pathname.startsWith('/api/')) return Response.json({ appId: env.APP_ID, path: pathname });
    return env.ASSETS.fetch(request);
  },
};
`;

function writeBuild(dir: string, files: Record<string, string>, worker = WORKER) {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, text] of Object.entries({ 'worker/index.js': worker, ...files })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

const HTML = '<!doctype html><html><head><title>t</title><script type="module" src="/app.js"></script></head></html>';

let h: Harness;
let edge: Edge;
let app: ReynaServer;
const work = mkdtempSync(join(tmpdir(), 'reyna-edge-'));
const build = join(work, 'dist');
const ctx = makeContext({ cwd: work });
const connection = (token: string): LocalConnection => ({
  server: 'http://studio.test',
  token,
  fetch: ((url: string, init?: RequestInit) => app.request(url, init)) as typeof fetch,
});

beforeAll(async () => {
  h = await makeHarness('pglite');
  edge = await Edge.start({ dir: join(h.dir, 'edge'), blobs: h.blobs, port: 0 });
  app = createServer({ store: h.store, blobs: h.blobs, events: h.events, edge });
}, 60_000);
afterAll(async () => {
  await edge?.close();
  await app?.shutdown();
  await h?.close();
  rmSync(work, { recursive: true, force: true });
});

async function deploy(appId: string, token = h.ownerToken, message?: string) {
  const plan = await planLocalDeploy(
    ctx,
    { dir: build, appId, appName: 'x', ...(message ? { message } : {}) },
    connection(token),
  );
  const result = await applyLocalDeploy(ctx, plan, connection(token));
  return { plan, result };
}

describe('local edge (in process)', () => {
  it('deploys, serves with the APP_ID, uploads only what changed, rolls back, and survives a restart', async () => {
    const api = client(() => app, h.ownerToken);
    const made = await api.post('/v1/apps', { name: 'shop' });
    expect(made.status).toBe(201);
    const appId = made.body.id as string;

    // Without an edge, the routes say how to get one.
    const bare = createServer({ store: h.store, blobs: h.blobs, events: h.events });
    const off = await bare.request('/v1/edge', { headers: { authorization: `Bearer ${h.ownerToken}` } });
    expect(off.status).toBe(503);
    expect(((await off.json()) as { error: { code: string } }).error.code).toBe('E_EDGE_OFF');
    await bare.shutdown();

    writeBuild(build, { 'client/index.html': HTML, 'client/app.js': 'console.log(1)', 'client/notes.txt': 'one\n' });
    const first = await deploy(appId, h.ownerToken, 'first');
    expect(first.plan.upload.files).toBe(4);
    expect(first.plan.files.find((f) => f.path === '/index.html')?.injected).toBe(true);
    expect(first.result.uploaded.files).toBe(4);
    expect(first.result.url).toBe(`http://shop.localhost:${edge.port}/`);

    const page = await edgeGet(edge.port, 'shop.localhost');
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<script>window.ENV = {"APP_ID":"${appId}"}</script>`);
    expect(JSON.parse((await edgeGet(edge.port, 'shop.localhost', '/api/hello')).text)).toEqual({
      appId,
      path: '/api/hello',
    });
    const deep = await edgeGet(edge.port, 'shop.localhost', '/some/deep/route');
    expect(deep.status).toBe(200);
    expect(deep.text).toBe(page.text);
    expect((await edgeGet(edge.port, `${appId}.localhost`, '/notes.txt')).text).toBe('one\n');
    const unknown = await edgeGet(edge.port, 'nope.localhost');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).error.code).toBe('E_NO_APP');

    // No change: nothing to upload.
    const same = await deploy(appId);
    expect(same.plan.upload.files).toBe(0);
    expect(same.result.uploaded.files).toBe(0);
    expect(same.result.versionId).toBe(first.result.versionId);

    // One asset changes: exactly one blob goes up.
    writeBuild(build, { 'client/index.html': HTML, 'client/app.js': 'console.log(1)', 'client/notes.txt': 'two\n' });
    const second = await deploy(appId, h.ownerToken, 'second');
    expect(second.result.uploaded).toEqual({ files: 1, bytes: 4 });
    expect((await edgeGet(edge.port, 'shop.localhost', '/notes.txt')).text).toBe('two\n');

    const listed = await listLocalDeployments(ctx, { ...connection(h.ownerToken), appId });
    expect(listed).toHaveLength(3);
    expect(listed[0]).toMatchObject({ id: second.result.deploymentId, active: true, message: 'second' });
    expect(listed.filter((d) => d.active)).toHaveLength(1);

    const back = await rollbackLocal(ctx, { ...connection(h.ownerToken), appId });
    expect(back.versions[0]?.versionId).toBe(first.result.versionId);
    expect(back.active).toBe(true);
    expect((await edgeGet(edge.port, 'shop.localhost', '/notes.txt')).text).toBe('one\n');
    // Every request the edge served the app counts for it in the usage; the unknown host's for nobody.
    const usage = await client(() => app, h.ownerToken).get('/v1/usage');
    expect(usage.body.apps.find((a: { appId: string }) => a.appId === appId)?.edgeRequests).toBe(6);

    // A restart of the edge serves the same deployment.
    await edge.close();
    edge = await Edge.start({ dir: join(h.dir, 'edge'), blobs: h.blobs, port: 0 });
    app = createServer({ store: h.store, blobs: h.blobs, events: h.events, edge });
    expect((await edgeGet(edge.port, 'shop.localhost', '/notes.txt')).text).toBe('one\n');
    // The rollback went to the deployment before the current one: the no-change redeploy of the first build.
    expect((await listLocalDeployments(ctx, { ...connection(h.ownerToken), appId }))[0]?.rollbackOf).toBe(
      same.result.deploymentId,
    );
  }, 60_000);

  it('runs every app in one workerd; /api/* reaches the Worker even on navigation; a Worker that does not start is refused', async () => {
    const api = client(() => app, h.ownerToken);
    const one = (await api.post('/v1/apps', { name: 'one' })).body.id as string;
    const two = (await api.post('/v1/apps', { name: 'two' })).body.id as string;
    writeBuild(build, { 'client/index.html': HTML, 'client/app.js': 'console.log(1)', 'client/notes.txt': 'v1\n' });
    const first = await deploy(one);
    const second = await deploy(two);
    // Three apps now (shop from the test before), one workerd process.
    expect(edge.processes).toBe(1);
    expect(await settleWorkerd(process.pid, 1)).toHaveLength(1);

    const page = await edgeGet(edge.port, 'one.localhost', '/', NAVIGATE);
    expect(page.text).toContain(`{"APP_ID":"${one}"}`);
    // run_worker_first: a browser's navigation to /api/x is the Worker's, not the single-page app's index.html.
    const nav = await edgeGet(edge.port, 'one.localhost', '/api/x', NAVIGATE);
    expect(nav.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(nav.text)).toEqual({ appId: one, path: '/api/x' });
    expect((await edgeGet(edge.port, 'one.localhost', '/orders/42', NAVIGATE)).text).toBe(page.text);
    // The Worker's env.ASSETS.fetch serves its own app's files (and index.html for a path with none).
    expect((await edgeGet(edge.port, 'one.localhost', '/api/asset?path=/notes.txt')).text).toBe('v1\n');
    expect((await edgeGet(edge.port, 'two.localhost', '/api/asset?path=/')).text).toContain(`{"APP_ID":"${two}"}`);
    expect((await edgeGet(edge.port, 'one.localhost', '/api/asset?path=/nowhere')).text).toBe(page.text);
    expect(JSON.parse((await edgeGet(edge.port, 'two.localhost', '/api/hello')).text).appId).toBe(two);
    const cached = await edgeGet(edge.port, 'one.localhost', '/notes.txt');
    const etag = cached.headers.etag as string;
    expect((await edgeGet(edge.port, 'one.localhost', '/notes.txt', { 'if-none-match': etag })).status).toBe(304);
    // A client cannot steer the request to another app's Worker with Miniflare's own header.
    const steered = await edgeGet(edge.port, 'one.localhost', '/api/hello', { 'mf-route-override': two });
    expect(JSON.parse(steered.text).appId).toBe(one);

    // A Worker that throws at top level, or does not parse, is refused; every app, its own included, serves on.
    for (const [worker, said] of [
      ["throw new Error('boom at top level');\nexport default {};\n", 'boom at top level'],
      ['export default { fetch( {\n', 'SyntaxError'],
    ] as const) {
      writeBuild(build, { 'client/index.html': HTML, 'client/notes.txt': 'broken\n' }, worker);
      const refused = await deploy(one).catch((error: Error & { code?: string }) => error);
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error & { code?: string }).code).toBe('E_EDGE_START_FAILED');
      expect((refused as Error).message).toContain(said);
      expect((refused as Error).message).not.toContain(join(h.dir, 'edge'));
      expect((await edgeGet(edge.port, 'one.localhost', '/notes.txt')).text).toBe('v1\n');
      expect(JSON.parse((await edgeGet(edge.port, 'one.localhost', '/api/hello')).text).appId).toBe(one);
      expect(JSON.parse((await edgeGet(edge.port, 'two.localhost', '/api/hello')).text).appId).toBe(two);
      expect((await edgeGet(edge.port, 'shop.localhost', '/notes.txt')).status).toBe(200);
      expect(await settleWorkerd(process.pid, 1)).toHaveLength(1);
    }
    const listed = await listLocalDeployments(ctx, { ...connection(h.ownerToken), appId: one });
    expect(listed.find((d) => d.active)?.id).toBe(first.result.deploymentId);
    expect(listed.filter((d) => d.status === 'failure')).toHaveLength(2);

    // A Worker that no longer starts after a restart (here: its module replaced on disk) is left out; the other
    // apps serve, and deploying them still works.
    const module = join(h.dir, 'edge', 'versions', second.result.versionId, 'modules', 'index.js');
    rmSync(module);
    writeFileSync(module, "throw new Error('rotted');\nexport default {};\n");
    await edge.close();
    edge = await Edge.start({ dir: join(h.dir, 'edge'), blobs: h.blobs, port: 0 });
    app = createServer({ store: h.store, blobs: h.blobs, events: h.events, edge });
    expect((await edgeGet(edge.port, 'two.localhost', '/api/hello')).status).toBe(404);
    expect((await edgeGet(edge.port, 'one.localhost', '/notes.txt')).text).toBe('v1\n');
    writeBuild(build, { 'client/index.html': HTML, 'client/notes.txt': 'v2\n' });
    await deploy(one);
    expect((await edgeGet(edge.port, 'one.localhost', '/notes.txt')).text).toBe('v2\n');
    expect((await edgeGet(edge.port, 'shop.localhost', '/notes.txt')).status).toBe(200);
    // Deployed again (a new build: the module on disk was spoiled behind the edge's back), two serves again.
    writeBuild(build, { 'client/index.html': HTML, 'client/notes.txt': 'v2\n' }, `${WORKER}// again\n`);
    await deploy(two);
    expect(JSON.parse((await edgeGet(edge.port, 'two.localhost', '/api/hello')).text).appId).toBe(two);
    expect(await settleWorkerd(process.pid, 1)).toHaveLength(1);
  }, 120_000);

  it('local deploy uploads time out and retry 429/503 with Retry-After, through a real loopback proxy', async () => {
    const api = client(() => app, h.ownerToken);
    const appId = (await api.post('/v1/apps', { name: 'patient' })).body.id as string;
    const listening = await listen(app, { port: 0, host: '127.0.0.1' });
    // In front of the real server: the first "which do you lack" answers 429 with Retry-After, the first batch
    // upload 503 with Retry-After, the second batch upload never answers; everything else goes through.
    const faults = new Map<string, string[]>([
      ['POST /v1/blobs/missing', ['429']],
      ['POST /v1/blobs/batch', ['503', 'stall']],
    ]);
    const seen: string[] = [];
    const proxy = createHttpServer((req, res) => {
      const key = `${req.method} ${req.url}`;
      const fault = faults.get(key)?.shift();
      seen.push(fault ? `${key} ${fault}` : key);
      if (fault === 'stall') {
        req.resume();
        return;
      }
      if (fault) {
        req.resume();
        res.writeHead(Number(fault), { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify({ error: { code: 'E_BUSY', message: 'try again', hint: 'wait' } }));
        return;
      }
      const upstream = request(
        { host: '127.0.0.1', port: listening.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    const port = (proxy.address() as { port: number }).port;
    try {
      writeBuild(build, { 'client/index.html': HTML, 'client/patient.txt': 'waited\n' });
      const patient: LocalConnection = {
        server: `http://127.0.0.1:${port}`,
        token: h.ownerToken,
        timeoutMs: 1_500,
        backoffMs: 10,
      };
      const started = performance.now();
      const plan = await planLocalDeploy(ctx, { dir: build, appId, appName: 'patient' }, patient);
      const result = await applyLocalDeploy(ctx, plan, patient);
      const took = performance.now() - started;
      expect(result.uploaded.files).toBe(plan.upload.files);
      expect(result.uploaded.files).toBeGreaterThan(0);
      expect((await edgeGet(edge.port, 'patient.localhost', '/patient.txt')).text).toBe('waited\n');
      expect(seen.filter((s) => s.startsWith('POST /v1/blobs/batch'))).toEqual([
        'POST /v1/blobs/batch 503',
        'POST /v1/blobs/batch stall',
        'POST /v1/blobs/batch',
      ]);
      expect(seen.filter((s) => s.startsWith('POST /v1/blobs/missing'))).toEqual([
        'POST /v1/blobs/missing 429',
        'POST /v1/blobs/missing',
        'POST /v1/blobs/missing',
      ]);
      // Two Retry-After seconds, and one request given up after its 1.5 s.
      expect(took).toBeGreaterThan(3_400);

      // A server that keeps failing: a clear error once the tries are spent, nothing deployed.
      faults.set('POST /v1/blobs/batch', ['503', '503', '503', '503']);
      writeBuild(build, { 'client/index.html': HTML, 'client/patient.txt': 'never\n' });
      const again = await planLocalDeploy(ctx, { dir: build, appId, appName: 'patient' }, patient);
      const refused = await applyLocalDeploy(ctx, again, { ...patient, attempts: 2 }).catch((e: Error) => e);
      expect((refused as Error & { code?: string }).code).toBe('E_BUSY');
      expect((await edgeGet(edge.port, 'patient.localhost', '/patient.txt')).text).toBe('waited\n');
    } finally {
      proxy.closeAllConnections();
      await new Promise((done) => proxy.close(done));
      await listening.close();
    }
  }, 60_000);

  it('refuses unknown blobs (422), bad paths (422), and another user’s app (404)', async () => {
    const owner = client(() => app, h.ownerToken);
    const appId = (await owner.post('/v1/apps', { name: 'mine' })).body.id as string;
    const sha = 'a'.repeat(64);
    const lacking = await owner.post(`/v1/apps/${appId}/edge/deployments`, {
      files: { '/index.html': { sha256: sha, size: 3 } },
      modules: { 'index.js': { sha256: sha, size: 3 } },
      mainModule: 'index.js',
    });
    expect(lacking.status).toBe(422);
    expect(lacking.body.error).toMatchObject({ code: 'E_MISSING_BLOBS', details: { missing: [sha] } });
    const badPath = await owner.post(`/v1/apps/${appId}/edge/deployments`, {
      files: { '/../etc/passwd': { sha256: sha, size: 3 } },
      modules: { 'index.js': { sha256: sha, size: 3 } },
      mainModule: 'index.js',
    });
    expect(badPath.status).toBe(422);
    expect(badPath.body.error.code).toBe('E_INVALID_PATH');

    const made = await owner.post('/v1/tokens', { user: 'mallory' });
    const other = client(() => app, made.body.token);
    for (const answer of [
      await other.get(`/v1/apps/${appId}/edge/deployments`),
      await other.post(`/v1/apps/${appId}/edge/rollback`, {}),
    ]) {
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('E_NOT_FOUND');
    }
    const nothing = await owner.post(`/v1/apps/${appId}/edge/rollback`, {});
    expect(nothing.status).toBe(409);
    expect(nothing.body.error.code).toBe('E_NOTHING_TO_ROLL_BACK');
  });
});
