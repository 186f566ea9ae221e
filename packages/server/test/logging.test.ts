// The request log: one pino JSON line per request, with its request id and, once the token is checked, the user.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type ReynaServer, type ServerLogger } from '../src/server.js';
import { client, type Harness, makeHarness } from './_harness.js';

let h: Harness;
let app: ReynaServer;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  h = await makeHarness('pglite');
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink) as unknown as ServerLogger;
  app = createServer({ store: h.store, blobs: h.blobs, events: h.events, logger });
}, 60_000);
afterAll(async () => {
  await app?.shutdown();
  await h?.close();
});

const requestLine = (id: string) => lines.find((l) => l.msg === 'request' && l.requestId === id);

it('puts the user id and name on the request line, for answers and refusals alike', async () => {
  const owner = client(() => app, h.ownerToken);
  const who = (await owner.get('/v1/whoami')).body.user;
  const ok = await owner.call('GET', '/v1/apps', undefined, { 'x-request-id': 'req-ok' });
  const missing = await owner.call('GET', '/v1/apps/app-nope', undefined, { 'x-request-id': 'req-404' });
  const anonymous = await client(() => app).call('GET', '/v1/apps', undefined, { 'x-request-id': 'req-anon' });
  expect([ok.status, missing.status, anonymous.status]).toEqual([200, 404, 401]);
  expect(requestLine('req-ok')).toMatchObject({ userId: who.id, user: 'owner', status: 200, path: '/v1/apps' });
  expect(requestLine('req-404')).toMatchObject({ userId: who.id, status: 404 });
  // No token, no user: the line is still there, without one.
  expect(requestLine('req-anon')).toMatchObject({ status: 401 });
  expect(requestLine('req-anon')).not.toHaveProperty('userId');
});
