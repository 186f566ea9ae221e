// The sync and bucket clients of @reyna/core against the studio server in the same process: fetch is app.request.

import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  createBucket,
  getObject,
  linkBucket,
  listBlobs,
  listObjects,
  putBlobs,
  putObject,
  shareBucket,
  syncBucket,
  unlinkBucket,
} from '@reyna/core/buckets';
import { encodeBlobBatch } from '@reyna/core/protocol';
import { cloneApp, createApp, linkApp, pull, push, type SyncOptions, status, watchPull } from '@reyna/core/sync';
import { createServer, openBackends } from '@reyna/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SERVER = 'http://studio.test';
let backends: Awaited<ReturnType<typeof openBackends>>;
let app: ReturnType<typeof createServer>;
let ownerToken: string;
let home: string;
const requests: { method: string; path: string; body?: string }[] = [];

type Fetch = typeof globalThis.fetch;
const fetch: Fetch = (async (input: string | URL | Request, init?: RequestInit) => {
  const url = new URL(String(input));
  const body = typeof init?.body === 'string' ? init.body : undefined;
  requests.push({ method: init?.method ?? 'GET', path: url.pathname, ...(body === undefined ? {} : { body }) });
  return app.request(url.pathname + url.search, init);
}) as Fetch;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'reyna-sync-'));
  backends = await openBackends({ dataDir: join(home, 'studio') });
  const owner = await backends.store.bootstrap();
  if (!owner) throw new Error('no owner');
  ownerToken = owner.token;
  app = createServer({ store: backends.store, blobs: backends.blobs, events: backends.events, limits: {} });
}, 60_000);
afterAll(async () => {
  await app?.shutdown();
  await backends?.close();
  rmSync(home, { recursive: true, force: true });
});

function opts(cwd: string, more: Partial<SyncOptions> = {}): SyncOptions {
  return {
    cwd,
    env: {},
    homedir: home,
    server: SERVER,
    token: ownerToken,
    fetch,
    backoffMs: 1,
    ...more,
  } as SyncOptions;
}
let n = 0;
function dir(files: Record<string, string | Buffer> = {}): string {
  const root = join(home, `w${++n}`);
  mkdirSync(root, { recursive: true });
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), data);
  }
  return root;
}
const read = (root: string, path: string) => readFileSync(join(root, path));
const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256));

async function newApp(files: Record<string, string | Buffer>) {
  const name = `app${++n}`;
  const root = dir({ 'reyna.json': JSON.stringify({ name }), ...files });
  const made = await createApp(opts(root));
  return { root, appId: made.app.id };
}

