// core's FollowedHeads (where the sync daemon's `status` learns an app's head) against the server in this process:
// what it answers without asking, and each case where it must ask again.
import { Api, FollowedHeads } from '@reyna/core/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, makeHarness } from './_harness.js';

const server = 'http://studio.test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean | Promise<boolean>) {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('FollowedHeads', () => {
  let h: Harness;
  /** GET /v1/apps/:id requests that reached the server. */
  let asked = 0;
  /** Held answers of GET /v1/apps/:id: each waits for this before it is returned. */
  let hold: Promise<void> | undefined;
  /** Breaks each event stream open now. */
  const breaks: (() => void)[] = [];
  /** Subjects that went through the followed streams. */
  const streamed: string[] = [];
  /** Requests for an event stream. */
  let streamsAsked = 0;

  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const path = String(input).replace(server, '');
    const res = await h.app.request(path, init);
    if (/^\/v1\/apps\/[^/]+$/.test(path) && (init?.method ?? 'GET') === 'GET') {
      asked++;
      await hold;
    }
    if (path.startsWith('/v1/events')) streamsAsked++;
    if (!path.startsWith('/v1/events') || !res.body || res.status !== 200) return res;
    const cut = new AbortController();
    breaks.push(() => cut.abort());
    const seen = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        for (const m of new TextDecoder().decode(chunk).matchAll(/^event: (.+)$/gm)) streamed.push(m[1] as string);
        controller.enqueue(chunk);
      },
    });
    res.body.pipeTo(seen.writable, { signal: cut.signal }).catch(() => {});
    return new Response(seen.readable, { status: res.status, headers: res.headers });
  }) as typeof globalThis.fetch;

  let api: Api;
  let heads: FollowedHeads;
  let now = 0;
  /** An app of its own for each test, followed with its stream open. */
  const followedApp = async (name: string) => {
    const app = await api.createApp(name);
    expect(await heads.head(api, app.id)).toBeNull();
    await until('the stream to open', () => heads.streams().open === 1);
    return app;
  };
  /** Waits until `subject` went through the followed stream, and a moment for it to be read. */
  const told = async (subject: string) => {
    await until(subject, () => streamed.includes(subject));
    await sleep(20);
  };

  beforeAll(async () => {
    h = await makeHarness('pglite');
    api = new Api({ server, token: h.ownerToken, fetch });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    heads?.close();
    hold = undefined;
  });
  const fresh = () => {
    now = 0;
    heads = new FollowedHeads({ now: () => now, maxAgeMs: 10_000 });
  };

  it('asks while its stream opens, then answers from the stream while it tells of no other revision', async () => {
    fresh();
    const app = await followedApp('heads-quiet');
    const before = asked;
    expect(await heads.head(api, app.id)).toBeNull();
    expect(asked).toBe(before + 1);
    expect(await heads.head(api, app.id)).toBeNull();
    expect(await heads.head(api, app.id)).toBeNull();
    expect(asked).toBe(before + 1);
  });

  it('asks again once the stream tells of a revision made elsewhere, and knows one of its own commits', async () => {
    fresh();
    const app = await followedApp('heads-moved');
    expect(await heads.head(api, app.id)).toBeNull();
    const elsewhere = await api.commit(app.id, { parent: null, files: {} });
    await told(`app.revision.created.${app.id}`);
    const before = asked;
    expect(await heads.head(api, app.id)).toBe(elsewhere.id);
    expect(asked).toBe(before + 1);
    expect(await heads.head(api, app.id)).toBe(elsewhere.id);
    expect(asked).toBe(before + 1);

    // Its own commit: the event that follows names the revision it knows, and it asks nothing.
    streamed.length = 0;
    const mine = await heads.committed(api, app.id, () => api.commit(app.id, { parent: elsewhere.id, files: {} }));
    await told(`app.revision.created.${app.id}`);
    expect(await heads.head(api, app.id)).toBe(mine.id);
    expect(asked).toBe(before + 1);
  });

  it('forgets a deleted app: the next head is the server’s answer, an error', async () => {
    fresh();
    const app = await followedApp('heads-deleted');
    expect(await heads.head(api, app.id)).toBeNull();
    await api.deleteApp(app.id);
    await told(`app.deleted.${app.id}`);
    await expect(heads.head(api, app.id)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('asks again when what it knows is older than maxAgeMs', async () => {
    fresh();
    const app = await followedApp('heads-aged');
    expect(await heads.head(api, app.id)).toBeNull();
    const before = asked;
    now = 10_000;
    expect(await heads.head(api, app.id)).toBeNull();
    expect(asked).toBe(before);
    now = 10_001;
    expect(await heads.head(api, app.id)).toBeNull();
    expect(asked).toBe(before + 1);
  });

  it('does not learn an answer when the stream told of another revision while it travelled', async () => {
    fresh();
    const app = await followedApp('heads-raced');
    // The server answers "no revision"; before that answer arrives, a revision is made and its event comes.
    let release = () => {};
    hold = new Promise((r) => {
      release = r;
    });
    const start = asked;
    const answering = heads.head(api, app.id);
    await until('the request', () => asked > start);
    const revision = await api.commit(app.id, { parent: null, files: {} });
    await told(`app.revision.created.${app.id}`);
    release();
    hold = undefined;
    expect(await answering).toBeNull();
    const before = asked;
    expect(await heads.head(api, app.id)).toBe(revision.id);
    expect(asked).toBe(before + 1);
  });

  it('forgets everything when its stream breaks, and asks until it is open again', async () => {
    fresh();
    const app = await followedApp('heads-broken');
    expect(await heads.head(api, app.id)).toBeNull();
    for (const cut of breaks.splice(0)) cut();
    await until('the stream to break', () => heads.streams().open === 0);
    let before = asked;
    expect(await heads.head(api, app.id)).toBeNull();
    expect(asked).toBe(before + 1);
    await until('the stream to open again', () => heads.streams().open === 1);
    expect(await heads.head(api, app.id)).toBeNull();
    expect(await heads.head(api, app.id)).toBeNull();
    expect(asked).toBe(before + 2);

    // Broken and open again before anyone asked: what it knew from before is not answered.
    for (const cut of breaks.splice(0)) cut();
    await until('the stream to break', () => heads.streams().open === 0);
    await until('the stream to open again', () => heads.streams().open === 1);
    before = asked;
    expect(await heads.head(api, app.id)).toBeNull();
    expect(asked).toBe(before + 1);
  });

  it('follows one stream per server and token', async () => {
    fresh();
    const app = await followedApp('heads-tokens');
    const other = (await h.app
      .request('/v1/tokens', {
        method: 'POST',
        headers: { authorization: `Bearer ${h.ownerToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'heads-other' }),
      })
      .then((r) => r.json())) as { token: string };
    const theirs = new Api({ server, token: other.token, fetch });
    await expect(heads.head(theirs, app.id)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    expect(heads.streams().followed).toBe(2);
    await until('both streams to open', () => heads.streams().open === 2);
    // Theirs knows nothing of the owner's app: it asks, and is refused, each time.
    await expect(heads.head(theirs, app.id)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    const before = asked;
    await expect(heads.head(theirs, app.id)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    expect(asked).toBe(before + 1);
    heads.close();
    expect(heads.streams()).toEqual({ followed: 0, open: 0 });
  });

  it('closes a stream nobody used for idleMs', async () => {
    heads = new FollowedHeads({ idleMs: 300 });
    const app = await api.createApp('heads-idle');
    await heads.head(api, app.id);
    await until('the stream to open', () => heads.streams().open === 1);
    // Each use keeps it open longer.
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      await heads.head(api, app.id);
    }
    expect(heads.streams().followed).toBe(1);
    await until('the stream to close', () => heads.streams().followed === 0);
  });

  it('asks for a stream the server refused again only a minute later', async () => {
    fresh();
    const app = await api.createApp('heads-refused');
    const wrong = new Api({ server, token: 'reyna_not-a-token', fetch });
    const before = streamsAsked;
    await expect(heads.head(wrong, app.id)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await until('the stream to be refused', () => streamsAsked === before + 1 && heads.streams().followed === 0);
    await sleep(20);
    for (let i = 0; i < 3; i++)
      await expect(heads.head(wrong, app.id)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    expect(streamsAsked).toBe(before + 1);
    now = 60_000;
    await expect(heads.head(wrong, app.id)).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await until('the stream to be asked for again', () => streamsAsked === before + 2);
  });
});
