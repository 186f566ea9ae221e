// The studio server's API, run once per store: PGlite, and the machine's PostgreSQL (a fresh schema per run).
import { encodeBlobBatch, manifestDigest } from '@reyna/core/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { client, type Harness, makeHarness, STORES, sha256 } from './_harness.js';

const file = (text: string, mode = 0o644) => ({ sha256: sha256(text), size: Buffer.byteLength(text), mode });

describe.each(STORES.map((s) => [s.title, s] as const))('studio API on %s', (_title, { kind, skip }) => {
  let h: Harness;
  let owner: ReturnType<typeof client>;
  let alice: ReturnType<typeof client>;
  let bob: ReturnType<typeof client>;
  let bobToken: string;
  const anon = () => client(() => h.app);

  // A store missing here: every test shows as skipped (the title says why), and nothing tries to reach it.
  beforeEach((ctx) => {
    if (skip) ctx.skip();
  });
  beforeAll(async () => {
    if (skip) return;
    h = await makeHarness(kind);
    owner = client(() => h.app, h.ownerToken);
    const a = await owner.post('/v1/tokens', { user: 'alice', name: 'laptop' });
    const b = await owner.post('/v1/tokens', { user: 'bob' });
    expect(a.status).toBe(201);
    alice = client(() => h.app, a.body.token);
    bobToken = b.body.token;
    bob = client(() => h.app, bobToken);
  }, 60_000);
  afterAll(async () => h?.close());

  async function upload(c: ReturnType<typeof client>, text: string) {
    const r = await c.put(`/v1/blobs/${sha256(text)}`, text);
    expect([200, 201]).toContain(r.status);
    return r;
  }

  describe('auth and tokens', () => {
    it('answers 401 without a token, with a wrong one, and with a revoked one', async () => {
      const none = await anon().get('/v1/whoami');
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('E_UNAUTHORIZED');
      expect(none.body.error.hint).toMatch(/reyna login/);
      const wrong = client(() => h.app, 'reyna_wrong');
      const wrongWrite = await wrong.post('/v1/apps', { name: 'by-wrong' });
      expect(wrongWrite.status).toBe(401);
      expect(wrongWrite.body.error.code).toBe('E_UNAUTHORIZED');

      const made = await owner.post('/v1/tokens', { user: 'carol', name: 'ci' });
      const carol = client(() => h.app, made.body.token);
      expect((await carol.get('/v1/whoami')).body.user.name).toBe('carol');
      const revoked = await carol.del(`/v1/tokens/${made.body.info.id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.body.revokedAt).not.toBeNull();
      const after = await carol.post('/v1/apps', { name: 'by-revoked' });
      expect(after.status).toBe(401);
      expect(after.body.error.code).toBe('E_TOKEN_REVOKED');
      expect(after.body.error.message).toContain(revoked.body.revokedAt);
      const { rows } = await h.store.sql.query('SELECT 1 FROM apps WHERE name IN ($1, $2)', ['by-wrong', 'by-revoked']);
      expect(rows).toEqual([]);
    });

    it('lists tokens: your own, and as an admin one user’s or everyone’s', async () => {
      const mine = await alice.get('/v1/tokens');
      expect(mine.status).toBe(200);
      expect(mine.body.tokens.map((t: { user: string; name: string }) => [t.user, t.name])).toEqual([
        ['alice', 'laptop'],
      ]);
      expect((await alice.get('/v1/tokens?user=alice')).body).toEqual(mine.body);
      for (const path of ['/v1/tokens?all=true', '/v1/tokens?user=bob']) {
        const r = await alice.get(path);
        expect(r.status, path).toBe(403);
        expect(r.body.error.code).toBe('E_FORBIDDEN');
      }
      const bobs = await owner.get('/v1/tokens?user=bob');
      expect(bobs.body.tokens.map((t: { user: string }) => t.user)).toEqual(['bob']);
      const all = await owner.get('/v1/tokens?all=true');
      expect(new Set(all.body.tokens.map((t: { user: string }) => t.user))).toEqual(
        new Set(['owner', 'alice', 'bob', 'carol']),
      );
      expect(JSON.stringify(all.body)).not.toMatch(/reyna_/);
      const nobody = await owner.get('/v1/tokens?user=nobody');
      expect(nobody.status).toBe(404);
      expect(nobody.body.error.code).toBe('E_NOT_FOUND');
    });

    it('lets an admin revoke anyone’s token, but not the last live admin token', async () => {
      const made = await owner.post('/v1/tokens', { user: 'gina' });
      const gina = client(() => h.app, made.body.token);
      const byAdmin = await owner.del(`/v1/tokens/${made.body.info.id}`);
      expect(byAdmin.status).toBe(200);
      expect((await gina.get('/v1/whoami')).body.error.code).toBe('E_TOKEN_REVOKED');

      const ownerTokenId = (await owner.get('/v1/whoami')).body.token.id;
      const last = await owner.del(`/v1/tokens/${ownerTokenId}`);
      expect(last.status).toBe(409);
      expect(last.body.error.code).toBe('E_LAST_ADMIN_TOKEN');
      expect(last.body.error.hint).toMatch(/reyna server token create/);
      expect((await owner.get('/v1/whoami')).status).toBe(200);
      // Beside a second admin token either may go; once that one has, the first is the last again.
      const spare = await owner.post('/v1/tokens', { user: 'owner', name: 'spare' });
      expect((await owner.del(`/v1/tokens/${spare.body.info.id}`)).status).toBe(200);
      expect((await owner.del(`/v1/tokens/${ownerTokenId}`)).status).toBe(409);
    });

    it('stores tokens only as hashes', async () => {
      const { rows } = await h.store.sql.query<{ hash: string }>('SELECT hash FROM tokens');
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) {
        expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(r.hash).not.toBe(h.ownerToken);
      }
      expect(rows.map((r) => r.hash)).toContain(sha256(h.ownerToken));
    });

    it('lets only an admin create tokens, and nobody revoke another user’s', async () => {
      const denied = await alice.post('/v1/tokens', { user: 'mallory' });
      expect(denied.status).toBe(403);
      expect(denied.body.error.code).toBe('E_FORBIDDEN');
      const who = await bob.get('/v1/whoami');
      expect(who.body.user).toMatchObject({ name: 'bob', admin: false });
      expect((await alice.del(`/v1/tokens/${who.body.token.id}`)).status).toBe(404);
      expect((await bob.get('/v1/whoami')).status).toBe(200);
      const mine = await bob.get('/v1/tokens');
      expect(mine.body.tokens.map((t: { id: string }) => t.id)).toEqual([who.body.token.id]);
      expect(JSON.stringify(mine.body)).not.toContain(bobToken);
    });
  });

  describe('apps and revisions', () => {
    it('creates, lists, gets and refuses a duplicate name', async () => {
      const made = await alice.post('/v1/apps', { name: 'shop' });
      expect(made.status).toBe(201);
      expect(made.body).toMatchObject({ name: 'shop', head: null });
      expect(made.body.id).toMatch(/^app-[0-9a-z]{16}$/);
      expect((await alice.post('/v1/apps', { name: 'shop' })).status).toBe(409);
      expect((await alice.get(`/v1/apps/${made.body.id}`)).body.id).toBe(made.body.id);
      expect((await alice.get('/v1/apps')).body.apps.map((a: { name: string }) => a.name)).toContain('shop');
      const bad = await alice.post('/v1/apps', { name: 'Shop!' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('E_BAD_REQUEST');
    });

    it("answers 404 for another user's app, on every route, and changes nothing of it", async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'private' });
      const head = (await alice.post(`/v1/apps/${app.id}/revisions`, { parent: null, files: {} })).body.id;
      for (const r of [
        await bob.get(`/v1/apps/${app.id}`),
        await bob.get(`/v1/apps/${app.id}/revisions`),
        await bob.get(`/v1/apps/${app.id}/revisions/${head}`),
        await bob.post(`/v1/apps/${app.id}/revisions`, { parent: head, files: {} }),
        await bob.post(`/v1/apps/${app.id}/deployments`, { target: 'local', status: 'success' }),
        await bob.post(`/v1/apps/${app.id}/builds`, { status: 'success', durationMs: 1 }),
        await bob.del(`/v1/apps/${app.id}`),
      ]) {
        expect(r.status).toBe(404);
        expect(r.body.error.code).toBe('E_NOT_FOUND');
      }
      expect((await bob.get('/v1/apps')).body.apps).toEqual([]);
      expect((await alice.get(`/v1/apps/${app.id}`)).body).toMatchObject({ id: app.id, head });
      expect((await alice.get(`/v1/apps/${app.id}/revisions`)).body.revisions).toHaveLength(1);
      expect((await alice.get(`/v1/apps/${app.id}/deployments`)).body.deployments).toEqual([]);
      expect((await alice.get(`/v1/apps/${app.id}/builds`)).body.builds).toEqual([]);
    });

    it('commits a chain of revisions and returns the manifest', async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'chain' });
      await upload(alice, 'hello');
      await upload(alice, '#!/bin/sh\n');
      const files = { 'index.html': file('hello'), 'bin/run': file('#!/bin/sh\n', 0o755) };
      const first = await alice.post(`/v1/apps/${app.id}/revisions`, { parent: null, files, message: 'first' });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ seq: 1, parent: null, fileCount: 2, totalSize: 15 });
      const second = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: first.body.id,
        files: { 'index.html': file('hello') },
      });
      expect(second.body).toMatchObject({ seq: 2, parent: first.body.id });
      expect((await alice.get(`/v1/apps/${app.id}`)).body.head).toBe(second.body.id);
      const got = await alice.get(`/v1/apps/${app.id}/revisions/${first.body.id}`);
      expect(got.body.files).toEqual(files);
      const list = await alice.get(`/v1/apps/${app.id}/revisions`);
      expect(list.body.revisions.map((r: { seq: number }) => r.seq)).toEqual([2, 1]);
    });

    it('commits changes to the parent with the digest of the manifest they give', async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'changes' });
      for (const t of ['one', 'two', 'three', 'new two']) await upload(alice, t);
      const files = { 'a/one': file('one'), 'a/two': file('two'), three: file('three') };
      const first = await alice.post(`/v1/apps/${app.id}/revisions`, { parent: null, files });
      const next = { 'a/one': file('one'), 'a/two': file('new two', 0o755), 'b/three': file('three') };
      const changes = { 'a/two': next['a/two'], three: null, 'b/three': next['b/three'] };
      const wrong = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: first.body.id,
        changes,
        digest: manifestDigest(files),
      });
      expect(wrong.status).toBe(409);
      expect(wrong.body.error).toMatchObject({ code: 'E_BASE_MISMATCH', details: { head: first.body.id } });
      expect(wrong.body.error.hint).toMatch(/files/);
      expect((await alice.get(`/v1/apps/${app.id}`)).body.head).toBe(first.body.id);
      const second = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: first.body.id,
        changes,
        digest: manifestDigest(next),
        message: 'moved three',
      });
      expect(second.status).toBe(201);
      expect(second.body).toMatchObject({ seq: 2, parent: first.body.id, fileCount: 3, message: 'moved three' });
      const got = await alice.get(`/v1/apps/${app.id}/revisions/${second.body.id}`);
      expect(got.body.files).toEqual(next);
      expect(Object.keys(got.body.files)).toEqual(['a/one', 'a/two', 'b/three']);
      // Both forms at once, neither, or changes without their digest: 400, nothing stored.
      for (const body of [
        { parent: second.body.id, files: next, changes: {}, digest: manifestDigest(next) },
        { parent: second.body.id },
        { parent: second.body.id, changes: {} },
      ]) {
        const r = await alice.post(`/v1/apps/${app.id}/revisions`, body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.code).toBe('E_BAD_REQUEST');
      }
      // A new path is checked against the parent's: one differing only by case is refused.
      const clash = { ...next, 'A/ONE': file('one') };
      const r = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: second.body.id,
        changes: { 'A/ONE': file('one') },
        digest: manifestDigest(clash),
      });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'E_INVALID_PATH' });
      expect(r.body.error.message).toMatch(/only by case/);
      const missing = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: second.body.id,
        changes: { c: file('never uploaded') },
        digest: manifestDigest({ ...next, c: file('never uploaded') }),
      });
      // A new path inside a file, a bad new path, and a wrong size for a blob the parent holds: refused.
      for (const [path, entry, code] of [
        ['a/one/inside', file('one'), 'E_INVALID_PATH'],
        ['../up', file('one'), 'E_INVALID_PATH'],
        ['a/two', { ...file('one'), size: 99 }, 'E_SIZE_MISMATCH'],
      ] as const) {
        const r = await alice.post(`/v1/apps/${app.id}/revisions`, {
          parent: second.body.id,
          changes: { [path]: entry },
          digest: manifestDigest({ ...next, [path]: entry }),
        });
        expect(r.status, path).toBe(422);
        expect(r.body.error.code, path).toBe(code);
      }
      expect(missing.body.error).toMatchObject({
        code: 'E_MISSING_BLOBS',
        details: { missing: [sha256('never uploaded')] },
      });
      expect((await alice.get(`/v1/apps/${app.id}`)).body.head).toBe(second.body.id);
    });

    it('stores a long history as snapshots and small deltas, and reads every revision back as committed', async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'history' });
      const texts = Array.from({ length: 40 }, (_, i) => `history file ${i}`);
      for (const t of texts) await upload(alice, t);
      let files: Record<string, ReturnType<typeof file>> = {};
      for (let i = 0; i < 32; i++) files[`src/f${String(i).padStart(2, '0')}`] = file(texts[i] as string);
      const made: { id: string; files: typeof files }[] = [];
      let parent: string | null = null;
      // Deltas are taken against the last snapshot, so they add up: one change a revision stays a delta until the
      // sum passes an eighth of the files (4 of 32); six changes at once pass it alone.
      const steps = [1, 1, 1, 6, 1, 1, 1, 6, 1];
      for (const [n, count] of steps.entries()) {
        const changes: Record<string, ReturnType<typeof file> | null> = {};
        for (let k = 0; k < count; k++) {
          const path = `src/f${String((n * 7 + k * 5) % 32).padStart(2, '0')}`;
          changes[path] = k === 2 ? null : file(texts[32 + ((n + k) % 8)] as string, k === 1 ? 0o755 : 0o644);
        }
        if (count > 1) changes[`added/${n}`] = file(texts[n] as string);
        const next = { ...files };
        for (const [path, entry] of Object.entries(changes)) {
          if (entry) next[path] = entry;
          else delete next[path];
        }
        const body = parent === null ? { parent, files: next } : { parent, changes, digest: manifestDigest(next) };
        const r = await alice.post(`/v1/apps/${app.id}/revisions`, body);
        expect(r.status, `step ${n}`).toBe(201);
        expect(r.body.fileCount).toBe(Object.keys(next).length);
        made.push({ id: r.body.id, files: next });
        parent = r.body.id;
        files = next;
      }
      const { rows } = await h.store.sql.query<{ id: string; snapshot: string | null; manifest: string }>(
        'SELECT id, snapshot, manifest FROM revisions WHERE app_id = $1 ORDER BY seq',
        [app.id],
      );
      const kinds = rows.map((row) => (row.snapshot === null ? 'S' : 'd'));
      expect(kinds.join('')).toBe('SddSdddSd');
      for (const row of rows.filter((r) => r.snapshot !== null))
        expect((JSON.parse(row.manifest) as unknown[]).length).toBeLessThanOrEqual(4);
      const check = async () => {
        for (const m of made) {
          const got = await alice.get(`/v1/apps/${app.id}/revisions/${m.id}`);
          expect(got.body.files, m.id).toEqual(m.files);
          expect(Object.keys(got.body.files)).toEqual(Object.keys(m.files).sort());
        }
      };
      await check();
      // A fresh server process has no parsed snapshots in memory: the same answers from the database alone.
      await h.restart();
      await check();
      const last = made.at(-1) as (typeof made)[number];
      const more = { ...last.files, 'after/restart': file('history file 0') };
      const r = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: last.id,
        changes: { 'after/restart': file('history file 0') },
        digest: manifestDigest(more),
      });
      expect(r.status).toBe(201);
      expect((await alice.get(`/v1/apps/${app.id}/revisions/${r.body.id}`)).body.files).toEqual(more);
    });

    it('answers 409 when the head moved, and stores nothing', async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'moved' });
      await upload(alice, 'a');
      const first = await alice.post(`/v1/apps/${app.id}/revisions`, { parent: null, files: { a: file('a') } });
      const stale = await alice.post(`/v1/apps/${app.id}/revisions`, { parent: null, files: { b: file('a') } });
      expect(stale.status).toBe(409);
      expect(stale.body.error).toMatchObject({ code: 'E_HEAD_MOVED', details: { head: first.body.id } });
      expect(stale.body.error.hint).toMatch(/Pull/);
      expect((await alice.get(`/v1/apps/${app.id}/revisions`)).body.revisions).toHaveLength(1);
    });

    it('lets exactly one of 10 concurrent commits on one parent win', async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'race' });
      await upload(alice, 'base');
      const base = await alice.post(`/v1/apps/${app.id}/revisions`, { parent: null, files: { base: file('base') } });
      for (let i = 0; i < 10; i++) await upload(alice, `client ${i}`);
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          alice.post(`/v1/apps/${app.id}/revisions`, {
            parent: base.body.id,
            files: { base: file('base'), [`c${i}`]: file(`client ${i}`) },
          }),
        ),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([201, ...Array(9).fill(409)]);
      const winner = answers.find((a) => a.status === 201)?.body;
      const revisions = (await alice.get(`/v1/apps/${app.id}/revisions`)).body.revisions;
      expect(revisions.map((r: { id: string }) => r.id)).toEqual([winner.id, base.body.id]);
      expect((await alice.get(`/v1/apps/${app.id}`)).body.head).toBe(winner.id);
    });

    it('refuses bad paths with 422 E_INVALID_PATH and stores nothing', async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'paths' });
      await upload(alice, 'x');
      const bad = [
        '../etc/passwd',
        '/abs',
        'a/../b',
        'a\\b',
        'nul\u0000byte',
        'a//b',
        './a',
        'dir/',
        'x'.repeat(1100),
        `${'y'.repeat(300)}/z`,
      ];
      for (const path of bad) {
        const r = await alice.post(`/v1/apps/${app.id}/revisions`, { parent: null, files: { [path]: file('x') } });
        expect(r.status, path).toBe(422);
        expect(r.body.error.code).toBe('E_INVALID_PATH');
      }
      const dup = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: null,
        files: { 'README.md': file('x'), 'readme.md': file('x') },
      });
      expect(dup.status).toBe(422);
      expect(dup.body.error.message).toMatch(/only by case/);
      expect((await alice.get(`/v1/apps/${app.id}`)).body.head).toBeNull();
    });

    it('refuses a commit naming blobs that were not uploaded, or with a wrong size', async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'missing' });
      const r = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: null,
        files: { a: file('never uploaded') },
      });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({
        code: 'E_MISSING_BLOBS',
        details: { missing: [sha256('never uploaded')] },
      });
      await upload(alice, 'sized');
      const wrong = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: null,
        files: { a: { ...file('sized'), size: 99 } },
      });
      expect(wrong.status).toBe(422);
      expect(wrong.body.error.code).toBe('E_SIZE_MISMATCH');
      // A blob Bob uploaded does not count as Alice's.
      await upload(bob, 'bobs bytes');
      const other = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: null,
        files: { a: file('bobs bytes') },
      });
      expect(other.body.error?.code).toBe('E_MISSING_BLOBS');
    });

    it('deletes an app with its revisions, deployments and unreferenced blobs, keeping shared ones', async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'doomed' });
      await upload(alice, 'only in doomed');
      await upload(alice, 'also in a bucket');
      const rev = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: null,
        files: { a: file('only in doomed'), b: file('also in a bucket') },
      });
      const { body: bucket } = await alice.post('/v1/buckets', { name: 'keeper' });
      await alice.put(`/v1/buckets/${bucket.id}/objects/k`, { sha256: sha256('also in a bucket') });
      await alice.post(`/v1/apps/${app.id}/deployments`, {
        revision: rev.body.id,
        target: 'local',
        status: 'success',
      });
      expect(await h.blobs.has(sha256('only in doomed'))).toBe(true);
      const before = (await alice.get('/v1/usage')).body.user;
      expect((await alice.del(`/v1/apps/${app.id}`)).status).toBe(204);
      const after = (await alice.get('/v1/usage')).body.user;
      expect([after.blobs, after.bytesStored]).toEqual([
        before.blobs - 1,
        before.bytesStored - 'only in doomed'.length,
      ]);
      expect((await alice.get(`/v1/apps/${app.id}`)).status).toBe(404);
      expect(await h.blobs.has(sha256('only in doomed'))).toBe(false);
      expect((await alice.get(`/v1/blobs/${sha256('only in doomed')}`)).status).toBe(404);
      expect(await h.blobs.has(sha256('also in a bucket'))).toBe(true);
      const { rows } = await h.store.sql.query(
        'SELECT 1 FROM deployments WHERE app_id = $1 UNION ALL SELECT 1 FROM revisions WHERE app_id = $1',
        [app.id],
      );
      expect(rows).toHaveLength(0);
    });
  });

  describe('blobs', () => {
    it('stores a blob, answers which are missing and serves it back', async () => {
      const text = 'blob body';
      const put = await alice.put(`/v1/blobs/${sha256(text)}`, text);
      expect(put.status).toBe(201);
      expect(put.body).toEqual({ sha256: sha256(text), size: 9, created: true });
      expect((await alice.put(`/v1/blobs/${sha256(text)}`, text)).body.created).toBe(false);
      const got = await alice.get(`/v1/blobs/${sha256(text)}`);
      expect(got.status).toBe(200);
      expect(got.body).toBe(text);
      expect(got.headers.get('etag')).toBe(`"${sha256(text)}"`);
      const missing = await alice.post('/v1/blobs/missing', { hashes: [sha256(text), sha256('other')] });
      expect(missing.body.missing).toEqual([sha256('other')]);
      expect((await bob.get(`/v1/blobs/${sha256(text)}`)).status).toBe(404);
    });

    it('answers a 10,000-hash "which do you lack" in one request', async () => {
      const hashes = Array.from({ length: 10_000 }, (_, i) => sha256(`n${i}`));
      await upload(alice, 'n42');
      const r = await alice.post('/v1/blobs/missing', { hashes });
      expect(r.status).toBe(200);
      expect(r.body.missing).toHaveLength(9_999);
      expect(r.body.missing).not.toContain(sha256('n42'));
      const over = await alice.post('/v1/blobs/missing', { hashes: [...hashes, sha256('one more')] });
      expect(over.status).toBe(400);
    });

    it('rejects a hash mismatch with 422 and stores nothing', async () => {
      const r = await alice.put(`/v1/blobs/${sha256('claimed')}`, 'actual');
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({
        code: 'E_HASH_MISMATCH',
        details: { claimed: sha256('claimed'), actual: sha256('actual') },
      });
      expect(await h.blobs.has(sha256('actual'))).toBe(false);
      expect(await h.blobs.has(sha256('claimed'))).toBe(false);
      expect(
        (await alice.post('/v1/blobs/missing', { hashes: [sha256('actual'), sha256('claimed')] })).body.missing,
      ).toHaveLength(2);
    });

    it('answers 413 with the limit in the hint past the blob size limit', async () => {
      const small = client(
        () => h.withLimits({ blobBytes: 1024 }),
        (await owner.post('/v1/tokens', { user: 'alice' })).body.token,
      );
      const big = 'x'.repeat(1025);
      const r = await small.put(`/v1/blobs/${sha256(big)}`, big);
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe('E_BLOB_TOO_LARGE');
      expect(r.body.error.hint).toContain('1024 bytes');
      expect(await h.blobs.has(sha256(big))).toBe(false);
      const ok = 'x'.repeat(1024);
      expect((await small.put(`/v1/blobs/${sha256(ok)}`, ok)).status).toBe(201);
      // Without a Content-Length the limit is enforced while streaming.
      const streamed = await small.call('PUT', `/v1/blobs/${sha256(big)}`, undefined, {});
      expect(streamed.status).toBe(422); // an empty body hashes to something else
      const res = await h.withLimits({ blobBytes: 1024 }).request(`/v1/blobs/${sha256(big)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${h.ownerToken}` },
        body: new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(big));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
    });

    it('takes many blobs in one batch request', async () => {
      const texts = Array.from({ length: 300 }, (_, i) => `small file ${i}\n`.repeat(i % 7));
      const body = encodeBlobBatch(texts.map((t) => ({ sha256: sha256(t), data: Buffer.from(t) })));
      const r = await alice.post('/v1/blobs/batch', body, { 'content-type': 'application/vnd.reyna.blobs' });
      expect(r.status).toBe(200);
      expect(r.body.blobs).toHaveLength(300);
      expect((await alice.post('/v1/blobs/missing', { hashes: texts.map(sha256) })).body.missing).toEqual([]);
      expect((await alice.get(`/v1/blobs/${sha256(texts[55] as string)}`)).body).toBe(texts[55]);
    });

    it('stores nothing of a batch with one bad blob', async () => {
      const good = 'good batch member';
      const bad = encodeBlobBatch([
        { sha256: sha256(good), data: Buffer.from(good) },
        { sha256: sha256('claimed'), data: Buffer.from('other bytes') },
      ]);
      const r = await alice.post('/v1/blobs/batch', bad);
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('E_HASH_MISMATCH');
      expect(r.body.error.message).toMatch(/Blob 2/);
      expect(await h.blobs.has(sha256(good))).toBe(false);
      const truncated = encodeBlobBatch([{ sha256: sha256(good), data: Buffer.from(good) }]).subarray(0, 80);
      const t = await alice.post('/v1/blobs/batch', truncated);
      expect(t.status).toBe(400);
      expect(t.body.error.code).toBe('E_BAD_BATCH');
      expect((await alice.post('/v1/blobs/batch', 'not a header\n')).body.error.code).toBe('E_BAD_BATCH');
      expect(await h.blobs.has(sha256(good))).toBe(false);
    });

    it('lists your blobs in hash order, a page at a time, by prefix, and no one else’s', async () => {
      const dora = client(() => h.app, (await owner.post('/v1/tokens', { user: 'dora' })).body.token);
      const texts = ['d1', 'd2', 'd3', 'd4', 'd5 longer'];
      for (const t of texts) await upload(dora, t);
      const sorted = texts
        .map((t) => ({ sha256: sha256(t), size: Buffer.byteLength(t) }))
        .sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
      const seen: { sha256: string; size: number; createdAt: string }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r = await dora.get(`/v1/blobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(r.status).toBe(200);
        expect(r.body.blobs.length).toBeLessThanOrEqual(2);
        seen.push(...r.body.blobs);
        cursor = r.body.cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen.map(({ sha256, size }) => ({ sha256, size }))).toEqual(sorted);
      for (const b of seen) expect(Date.parse(b.createdAt)).not.toBeNaN();
      const all = await dora.get('/v1/blobs');
      expect(all.body).toMatchObject({ cursor: null });
      expect(all.body.blobs).toHaveLength(5);
      const first = sorted[0] as { sha256: string };
      const byPrefix = await dora.get(`/v1/blobs?prefix=${first.sha256.slice(0, 12)}`);
      expect(byPrefix.body.blobs.map((b: { sha256: string }) => b.sha256)).toEqual([first.sha256]);
      // Bob holds none of them: his list shows only what he uploaded.
      const bobs = await bob.get(`/v1/blobs?prefix=${first.sha256}`);
      expect(bobs.body.blobs).toEqual([]);
      for (const bad of ['limit=0', 'limit=1001', 'limit=x', 'cursor=nope', 'prefix=XYZ', 'sort=size']) {
        const r = await dora.get(`/v1/blobs?${bad}`);
        expect(r.status, bad).toBe(400);
        expect(r.body.error.code).toBe('E_BAD_REQUEST');
      }
      expect((await anon().get('/v1/blobs')).status).toBe(401);
    });
  });

  describe('bad input', () => {
    it('answers 413 to a JSON body over the limit, with or without Content-Length', async () => {
      const small = h.withLimits({ jsonBytes: 100 });
      const big = JSON.stringify({ hashes: Array(10).fill(sha256('x')) });
      const auth = { authorization: `Bearer ${h.ownerToken}` };
      const counted = await small.request('/v1/blobs/missing', { method: 'POST', headers: auth, body: big });
      expect(counted.status).toBe(413);
      const streamed = await small.request('/v1/blobs/missing', {
        method: 'POST',
        headers: auth,
        body: new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(big));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(((await streamed.json()) as { error: unknown }).error).toMatchObject({
        code: 'E_BODY_TOO_LARGE',
        details: { limit: 100 },
      });
      expect(
        (await small.request('/v1/blobs/missing', { method: 'POST', headers: auth, body: '{"hashes":[]}' })).status,
      ).toBe(200);
    });

    it('answers 400 E_BAD_JSON to malformed JSON, and stores nothing', async () => {
      const before = (await alice.get('/v1/apps')).body.apps;
      for (const body of ['{"name": ', '{"name": "half"', 'name=x', '']) {
        const r = await alice.post('/v1/apps', body, { 'content-type': 'application/json' });
        expect(r.status, body).toBe(400);
        expect(r.body.error.code, body).toBe('E_BAD_JSON');
      }
      const { body: bucket } = await alice.post('/v1/buckets', { name: 'json-batch' });
      const batch = await alice.post(`/v1/buckets/${bucket.id}/batch`, '{"ops": [', {
        'content-type': 'application/json',
      });
      expect([batch.status, batch.body.error.code]).toEqual([400, 'E_BAD_JSON']);
      expect((await alice.get('/v1/apps')).body.apps).toEqual(before);
      expect((await alice.get(`/v1/buckets/${bucket.id}/objects`)).body.objects).toEqual([]);
    });

    it('answers 400 to a 101-item bucket batch and applies none of it', async () => {
      const { body: bucket } = await alice.post('/v1/buckets', { name: 'big-batch' });
      await upload(alice, 'v');
      const ops = Array.from({ length: 101 }, (_, i) => ({ op: 'put', key: `k${i}`, sha256: sha256('v') }));
      const r = await alice.post(`/v1/buckets/${bucket.id}/batch`, { ops });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('E_BAD_REQUEST');
      expect(r.body.error.message).toMatch(/100/);
      expect((await alice.get(`/v1/buckets/${bucket.id}/objects`)).body.objects).toEqual([]);
      // 100 is allowed.
      expect((await alice.post(`/v1/buckets/${bucket.id}/batch`, { ops: ops.slice(0, 100) })).body).toEqual({
        applied: 100,
      });
    });

    it('answers 429 with Retry-After past the rate limit, and does not do the write', async () => {
      const limited = h.withLimits({ rateLimit: 3, rateWindowMs: 60_000 });
      const token = (await owner.post('/v1/tokens', { user: 'dave' })).body.token;
      const c = client(() => limited, token);
      for (let i = 0; i < 3; i++) expect((await c.get('/v1/whoami')).status).toBe(200);
      const r = await c.post('/v1/apps', { name: 'over-the-limit' });
      expect(r.status).toBe(429);
      expect(r.body.error.code).toBe('E_RATE_LIMITED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect((await client(() => h.app, token).get('/v1/apps')).body.apps).toEqual([]);
    });

    it('answers 429 E_QUOTA_EXCEEDED past the blob and bucket quotas, storing nothing', async () => {
      const tight = h.withLimits({ quotas: { blobs: 2, buckets: 1, bytes: 1000 } });
      const c = client(() => tight, (await owner.post('/v1/tokens', { user: 'erin' })).body.token);
      for (const t of ['q1', 'q2']) expect((await c.put(`/v1/blobs/${sha256(t)}`, t)).status).toBe(201);
      const third = await c.put(`/v1/blobs/${sha256('q3')}`, 'q3');
      expect(third.status).toBe(429);
      expect(third.body.error.code).toBe('E_QUOTA_EXCEEDED');
      expect(await h.blobs.has(sha256('q3'))).toBe(false);
      expect((await c.post('/v1/blobs/missing', { hashes: [sha256('q3')] })).body.missing).toEqual([sha256('q3')]);
      expect((await c.post('/v1/buckets', { name: 'one' })).status).toBe(201);
      const second = await c.post('/v1/buckets', { name: 'two' });
      expect(second.status).toBe(429);
      expect(second.body.error.code).toBe('E_QUOTA_EXCEEDED');
      expect((await c.get('/v1/buckets')).body.buckets.map((b: { name: string }) => b.name)).toEqual(['one']);
    });

    it('answers 429 E_QUOTA_EXCEEDED past the bytes quota, storing nothing', async () => {
      const tight = h.withLimits({ quotas: { blobs: 100, buckets: 10, bytes: 10 } });
      const c = client(() => tight, (await owner.post('/v1/tokens', { user: 'hank' })).body.token);
      expect((await c.put(`/v1/blobs/${sha256('six b1')}`, 'six b1')).status).toBe(201);
      const over = await c.put(`/v1/blobs/${sha256('six b2')}`, 'six b2');
      expect(over.status).toBe(429);
      expect(over.body.error.code).toBe('E_QUOTA_EXCEEDED');
      expect(over.body.error.message).toContain('10 bytes');
      expect(await h.blobs.has(sha256('six b2'))).toBe(false);
      expect((await c.get('/v1/usage')).body.user).toMatchObject({ blobs: 1, bytesStored: 6 });
      // The same bytes again are no new bytes: within the quota.
      expect((await c.put(`/v1/blobs/${sha256('six b1')}`, 'six b1')).status).toBe(200);
    });

    it('refuses a whole batch upload that would pass a quota, storing none of it', async () => {
      const tight = h.withLimits({ quotas: { blobs: 2, buckets: 10, bytes: 1000 } });
      const c = client(() => tight, (await owner.post('/v1/tokens', { user: 'ivy' })).body.token);
      const texts = ['batch q1', 'batch q2', 'batch q3'];
      const body = encodeBlobBatch(texts.map((t) => ({ sha256: sha256(t), data: Buffer.from(t) })));
      const r = await c.post('/v1/blobs/batch', body, { 'content-type': 'application/vnd.reyna.blobs' });
      expect(r.status).toBe(429);
      expect(r.body.error.code).toBe('E_QUOTA_EXCEEDED');
      for (const t of texts) expect(await h.blobs.has(sha256(t)), t).toBe(false);
      expect((await c.post('/v1/blobs/missing', { hashes: texts.map(sha256) })).body.missing).toHaveLength(3);
      expect((await c.get('/v1/usage')).body.user).toMatchObject({ blobs: 0, bytesStored: 0 });
      // Two fit.
      const two = encodeBlobBatch(texts.slice(0, 2).map((t) => ({ sha256: sha256(t), data: Buffer.from(t) })));
      expect((await c.post('/v1/blobs/batch', two, { 'content-type': 'application/vnd.reyna.blobs' })).status).toBe(
        200,
      );
    });

    it('answers unknown routes with the error shape', async () => {
      const r = await alice.get('/v1/nope');
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('E_NO_ROUTE');
    });
  });

  describe('buckets', () => {
    it('puts, gets, lists by prefix with pages, and deletes', async () => {
      const { body: bucket } = await alice.post('/v1/buckets', { name: 'photos' });
      for (const t of ['p1', 'p2', 'p3']) await upload(alice, t);
      const put = await alice.put(`/v1/buckets/${bucket.id}/objects/2024/a.jpg`, {
        sha256: sha256('p1'),
        contentType: 'image/jpeg',
        metadata: { camera: 'x' },
      });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({
        key: '2024/a.jpg',
        size: 2,
        contentType: 'image/jpeg',
        metadata: { camera: 'x' },
      });
      await alice.put(`/v1/buckets/${bucket.id}/objects/2024/b.jpg`, { sha256: sha256('p2') });
      await alice.put(`/v1/buckets/${bucket.id}/objects/2024/c.jpg`, { sha256: sha256('p3') });
      await alice.put(`/v1/buckets/${bucket.id}/objects/2025/d.jpg`, { sha256: sha256('p3') });
      const got = await alice.get(`/v1/buckets/${bucket.id}/objects/2024/a.jpg`);
      expect(got.body).toBe('p1');
      expect(got.headers.get('content-type')).toBe('image/jpeg');
      expect(JSON.parse(got.headers.get('x-reyna-metadata') ?? '{}')).toEqual({ camera: 'x' });
      const page1 = await alice.get(`/v1/buckets/${bucket.id}/objects?prefix=2024/&limit=2`);
      expect(page1.body.objects.map((o: { key: string }) => o.key)).toEqual(['2024/a.jpg', '2024/b.jpg']);
      const page2 = await alice.get(
        `/v1/buckets/${bucket.id}/objects?prefix=2024/&limit=2&cursor=${page1.body.cursor}`,
      );
      expect(page2.body).toMatchObject({ cursor: null });
      expect(page2.body.objects.map((o: { key: string }) => o.key)).toEqual(['2024/c.jpg']);
      expect((await alice.del(`/v1/buckets/${bucket.id}/objects/2024/b.jpg`)).status).toBe(204);
      expect((await alice.get(`/v1/buckets/${bucket.id}/objects/2024/b.jpg`)).status).toBe(404);
      const unuploaded = await alice.put(`/v1/buckets/${bucket.id}/objects/x`, { sha256: sha256('nope') });
      expect(unuploaded.status).toBe(422);
    });

    it('applies a batch of put, move and delete atomically', async () => {
      const { body: bucket } = await alice.post('/v1/buckets', { name: 'batchy' });
      await upload(alice, 'b1');
      const ok = await alice.post(`/v1/buckets/${bucket.id}/batch`, {
        ops: [
          { op: 'put', key: 'a', sha256: sha256('b1') },
          { op: 'put', key: 'b', sha256: sha256('b1'), contentType: 'text/plain' },
          { op: 'move', from: 'a', to: 'c' },
          { op: 'delete', key: 'b' },
        ],
      });
      expect(ok.body).toEqual({ applied: 4 });
      const keys = async () =>
        (await alice.get(`/v1/buckets/${bucket.id}/objects`)).body.objects.map((o: { key: string }) => o.key);
      expect(await keys()).toEqual(['c']);
      const failing = await alice.post(`/v1/buckets/${bucket.id}/batch`, {
        ops: [
          { op: 'put', key: 'd', sha256: sha256('b1') },
          { op: 'delete', key: 'no-such-key' },
        ],
      });
      expect(failing.status).toBe(404);
      expect(await keys()).toEqual(['c']);
    });

    it("shares read or write with named users, and hides others' buckets", async () => {
      const { body: bucket } = await alice.post('/v1/buckets', { name: 'team' });
      await upload(alice, 'shared bytes');
      await alice.put(`/v1/buckets/${bucket.id}/objects/doc`, { sha256: sha256('shared bytes') });
      expect((await bob.get(`/v1/buckets/${bucket.id}`)).status).toBe(404);
      expect((await bob.get(`/v1/buckets/${bucket.id}/objects/doc`)).status).toBe(404);
      expect((await bob.put(`/v1/buckets/${bucket.id}/shares/bob`, { access: 'read' })).status).toBe(404);
      const shared = await alice.put(`/v1/buckets/${bucket.id}/shares/bob`, { access: 'read' });
      expect(shared.body.shares).toEqual([{ user: 'bob', access: 'read' }]);
      expect((await bob.get(`/v1/buckets/${bucket.id}/objects/doc`)).body).toBe('shared bytes');
      expect((await bob.get(`/v1/blobs/${sha256('shared bytes')}`)).status).toBe(200);
      expect((await bob.get('/v1/buckets')).body.buckets.map((b: { access: string }) => b.access)).toEqual(['read']);
      await upload(bob, 'from bob');
      const denied = await bob.put(`/v1/buckets/${bucket.id}/objects/b`, { sha256: sha256('from bob') });
      expect(denied.status).toBe(403);
      await alice.put(`/v1/buckets/${bucket.id}/shares/bob`, { access: 'write' });
      expect((await bob.put(`/v1/buckets/${bucket.id}/objects/b`, { sha256: sha256('from bob') })).status).toBe(200);
      expect((await bob.del(`/v1/buckets/${bucket.id}`)).status).toBe(403);
      expect((await alice.del(`/v1/buckets/${bucket.id}/shares/bob`)).body.shares).toEqual([]);
      expect((await bob.get(`/v1/buckets/${bucket.id}`)).status).toBe(404);
    });

    it('serves public read-only links until revoked', async () => {
      const { body: bucket } = await alice.post('/v1/buckets', { name: 'public' });
      await upload(alice, '<h1>hi</h1>');
      await alice.put(`/v1/buckets/${bucket.id}/objects/index.html`, {
        sha256: sha256('<h1>hi</h1>'),
        contentType: 'text/html',
      });
      const link = await alice.post(`/v1/buckets/${bucket.id}/links`);
      expect(link.status).toBe(201);
      const pub = await anon().get(`${link.body.path}/index.html`);
      expect(pub.status).toBe(200);
      expect(pub.body).toBe('<h1>hi</h1>');
      expect((await anon().get(link.body.path)).body.objects).toHaveLength(1);
      expect((await anon().put(`${link.body.path}/index.html`, { sha256: sha256('x') })).status).toBe(404);
      expect((await bob.del(`/v1/buckets/${bucket.id}/links/${link.body.id}`)).status).toBe(404);
      expect((await alice.del(`/v1/buckets/${bucket.id}/links/${link.body.id}`)).body.revokedAt).not.toBeNull();
      expect((await anon().get(`${link.body.path}/index.html`)).status).toBe(404);
    });

    it('exports a bucket as JSON, with base64 data on request', async () => {
      const { body: bucket } = await alice.post('/v1/buckets', { name: 'export' });
      await upload(alice, 'exported');
      await alice.put(`/v1/buckets/${bucket.id}/objects/e`, { sha256: sha256('exported'), metadata: { a: '1' } });
      const plain = await alice.get(`/v1/buckets/${bucket.id}/export`);
      expect(plain.body.bucket.name).toBe('export');
      expect(plain.body.objects).toMatchObject([{ key: 'e', sha256: sha256('exported'), metadata: { a: '1' } }]);
      expect(plain.body.objects[0].data).toBeUndefined();
      const full = await alice.get(`/v1/buckets/${bucket.id}/export?include=data`);
      expect(Buffer.from(full.body.objects[0].data, 'base64').toString()).toBe('exported');
    });
  });

  describe('records, usage and service routes', () => {
    it('records deployments and builds and sums them in /v1/usage', async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'usage' });
      await upload(alice, 'u');
      const rev = await alice.post(`/v1/apps/${app.id}/revisions`, { parent: null, files: { u: file('u') } });
      const dep = await alice.post(`/v1/apps/${app.id}/deployments`, {
        revision: rev.body.id,
        target: 'local',
        versionId: 'v1',
        url: 'http://usage.localhost:8787/',
        status: 'success',
        bytesUploaded: 1234,
        durationMs: 500,
      });
      expect(dep.status).toBe(201);
      expect(dep.body).toMatchObject({
        revision: rev.body.id,
        target: 'local',
        createdBy: expect.stringMatching(/^usr-/),
      });
      expect(
        (
          await alice.post(`/v1/apps/${app.id}/deployments`, {
            revision: 'rev-nope',
            target: 'local',
            status: 'success',
          })
        ).status,
      ).toBe(404);
      await alice.post(`/v1/apps/${app.id}/builds`, {
        revision: rev.body.id,
        status: 'success',
        durationMs: 2500,
        sizes: { worker: 10 },
      });
      expect((await alice.get(`/v1/apps/${app.id}/deployments`)).body.deployments).toHaveLength(1);
      expect((await alice.get(`/v1/apps/${app.id}/builds`)).body.builds[0]).toMatchObject({
        durationMs: 2500,
        sizes: { worker: 10 },
      });
      // Bob asking about Alice's app is refused, and not counted as the app's.
      expect((await bob.get(`/v1/apps/${app.id}/builds`)).status).toBe(404);
      const usage = await alice.get('/v1/usage');
      expect(usage.body.user.name).toBe('alice');
      expect(usage.body.user.requests).toBeGreaterThanOrEqual(9);
      expect(usage.body.user.quota).toEqual({ blobs: 10_000, buckets: 1_000, bytes: 10_000_000_000 });
      expect(usage.body.apps.find((a: { name: string }) => a.name === 'usage')).toEqual({
        appId: app.id,
        name: 'usage',
        revisions: 1,
        blobs: 1,
        bytesReferenced: 1,
        builds: 1,
        buildSeconds: 2.5,
        deployments: 1,
        bytesDeployed: 1234,
        // revision, deployment, build, and the two lists; the refused deployment (no such revision) does not count.
        requests: 5,
        edgeRequests: 0,
      });
    });

    it('serves /healthz, /metrics and an OpenAPI document built from the schemas', async () => {
      const health = await anon().get('/healthz');
      expect(health.body).toMatchObject({ ok: true, store: kind });
      const metrics = await anon().get('/metrics');
      expect(metrics.body).toMatch(/^reyna_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+$/m);
      expect(metrics.body).toMatch(/^reyna_bytes_stored [1-9]\d*$/m);
      expect(metrics.body).toMatch(/^reyna_blob_uploads_total [1-9]\d*$/m);
      expect(metrics.body).toMatch(
        /reyna_http_request_duration_seconds_bucket\{method="GET",route="\/healthz",le="\+Inf"\} \d+/,
      );
      const doc = await anon().get('/v1/openapi.json');
      expect(doc.body.openapi).toBe('3.1.0');
      const commit = doc.body.paths['/v1/apps/{appId}/revisions'].post;
      const commitBody = commit.requestBody.content['application/json'].schema;
      expect(commitBody.required).toEqual(['parent']);
      expect(Object.keys(commitBody.properties)).toEqual(['parent', 'files', 'changes', 'digest', 'message']);
      expect(commit.responses['409'].description).toMatch(/E_HEAD_MOVED/);
      const usage = doc.body.paths['/v1/usage'].get.responses['200'].content['application/json'].schema.$defs.Usage;
      expect(Object.keys(usage.properties.user.properties)).toEqual(
        expect.arrayContaining(['blobs', 'bytesStored', 'builds', 'buildSeconds', 'deployments', 'requests']),
      );
      expect(usage.properties.apps.items.properties.edgeRequests.description).toMatch(/local edge/);
      expect(Object.keys(doc.body.paths)).toEqual(
        expect.arrayContaining(['/v1/blobs/missing', '/v1/blobs/batch', '/v1/buckets/{bucketId}/export', '/v1/usage']),
      );
      const list = doc.body.paths['/v1/blobs'].get;
      expect(list.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
        'query:prefix',
        'query:cursor',
        'query:limit',
      ]);
      expect(list.responses['200'].content['application/json'].schema.properties.cursor).toBeDefined();
    });

    it('keeps every committed revision and blob across a restart', async () => {
      const { body: app } = await alice.post('/v1/apps', { name: 'durable' });
      await upload(alice, 'durable bytes');
      const rev = await alice.post(`/v1/apps/${app.id}/revisions`, {
        parent: null,
        files: { d: file('durable bytes') },
      });
      await h.restart();
      expect((await alice.get(`/v1/apps/${app.id}`)).body.head).toBe(rev.body.id);
      expect((await alice.get(`/v1/apps/${app.id}/revisions/${rev.body.id}`)).body.files).toEqual({
        d: file('durable bytes'),
      });
      expect((await alice.get(`/v1/blobs/${sha256('durable bytes')}`)).body).toBe('durable bytes');
      expect(await h.store.migrate()).toEqual([]);
    });

    it('applies, at start, exactly the migrations a store lacks', async () => {
      // A store from before migration 2, as an older server left it.
      await h.store.sql.query('DROP TABLE app_requests');
      await h.store.sql.query('DELETE FROM reyna_migrations WHERE version = 2');
      expect(await h.restart()).toEqual([2]);
      expect((await h.store.sql.query('SELECT version FROM reyna_migrations ORDER BY version')).rows).toEqual([
        { version: 1 },
        { version: 2 },
        { version: 3 },
      ]);
      expect(await h.store.migrate()).toEqual([]);
      expect((await alice.get('/v1/usage')).status).toBe(200);
    });

    it('sums usage per user over all their apps, and counts requests per app', async () => {
      const c = client(() => h.app, (await owner.post('/v1/tokens', { user: 'frank' })).body.token);
      const before = (await c.get('/v1/usage')).body.user;
      expect(before).toMatchObject({ apps: 0, builds: 0, buildSeconds: 0, deployments: 0, blobs: 0, bytesStored: 0 });
      const ids: string[] = [];
      for (const name of ['one', 'two']) {
        const { body: app } = await c.post('/v1/apps', { name });
        ids.push(app.id);
        await upload(c, `${name} a`);
        await upload(c, 'shared');
        await c.post(`/v1/apps/${app.id}/revisions`, {
          parent: null,
          files: { a: file(`${name} a`), b: file('shared'), c: file('shared') },
        });
        await c.post(`/v1/apps/${app.id}/builds`, { status: 'success', durationMs: 1500 });
        await c.post(`/v1/apps/${app.id}/builds`, { status: 'failure', durationMs: 250 });
        await c.post(`/v1/apps/${app.id}/deployments`, { target: 'local', status: 'success' });
      }
      for (let i = 0; i < 3; i++) await c.get(`/v1/apps/${ids[1]}`);
      const usage = (await c.get('/v1/usage')).body;
      expect(usage.user).toMatchObject({
        apps: 2,
        builds: 4,
        buildSeconds: 3.5,
        deployments: 2,
        blobs: 3,
        bytesStored: 'one a'.length + 'two a'.length + 'shared'.length,
        buckets: 0,
      });
      // 2 × (app, 2 uploads, commit, 2 builds, deployment), 3 gets, the two /v1/usage calls.
      expect(usage.user.requests).toBe(2 * 7 + 3 + 2);
      expect(
        usage.apps.map((a: { name: string; blobs: number; requests: number }) => [a.name, a.blobs, a.requests]),
      ).toEqual([
        ['one', 2, 4],
        ['two', 2, 7],
      ]);
      // Counts survive a restart: they are in the store, not in the process.
      await h.restart();
      expect((await c.get('/v1/usage')).body.apps[1].requests).toBe(7);
    });
  });
});