describe('push, clone, pull, status', () => {
  it('pushes a tree and clones it elsewhere byte for byte, executable bit included', async () => {
    const { root, appId } = await newApp({
      'index.html': '<h1>hi</h1>',
      'img/logo.bin': binary,
      'run.sh': '#!/bin/sh\n',
    });
    chmodSync(join(root, 'run.sh'), 0o755);
    expect(JSON.parse(read(root, 'reyna.json').toString()).appId).toBe(appId);
    const first = await push(opts(root, { message: 'first' }));
    expect(first.plan.changes.added).toEqual(['img/logo.bin', 'index.html', 'reyna.json', 'run.sh']);
    expect(first.summary).toMatchObject({ files: 4, transferred: 4 });
    expect((await status(opts(root))).clean).toBe(true);

    const copy = join(home, `clone${++n}`);
    const cloned = await cloneApp(opts(home, { appId, dir: copy }));
    expect(cloned.revision).toBe(first.revision);
    for (const p of ['index.html', 'img/logo.bin', 'run.sh', 'reyna.json'])
      expect(read(copy, p)).toEqual(read(root, p));
    expect(statSync(join(copy, 'run.sh')).mode & 0o111).not.toBe(0);
    expect(statSync(join(copy, 'index.html')).mode & 0o111).toBe(0);
    expect(await status(opts(copy))).toMatchObject({ clean: true, serverMoved: false, base: first.revision });
  });

  it('second push with one changed file uploads exactly that blob, and an unchanged push commits nothing', async () => {
    const { root } = await newApp({ 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    await push(opts(root));
    writeFileSync(join(root, 'b.txt'), 'b changed');
    const st = await status(opts(root));
    expect(st).toMatchObject({ modified: ['b.txt'], added: [], deleted: [], clean: false });
    requests.length = 0;
    const second = await push(opts(root));
    expect(second.summary).toMatchObject({ transferred: 1, bytesSent: 'b changed'.length });
    expect(requests.filter((r) => r.path === '/v1/blobs/batch')).toHaveLength(1);
    const third = await push(opts(root));
    expect(third.plan.commit).toBe(false);
    expect(third.revision).toBe(second.revision);
  });

  it('commits on top of a revision by sending only the changes, and the whole manifest when the base differs', async () => {
    const { root, appId } = await newApp({ 'a.txt': 'a', 'b.txt': 'b', 'gone.txt': 'g' });
    const first = await push(opts(root));
    const commits = () =>
      requests
        .filter((r) => r.method === 'POST' && r.path === `/v1/apps/${appId}/revisions`)
        .map((r) => JSON.parse(r.body as string));
    writeFileSync(join(root, 'b.txt'), 'b changed');
    rmSync(join(root, 'gone.txt'));
    requests.length = 0;
    const second = await push(opts(root));
    expect(commits()).toHaveLength(1);
    const [sent] = commits();
    expect(Object.keys(sent).sort()).toEqual(['changes', 'digest', 'parent']);
    expect(sent).toMatchObject({ parent: first.revision, changes: { 'gone.txt': null } });
    expect(Object.keys(sent.changes).sort()).toEqual(['b.txt', 'gone.txt']);
    const copy = await cloneApp(opts(home, { appId, dir: join(home, `clone${++n}`) }));
    expect(copy.revision).toBe(second.revision);
    expect(copy.plan.remote).toEqual(second.plan.files);

    // This copy's record of its base says a.txt is what the tree holds now, which the server's revision does not:
    // the changes would give another manifest than the tree's, so the server refuses them and gets the whole one.
    writeFileSync(join(root, 'a.txt'), 'a here');
    writeFileSync(join(root, 'c.txt'), 'a here');
    const statePath = join(root, '.reyna/state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    state.files['a.txt'] = { sha256: createHash('sha256').update('a here').digest('hex'), size: 6, mode: 0o644 };
    writeFileSync(statePath, JSON.stringify(state));
    requests.length = 0;
    const third = await push(opts(root));
    expect(commits().map((c) => Object.keys(c).includes('files'))).toEqual([false, true]);
    const head = await cloneApp(opts(home, { appId, dir: join(home, `clone${++n}`) }));
    expect(head.revision).toBe(third.revision);
    expect(read(head.dir, 'a.txt').toString()).toBe('a here');
    expect(read(head.dir, 'b.txt').toString()).toBe('b changed');

    // A server from before `changes` refuses the field (400 E_BAD_REQUEST, as strict schemas do): the whole
    // manifest goes instead. The older server is played by this one answering so.
    const older: Fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      if (typeof init?.body === 'string' && init.body.includes('"changes"')) {
        requests.push({ method: init.method ?? 'GET', path: new URL(String(input)).pathname, body: init.body });
        return new Response(
          JSON.stringify({ error: { code: 'E_BAD_REQUEST', message: 'body: Unrecognized key: "changes"' } }),
          { status: 400, headers: { 'content-type': 'application/json' } },
        );
      }
      return fetch(input, init);
    }) as Fetch;
    writeFileSync(join(root, 'b.txt'), 'b for an older server');
    requests.length = 0;
    const fourth = await push(opts(root, { fetch: older }));
    expect(commits().map((c) => Object.keys(c).includes('files'))).toEqual([false, true]);
    const later = await cloneApp(opts(home, { appId, dir: join(home, `clone${++n}`) }));
    expect(later.revision).toBe(fourth.revision);
    expect(read(later.dir, 'b.txt').toString()).toBe('b for an older server');
  });

  it('refuses a push on a base the server moved past, changing nothing, and pushes after a pull', async () => {
    const { root: a, appId } = await newApp({ 'shared.txt': 'v1', 'a.txt': 'a' });
    await push(opts(a));
    const b = join(home, `b${++n}`);
    await cloneApp(opts(home, { appId, dir: b }));
    writeFileSync(join(a, 'a.txt'), 'a2');
    const fromA = await push(opts(a));
    writeFileSync(join(b, 'b.txt'), 'mine');
    const err = await push(opts(b)).catch((x) => x);
    expect(err).toMatchObject({ code: 'E_PUSH_CONFLICT', details: { head: fromA.revision } });
    expect(err.hint).toMatch(/reyna pull/);
    expect(read(b, 'b.txt').toString()).toBe('mine');
    expect((await status(opts(b))).serverMoved).toBe(true);
    // The pull brings a.txt and keeps b.txt; then the push goes on top.
    const pulled = await pull(opts(b));
    expect(pulled.plan.write.map((w) => w.path)).toEqual(['a.txt']);
    expect(read(b, 'a.txt').toString()).toBe('a2');
    expect(read(b, 'b.txt').toString()).toBe('mine');
    const pushed = await push(opts(b));
    expect(pushed.plan.parent).toBe(fromA.revision);
  });

  it('status lists what changed on the server since the last sync, and what changed on both sides', async () => {
    const { root: a, appId } = await newApp({ 'keep.txt': 'k', 'edit.txt': 'e1', 'both.txt': 'b1', 'gone.txt': 'g' });
    const first = await push(opts(a));
    const b = join(home, `b${++n}`);
    await cloneApp(opts(home, { appId, dir: b }));
    requests.length = 0;
    expect(await status(opts(b))).toMatchObject({
      serverMoved: false,
      remote: { added: [], modified: [], deleted: [] },
      conflicts: [],
    });
    // Up to date: no manifest is fetched.
    expect(requests.map((r) => r.path)).toEqual([`/v1/apps/${appId}`]);
    writeFileSync(join(a, 'edit.txt'), 'e2');
    writeFileSync(join(a, 'both.txt'), 'b2 from a');
    writeFileSync(join(a, 'new.txt'), 'n');
    rmSync(join(a, 'gone.txt'));
    const second = await push(opts(a));
    writeFileSync(join(b, 'both.txt'), 'b2 from b');
    writeFileSync(join(b, 'mine.txt'), 'm');
    const st = await status(opts(b));
    expect(st).toMatchObject({
      base: first.revision,
      head: second.revision,
      serverMoved: true,
      added: ['mine.txt'],
      modified: ['both.txt'],
      deleted: [],
      remote: { added: ['new.txt'], modified: ['both.txt', 'edit.txt'], deleted: ['gone.txt'] },
      conflicts: ['both.txt'],
    });
    // The conflicts are the ones pull stops on.
    expect((await pull(opts(b)).catch((x) => x)).details.conflicts).toEqual(st.conflicts);
  });

  it('refuses a pull that would overwrite local edits, listing them; --force takes the server’s', async () => {
    const { root: a, appId } = await newApp({ 'x.txt': 'x1', 'gone.txt': 'g' });
    await push(opts(a));
    const b = join(home, `b${++n}`);
    await cloneApp(opts(home, { appId, dir: b }));
    writeFileSync(join(a, 'x.txt'), 'x from a');
    rmSync(join(a, 'gone.txt'));
    await push(opts(a));
    writeFileSync(join(b, 'x.txt'), 'x from b');
    const err = await pull(opts(b)).catch((x) => x);
    expect(err).toMatchObject({ code: 'E_PULL_CONFLICT', details: { conflicts: ['x.txt'] } });
    expect(err.message).toContain('x.txt');
    expect(read(b, 'x.txt').toString()).toBe('x from b');
    expect(read(b, 'gone.txt').toString()).toBe('g');
    await pull(opts(b, { force: true } as Partial<SyncOptions>));
    expect(read(b, 'x.txt').toString()).toBe('x from a');
    expect(() => statSync(join(b, 'gone.txt'))).toThrow();
    expect((await status(opts(b))).clean).toBe(true);
  });

  it('retries a batch the server failed with 503, with backoff', async () => {
    const { root } = await newApp({ 'r.txt': 'retry me' });
    let failures = 2;
    const flaky: Fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).endsWith('/v1/blobs/batch') && failures-- > 0)
        return new Response(JSON.stringify({ error: { code: 'E_BUSY', message: 'busy' } }), { status: 503 });
      return fetch(input, init);
    }) as Fetch;
    const result = await push(opts(root, { fetch: flaky }));
    expect(failures).toBe(-1);
    expect(result.revision).toBeTruthy();
  });

  it('an interrupted push leaves no revision, and the next one sends only what is missing', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`f/${i}.txt`] = `file ${i} `.repeat(50);
    const { root, appId } = await newApp(files);
    let batchesLeft = 3;
    const dying: Fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).endsWith('/v1/blobs/batch') && batchesLeft-- <= 0) throw new TypeError('fetch failed');
      return fetch(input, init);
    }) as Fetch;
    const err = await push(opts(root, { fetch: dying, batchFiles: 5, concurrency: 1, attempts: 1 })).catch((x) => x);
    expect(err.code).toBe('E_SERVER_UNREACHABLE');
    const head = await app.request(`/v1/apps/${appId}`, { headers: { authorization: `Bearer ${ownerToken}` } });
    expect((await head.json()).head).toBeNull();
    const again = await push(opts(root, { batchFiles: 5 }));
    // 31 distinct blobs (30 files + reyna.json), 3 batches of 5 got through.
    expect(again.summary.transferred).toBe(31 - 15);
    expect(again.revision).toBeTruthy();
  });

  it('pull writes whole files only: a pull that fails midway leaves old or new files, no temp files', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`p/${String(i).padStart(2, '0')}.txt`] = `old ${i} `.repeat(100);
    const { root: a, appId } = await newApp(files);
    const first = await push(opts(a));
    const b = join(home, `b${++n}`);
    await cloneApp(opts(home, { appId, dir: b }));
    for (const path of Object.keys(files)) writeFileSync(join(a, path), `new ${path} `.repeat(120));
    const second = await push(opts(a));
    let blobsLeft = 5;
    const dying: Fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      if (/\/v1\/blobs\/[0-9a-f]{64}$/.test(new URL(String(input)).pathname) && blobsLeft-- <= 0)
        throw new TypeError('fetch failed');
      return fetch(input, init);
    }) as Fetch;
    const err = await pull(opts(b, { fetch: dying, concurrency: 1, attempts: 1 })).catch((x) => x);
    expect(err.code).toBe('E_SERVER_UNREACHABLE');
    const contents = Object.keys(files).map((path) => read(b, path).toString());
    const fresh = contents.filter((text, i) => text === `new ${Object.keys(files)[i]} `.repeat(120));
    const stale = contents.filter((text, i) => text === files[Object.keys(files)[i] as string]);
    expect([fresh.length, stale.length]).toEqual([5, 15]);
    const { readdirSync } = await import('node:fs');
    const everything = readdirSync(b, { recursive: true }).map(String);
    expect(everything.filter((f) => f.includes('.reyna-') && f.endsWith('.tmp'))).toEqual([]);
    // The copy still says it is at the first revision; the next pull finishes the job.
    expect((await status(opts(b))).base).toBe(first.revision);
    const again = await pull(opts(b));
    expect(again.revision).toBe(second.revision);
    expect(again.summary.transferred).toBe(15);
    for (const path of Object.keys(files)) expect(read(b, path)).toEqual(read(a, path));
  });

  it('pull --watch follows server events and pulls each new revision', async () => {
    const { root: a, appId } = await newApp({ 'w.txt': 'one' });
    await push(opts(a));
    const b = join(home, `b${++n}`);
    await cloneApp(opts(home, { appId, dir: b }));
    const abort = new AbortController();
    const pulled: (string | null)[] = [];
    let resolveSecond!: () => void;
    const second = new Promise<void>((r) => (resolveSecond = r));
    const watching = watchPull({
      ...opts(b, { signal: abort.signal }),
      onPull: (r) => {
        pulled.push(r.revision);
        if (read(b, 'w.txt').toString() === 'two') resolveSecond();
      },
      onError: (e) => {
        throw e;
      },
    });
    await new Promise((r) => setTimeout(r, 200));
    writeFileSync(join(a, 'w.txt'), 'two');
    const pushed = await push(opts(a));
    await second;
    abort.abort();
    await watching;
    expect(pulled).toContain(pushed.revision);
  });
});

