// Events: a commit, an upload, a bucket change and a deployment each publish, in-process and on the machine's NATS,
// and reach as Server-Sent Events the users who may see them: an app's owner; a bucket's owner and sharers.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../src/adapters/events-memory.js';
import { NatsEventBus } from '../src/adapters/events-nats.js';
import type { EventBus, ServerEvent } from '../src/event-bus.js';
import { subjectMatches } from '../src/event-bus.js';
import { createServer, type ReynaServer } from '../src/server.js';
import { client, type Harness, hasNats, makeHarness, NATS_TITLE, NATS_URL, sha256 } from './_harness.js';

// A prefix of its own keeps this run apart from anything else on the same NATS.
const prefix = `reyna-test-${process.pid}-${Date.now()}.`;
const buses: { name: string; title: string; skip: boolean; makeBus: () => Promise<EventBus> }[] = [
  { name: 'memory', title: 'memory', skip: false, makeBus: async () => new MemoryEventBus() },
  { name: 'nats', title: NATS_TITLE, skip: !hasNats, makeBus: () => NatsEventBus.connect(NATS_URL, prefix) },
];

it('matches subjects the NATS way', () => {
  expect(subjectMatches('app.revision.created.*', 'app.revision.created.app-1')).toBe(true);
  expect(subjectMatches('app.>', 'app.revision.created.app-1')).toBe(true);
  expect(subjectMatches('app.*', 'app.revision.created')).toBe(false);
  expect(subjectMatches('>', 'x')).toBe(true);
  expect(subjectMatches('blob.created.u', 'blob.created.u.extra')).toBe(false);
});

