// The local edge in one process: the core client (plan → upload missing blobs → commit) against createServer()
// through app.request(), and the edge's own port serving what was deployed, in workerd.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { createServer, type ReynaServer } from '../src/server.js';
import { edgeGet } from './_edge.js';
import { client, type Harness, makeHarness } from './_harness.js';

const WORKER = `export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith('/api/')) return Response.json({ appId: env.APP_ID, path: pathname });
    return env.ASSETS.fetch(request);
  },
};
`;

function writeBuild(dir: string, files: Record<string, string>) {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, text] of Object.entries({ 'worker/index.js': WORKER, ...files })) {
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