async function newUser(name: string): Promise<string> {
  const made = await app.request('/v1/tokens', {
    method: 'POST',
    headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user: name }),
  });
  return (await made.json()).token as string;
}

describe('link', () => {
  it('makes an empty directory a working copy of the head, like clone into "."', async () => {
    const { root: a, appId } = await newApp({ 'index.html': '<p>hi</p>', 'run.sh': '#!/bin/sh\n' });
    chmodSync(join(a, 'run.sh'), 0o755);
    const first = await push(opts(a));
    const b = dir();
    const linked = await linkApp(opts(b, { appId } as Partial<SyncOptions>) as SyncOptions & { appId: string });
    expect(linked.plan.write.map((w) => w.path)).toEqual(['index.html', 'reyna.json', 'run.sh']);
    expect(linked.plan.changes).toEqual({ added: [], changed: [], removed: [] });
    for (const p of ['index.html', 'reyna.json', 'run.sh']) expect(read(b, p)).toEqual(read(a, p));
    expect(statSync(join(b, 'run.sh')).mode & 0o111).not.toBe(0);
    expect(await status(opts(b))).toMatchObject({ clean: true, serverMoved: false, base: first.revision });
    expect((await pull(opts(b))).upToDate).toBe(true);
    // Linking it again changes nothing; linking it to another app needs force.
    const again = await linkApp({ ...opts(b), appId });
    expect(again.plan).toMatchObject({ linked: true, write: [] });
    const other = await newApp({ 'o.txt': 'o' });
    const refused = await linkApp({ ...opts(b), appId: other.appId }).catch((x) => x);
    expect(refused).toMatchObject({ code: 'E_ALREADY_LINKED', details: { appId } });
    expect(refused.hint).toContain('--force');
    expect(JSON.parse(read(b, 'reyna.json').toString()).appId).toBe(appId);
    const forced = await linkApp({ ...opts(b), appId: other.appId, force: true });
    expect(forced.head).toBeNull();
    expect(JSON.parse(read(b, 'reyna.json').toString()).appId).toBe(other.appId);
    // The other app has no revision yet: everything here is a local change, and push sends it.
    const st = await status(opts(b));
    expect(st.added).toEqual(['index.html', 'reyna.json', 'run.sh']);
    expect((await push(opts(b))).plan.parent).toBeNull();
  });

  it('links an existing app directory: status shows real differences, pull stops only on real collisions, push goes on top', async () => {
    const { root: a, appId } = await newApp({
      'same.txt': 'same',
      'edit.txt': 'v1',
      'theirs.txt': 'only on the server',
    });
    const head = (await push(opts(a))).revision;
    // A directory holding its own version of the app: one file edited, one added, one it lacks, no appId.
    const mine = () =>
      dir({
        'reyna.json': JSON.stringify({ name: 'my-copy' }),
        'same.txt': 'same',
        'edit.txt': 'my edit',
        'mine.txt': 'only here',
      });
    const b = mine();
    const linked = await linkApp({ ...opts(b), appId });
    expect(linked.head).toBe(head);
    expect(linked.plan.write.map((w) => w.path)).toEqual(['theirs.txt']);
    expect(read(b, 'theirs.txt').toString()).toBe('only on the server');
    expect(JSON.parse(read(b, 'reyna.json').toString())).toMatchObject({ name: 'my-copy', appId });
    const st = await status(opts(b));
    expect(st).toMatchObject({
      base: head,
      serverMoved: false,
      added: ['mine.txt'],
      modified: ['edit.txt', 'reyna.json'],
      deleted: [],
    });
    expect(linked.plan.changes).toEqual({ added: st.added, changed: st.modified, removed: st.deleted });
    const pulled = await pull(opts(b));
    expect(pulled.upToDate).toBe(true);
    expect(read(b, 'edit.txt').toString()).toBe('my edit');

    // The server moves on: a file only the server changed comes in; one both changed stops the pull.
    const c = mine();
    await linkApp({ ...opts(c), appId });
    writeFileSync(join(a, 'same.txt'), 'same, v2');
    writeFileSync(join(a, 'edit.txt'), 'v2');
    const moved = await push(opts(a));
    const err = await pull(opts(c)).catch((x) => x);
    expect(err).toMatchObject({ code: 'E_PULL_CONFLICT', details: { conflicts: ['edit.txt'] } });

    // b pushes on top of the head it was linked at… after pulling what moved.
    expect((await push(opts(b)).catch((x) => x)).code).toBe('E_PUSH_CONFLICT');
    writeFileSync(join(b, 'edit.txt'), 'v1');
    await pull(opts(b, { force: true } as Partial<SyncOptions>));
    writeFileSync(join(b, 'mine.txt'), 'only here, pushed');
    const pushed = await push(opts(b));
    expect(pushed.plan.parent).toBe(moved.revision);
    const rev = await (
      await app.request(`/v1/apps/${appId}/revisions/${pushed.revision}`, {
        headers: { authorization: `Bearer ${ownerToken}` },
      })
    ).json();
    expect(Object.keys(rev.files).sort()).toEqual(['edit.txt', 'mine.txt', 'reyna.json', 'same.txt', 'theirs.txt']);
    expect(read(b, 'same.txt').toString()).toBe('same, v2');
  });

  it('links a directory without reyna.json: it comes from the server', async () => {
    const { root: a, appId } = await newApp({ 'x.txt': 'x' });
    await push(opts(a));
    const b = dir({ 'notes.txt': 'mine' });
    const linked = await linkApp({ ...opts(b), appId });
    expect(linked.plan.write.map((w) => w.path)).toEqual(['reyna.json', 'x.txt']);
    expect(read(b, 'reyna.json')).toEqual(read(a, 'reyna.json'));
    expect(await status(opts(b))).toMatchObject({ added: ['notes.txt'], modified: [], deleted: [] });
  });
});