describe.each(buses.map((b) => [b.title, b] as const))('events on %s', (_title, { name, skip, makeBus }) => {
  let h: Harness;
  let observer: EventBus;
  /** Another server on the same store, listening through `observer`. */
  let second: ReynaServer;
  // A bus missing here: every test shows as skipped (the title says why), and nothing tries to reach it.
  beforeEach((ctx) => {
    if (skip) ctx.skip();
  });
  beforeAll(async () => {
    if (skip) return;
    const bus = await makeBus();
    h = await makeHarness('pglite', bus);
    observer = name === 'nats' ? await makeBus() : bus;
    second = createServer({ store: h.store, blobs: h.blobs, events: observer });
  }, 60_000);
  afterAll(async () => {
    await second?.shutdown();
    if (observer !== h?.events) await observer?.close();
    await h?.close();
  });

  it('publishes one event per change, with the subjects the docs name', async () => {
    const seen: ServerEvent[] = [];
    // On NATS a second connection listens, as another server process would.
    const stop = await observer.subscribe('>', (e) => seen.push(e));
    const api = client(() => h.app, h.ownerToken);
    const { body: app } = await api.post('/v1/apps', { name: 'evented' });
    await api.put(`/v1/blobs/${sha256('e')}`, 'e');
    const rev = await api.post(`/v1/apps/${app.id}/revisions`, {
      parent: null,
      files: { e: { sha256: sha256('e'), size: 1, mode: 0o644 } },
    });
    const { body: bucket } = await api.post('/v1/buckets', { name: 'ev' });
    await api.put(`/v1/buckets/${bucket.id}/objects/k`, { sha256: sha256('e') });
    await api.post(`/v1/apps/${app.id}/deployments`, { target: 'local', status: 'success' });
    expect((await api.del(`/v1/apps/${app.id}`)).status).toBe(204);
    const who = (await api.get('/v1/whoami')).body.user.id;
    const want = [
      `blob.created.${who}`,
      `app.revision.created.${app.id}`,
      `bucket.changed.${bucket.id}`,
      `deployment.created.${app.id}`,
      `app.deleted.${app.id}`,
    ];
    for (let i = 0; i < 100 && seen.length < want.length; i++) await new Promise((r) => setTimeout(r, 20));
    stop();
    expect(seen.map((e) => e.subject)).toEqual(want);
    expect(seen[1]?.data).toMatchObject({ appId: app.id, revision: rev.body.id, parent: null });
    expect(seen[4]?.data).toMatchObject({ appId: app.id });
  });

  it('streams the owner’s events, and only theirs, as Server-Sent Events', async () => {
    const owner = client(() => h.app, h.ownerToken);
    const other = client(() => h.app, (await owner.post('/v1/tokens', { user: 'other' })).body.token);
    const stream = await openStream(h.app, h.ownerToken, 'app.>');
    expect(stream.contentType).toMatch(/text\/event-stream/);
    const { body: theirs } = await other.post('/v1/apps', { name: 'theirs' });
    await other.post(`/v1/apps/${theirs.id}/revisions`, { parent: null, files: {} });
    const { body: mine } = await owner.post('/v1/apps', { name: 'mine' });
    await owner.post(`/v1/apps/${mine.id}/revisions`, { parent: null, files: {} });
    await stream.readUntil(`app.revision.created.${mine.id}`);
    await stream.close();
    expect(stream.text()).toContain(`event: app.revision.created.${mine.id}`);
    expect(stream.text()).not.toContain(theirs.id);
  });

  it('streams a bucket’s changes to its owner and every sharer, whoever made them, and to nobody else', async () => {
    const owner = client(() => h.app, h.ownerToken);
    const tokens: Record<string, string> = {};
    for (const name of ['alice', 'bob', 'carol', 'dave'])
      tokens[name] = (await owner.post('/v1/tokens', { user: name })).body.token;
    const as = (name: string) => client(() => h.app, tokens[name]);
    const ids: Record<string, string> = {};
    for (const name of Object.keys(tokens)) ids[name] = (await as(name).get('/v1/whoami')).body.user.id;
    const { body: bucket } = await as('alice').post('/v1/buckets', { name: 'team' });
    expect((await as('alice').put(`/v1/buckets/${bucket.id}/shares/bob`, { access: 'write' })).status).toBe(200);
    expect((await as('alice').put(`/v1/buckets/${bucket.id}/shares/carol`, { access: 'read' })).status).toBe(200);
    const { body: daves } = await as('dave').post('/v1/buckets', { name: 'own' });
    await as('bob').put(`/v1/blobs/${sha256('from bob')}`, 'from bob');
    await as('dave').put(`/v1/blobs/${sha256('from dave')}`, 'from dave');
    // The streams are served by a second server: on NATS, another process that did not make the change.
    const streams = Object.fromEntries(
      await Promise.all(
        Object.keys(tokens).map(async (name) => [name, await openStream(second, tokens[name] as string, 'bucket.>')]),
      ),
    ) as Record<string, Stream>;

    expect((await as('bob').put(`/v1/buckets/${bucket.id}/objects/k`, { sha256: sha256('from bob') })).status).toBe(
      200,
    );
    expect((await as('bob').del(`/v1/buckets/${bucket.id}/objects/k`)).status).toBe(204);
    // Dave's own change comes after: once his stream has it, it would have had Alice's bucket's too.
    expect((await as('dave').put(`/v1/buckets/${daves.id}/objects/d`, { sha256: sha256('from dave') })).status).toBe(
      200,
    );
    for (const name of ['alice', 'bob', 'carol']) {
      const s = streams[name] as Stream;
      await s.readUntil('"deleted":true');
      const got = s.events().filter((e) => e.subject === `bucket.changed.${bucket.id}`);
      expect(
        got.map((e) => e.data),
        name,
      ).toEqual([
        { ownerId: ids.alice, by: ids.bob, bucketId: bucket.id, key: 'k', sha256: sha256('from bob') },
        { ownerId: ids.alice, by: ids.bob, bucketId: bucket.id, key: 'k', deleted: true },
      ]);
    }
    await (streams.dave as Stream).readUntil(`bucket.changed.${daves.id}`);
    for (const s of Object.values(streams)) await s.close();
    expect((streams.dave as Stream).events().map((e) => e.subject)).toEqual([`bucket.changed.${daves.id}`]);
    for (const name of ['alice', 'bob', 'carol']) expect((streams[name] as Stream).text()).not.toContain(daves.id);
  });
});

interface Stream {
  contentType: string | null;
  readUntil(needle: string): Promise<void>;
  text(): string;
  /** The events read so far, parsed. */
  events(): ServerEvent[];
  close(): Promise<void>;
}

/** Opens `GET /v1/events` and returns once the server said it is ready. */
async function openStream(app: Harness['app'], token: string, subject: string): Promise<Stream> {
  const controller = new AbortController();
  const res = await app.request(`/v1/events?subject=${encodeURIComponent(subject)}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let pending: ReturnType<typeof reader.read> | undefined;
  const readUntil = async (needle: string) => {
    const deadline = Date.now() + 5000;
    while (!text.includes(needle) && Date.now() < deadline) {
      pending ??= reader.read();
      const timeout = new Promise<'late'>((r) => setTimeout(() => r('late'), deadline - Date.now()).unref());
      const got = await Promise.race([pending, timeout]);
      if (got === 'late') break;
      pending = undefined;
      if (got.done) break;
      text += decoder.decode(got.value, { stream: true });
    }
  };
  await readUntil('event: ready');
  return {
    contentType: res.headers.get('content-type'),
    readUntil,
    text: () => text,
    events: () =>
      text
        .split('\n')
        .filter((l) => l.startsWith('data: {"subject"'))
        .map((l) => JSON.parse(l.slice(6)) as ServerEvent),
    async close() {
      controller.abort();
      await reader.cancel().catch(() => {});
    },
  };
}
