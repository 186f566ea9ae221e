// Blob bytes against garbage collection: bytes deleted between "is it there?" and the record must be written again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/server.js';
import { client, type Harness, makeHarness, sha256 } from './_harness.js';

describe('blob uploads racing a collection', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await makeHarness('pglite');
  }, 60_000);
  afterAll(async () => h?.close());

  it('stores the bytes again when they vanish after the server saw them', async () => {
    const text = 'bytes a collector takes away';
    const owner = client(() => h.app, h.ownerToken);
    expect((await owner.put(`/v1/blobs/${sha256(text)}`, text)).status).toBe(201);
    // Another user's upload sees the file, then (as a concurrent app delete would) the file goes.
    const racing = {
      ...h.blobs,
      stage: h.blobs.stage.bind(h.blobs),
      get: h.blobs.get.bind(h.blobs),
      delete: h.blobs.delete.bind(h.blobs),
      has: async (sha: string) => {
        const there = await h.blobs.has(sha);
        if (there) await h.blobs.delete(sha);
        return there;
      },
    };
    const app = createServer({ store: h.store, blobs: racing, events: h.events });
    const token = (await owner.post('/v1/tokens', { user: 'racer' })).body.token;
    const racer = client(() => app, token);
    const put = await racer.put(`/v1/blobs/${sha256(text)}`, text);
    expect(put.status).toBe(201);
    expect(await h.blobs.has(sha256(text))).toBe(true);
    expect((await racer.get(`/v1/blobs/${sha256(text)}`)).body).toBe(text);
    await app.shutdown();
  });

  it('stores bytes again after the last reference to them was deleted', async () => {
    const owner = client(() => h.app, h.ownerToken);
    const text = 'collected then uploaded again';
    await owner.put(`/v1/blobs/${sha256(text)}`, text);
    const { body: app } = await owner.post('/v1/apps', { name: 'gc' });
    await owner.post(`/v1/apps/${app.id}/revisions`, {
      parent: null,
      files: { f: { sha256: sha256(text), size: text.length, mode: 0o644 } },
    });
    await owner.del(`/v1/apps/${app.id}`);
    expect(await h.blobs.has(sha256(text))).toBe(false);
    expect((await owner.post('/v1/blobs/missing', { hashes: [sha256(text)] })).body.missing).toEqual([sha256(text)]);
    expect((await owner.put(`/v1/blobs/${sha256(text)}`, text)).body.created).toBe(true);
    expect((await owner.get(`/v1/blobs/${sha256(text)}`)).body).toBe(text);
  });
});