describe('blobs and buckets', () => {
  it('reports progress inside a large blob, up and down, not only when it is done', async () => {
    const big = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    const file = join(dir({ 'big.bin': big }), 'big.bin');
    const ups: number[] = [];
    const steps: string[] = [];
    const put = await putBlobs({
      ...opts(home),
      files: [file],
      onProgress: (p) => ups.push(p.bytes),
      onStep: (step, state) => steps.push(`${step}:${state}`),
    });
    expect(put.summary).toMatchObject({ transferred: 1, bytesSent: big.length });
    expect(steps).toEqual(['scan:start', 'scan:done', 'compare:start', 'compare:done', 'upload:start', 'upload:done']);
    expect(ups.at(-1)).toBe(big.length);
    expect(ups.filter((b) => b > 0 && b < big.length).length).toBeGreaterThan(3);
    expect(ups).toEqual([...ups].sort((a, b) => a - b));

    await createBucket(opts(home, { name: 'large' } as never));
    await putObject(opts(home, { name: 'large', file, key: 'big.bin' } as never));
    const downs: number[] = [];
    const got = await getObject({
      ...opts(home),
      name: 'large',
      key: 'big.bin',
      output: join(home, 'big.copy'),
      onProgress: (p) => downs.push(p.bytes),
    });
    expect(got.summary).toMatchObject({ files: 1, transferred: 1, bytesReceived: big.length });
    // Buffer.equals: a deep toEqual of 6 MiB takes longer than the test may.
    expect(read(home, 'big.copy').equals(big)).toBe(true);
    expect(downs.at(-1)).toBe(big.length);
    expect(downs.filter((b) => b > 0 && b < big.length).length).toBeGreaterThan(0);
  });

  it('lists your blobs across pages, up to a limit, by hash prefix', async () => {
    const token = await newUser('lister');
    const texts = Array.from({ length: 1005 }, (_, i) => `blob number ${i}`);
    const body = encodeBlobBatch(
      texts.map((t) => ({ sha256: createHash('sha256').update(t).digest('hex'), data: Buffer.from(t) })),
    );
    const up = await app.request('/v1/blobs/batch', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.reyna.blobs' },
      body,
    });
    expect(up.status).toBe(200);
    const as = (more: object) => opts(home, { token, ...more } as never);
    requests.length = 0;
    const all = await listBlobs(as({}));
    expect(all.blobs).toHaveLength(1005);
    expect(all.more).toBe(false);
    expect(all.totalBytes).toBe(texts.reduce((n, t) => n + t.length, 0));
    const hashes = all.blobs.map((b) => b.sha256);
    expect(hashes).toEqual([...hashes].sort());
    expect(new Set(hashes).size).toBe(1005);
    expect(requests.filter((r) => r.path === '/v1/blobs')).toHaveLength(2);

    const some = await listBlobs(as({ limit: 1002 }));
    expect(some.blobs.map((b) => b.sha256)).toEqual(hashes.slice(0, 1002));
    expect(some.more).toBe(true);
    const exact = await listBlobs(as({ limit: 1005 }));
    expect(exact).toMatchObject({ more: false });

    const one = hashes[500] as string;
    const found = await listBlobs(as({ prefix: one.slice(0, 10).toUpperCase() }));
    expect(found.blobs.map((b) => b.sha256)).toContain(one);
    expect(found.blobs.every((b) => b.sha256.startsWith(one.slice(0, 10)))).toBe(true);
    const bad = await listBlobs(as({ prefix: 'xyz' })).catch((x) => x);
    expect(bad).toMatchObject({ code: 'E_INVALID_INPUT' });
    expect(bad.hint).toMatch(/hex/);
  });

  it('puts blobs once, syncs a directory up and down with only changes, shares and links', async () => {
    const put = await putBlobs(opts(home, { files: [join(dir({ 'one.bin': binary }), 'one.bin')] } as never));
    expect(put.blobs[0]).toMatchObject({ size: binary.length });
    const again = await putBlobs(opts(home, { files: [join(dir({ 'same.bin': binary }), 'same.bin')] } as never));
    expect(again.blobs[0]?.uploaded).toBe(false);

    await createBucket(opts(home, { name: 'media' } as never));
    const src = dir({ 'a.txt': 'bucket a', 'sub/b.bin': binary, 'c.txt': 'bucket c' });
    const up = await syncBucket(opts(home, { dir: src, name: 'media', direction: 'up' } as never));
    expect(up.plan.transfer.map((t) => t.key)).toEqual(['a.txt', 'c.txt', 'sub/b.bin']);
    expect(up.summary.transferred).toBe(2); // sub/b.bin's bytes were uploaded as a blob already
    writeFileSync(join(src, 'a.txt'), 'bucket a2');
    rmSync(join(src, 'c.txt'));
    const dry = await syncBucket(
      opts(home, { dir: src, name: 'media', direction: 'up', delete: true, dryRun: true } as never),
    );
    expect(dry.plan).toMatchObject({ transfer: [{ key: 'a.txt' }], remove: ['c.txt'], unchanged: 1 });
    expect((await listObjects(opts(home, { name: 'media' } as never))).objects).toHaveLength(3);
    const up2 = await syncBucket(opts(home, { dir: src, name: 'media', direction: 'up', delete: true } as never));
    expect(up2.summary).toMatchObject({ transferred: 1, bytesSent: 'bucket a2'.length });
    expect((await listObjects(opts(home, { name: 'media' } as never))).objects.map((o) => o.key)).toEqual([
      'a.txt',
      'sub/b.bin',
    ]);

    const down = join(home, `down${++n}`);
    const d1 = await syncBucket(opts(home, { dir: down, name: 'media', direction: 'down' } as never));
    expect(d1.plan.transfer).toHaveLength(2);
    expect(read(down, 'sub/b.bin')).toEqual(binary);
    expect(read(down, 'a.txt').toString()).toBe('bucket a2');
    writeFileSync(join(down, 'extra.txt'), 'x');
    const d2 = await syncBucket(opts(home, { dir: down, name: 'media', direction: 'down', delete: true } as never));
    expect(d2.plan).toMatchObject({ transfer: [], remove: ['extra.txt'], unchanged: 2 });

    // Share read-only with bob: he reads, he cannot write.
    const bob = await newUser('bob');
    await shareBucket(opts(home, { name: 'media', user: 'bob', access: 'read' } as never));
    const asBob = (more: object) => opts(home, { token: bob, ...more } as never);
    const got = await getObject(asBob({ name: 'media', key: 'sub/b.bin' }));
    expect((got as { data: Buffer }).data).toEqual(binary);
    const bobDown = join(home, `bob${++n}`);
    await syncBucket(asBob({ dir: bobDown, name: 'media', direction: 'down' }));
    expect(read(bobDown, 'sub/b.bin')).toEqual(binary);
    const denied = await putObject(asBob({ name: 'media', file: join(src, 'a.txt'), key: 'bob.txt' })).catch((x) => x);
    expect(denied.code).toBe('E_FORBIDDEN');

    const link = await linkBucket(opts(home, { name: 'media' } as never));
    const url = new URL(`${link.url}/a.txt`);
    const open = await app.request(url.pathname);
    expect(open.status).toBe(200);
    expect(await open.text()).toBe('bucket a2');
    const revoked = await unlinkBucket(opts(home, { name: 'media' } as never));
    expect(revoked.revoked).toHaveLength(1);
    expect((await app.request(url.pathname)).status).toBe(404);
  });
});
