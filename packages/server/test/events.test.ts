// Events: a commit, an upload, a bucket change and a deployment each publish, in-process and on the machine's NATS,
// and reach the owner (only) as Server-Sent Events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../src/adapters/events-memory.js';
import { NatsEventBus } from '../src/adapters/events-nats.js';
import type { EventBus, ServerEvent } from '../src/event-bus.js';
import { subjectMatches } from '../src/event-bus.js';
import { client, type Harness, hasNats, makeHarness, NATS_URL, sha256 } from './_harness.js';

const buses: [string, () => Promise<EventBus>][] = [['memory', async () => new MemoryEventBus()]];
// A prefix of its own keeps this run apart from anything else on the same NATS.
const prefix = `reyna-test-${process.pid}-${Date.now()}.`;
if (hasNats) buses.push(['nats', () => NatsEventBus.connect(NATS_URL, prefix)]);

it('matches subjects the NATS way', () => {
  expect(subjectMatches('app.revision.created.*', 'app.revision.created.app-1')).toBe(true);
  expect(subjectMatches('app.>', 'app.revision.created.app-1')).toBe(true);
  expect(subjectMatches('app.*', 'app.revision.created')).toBe(false);
  expect(subjectMatches('>', 'x')).toBe(true);
  expect(subjectMatches('blob.created.u', 'blob.created.u.extra')).toBe(false);
});

describe.each(buses)('events on %s', (_name, makeBus) => {
  let h: Harness;
  let observer: EventBus;
  beforeAll(async () => {
    const bus = await makeBus();
    h = await makeHarness('pglite', bus);
    observer = _name === 'nats' ? await makeBus() : bus;
  }, 60_000);
  afterAll(async () => {
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
    const who = (await api.get('/v1/whoami')).body.user.id;
    const want = [
      `blob.created.${who}`,
      `app.revision.created.${app.id}`,
      `bucket.changed.${bucket.id}`,
      `deployment.created.${app.id}`,
    ];
    for (let i = 0; i < 100 && seen.length < want.length; i++) await new Promise((r) => setTimeout(r, 20));
    stop();
    expect(seen.map((e) => e.subject)).toEqual(want);
    expect(seen[1]?.data).toMatchObject({ appId: app.id, revision: rev.body.id, parent: null });
  });

  it('streams the owner’s events, and only theirs, as Server-Sent Events', async () => {
    const owner = client(() => h.app, h.ownerToken);
    const other = client(() => h.app, (await owner.post('/v1/tokens', { user: 'other' })).body.token);
    const controller = new AbortController();
    const res = await h.app.request('/v1/events?subject=app.>', {
      headers: { authorization: `Bearer ${h.ownerToken}` },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 5000;
      while (!text.includes(needle) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil('event: ready');
    const { body: theirs } = await other.post('/v1/apps', { name: 'theirs' });
    await other.post(`/v1/apps/${theirs.id}/revisions`, { parent: null, files: {} });
    const { body: mine } = await owner.post('/v1/apps', { name: 'mine' });
    await owner.post(`/v1/apps/${mine.id}/revisions`, { parent: null, files: {} });
    await readUntil(`app.revision.created.${mine.id}`);
    controller.abort();
    await reader.cancel().catch(() => {});
    expect(text).toContain(`event: app.revision.created.${mine.id}`);
    expect(text).not.toContain(theirs.id);
  });
});
