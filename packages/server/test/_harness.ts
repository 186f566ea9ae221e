// Backends for the API suite: PGlite always; the machine's PostgreSQL and NATS when they answer (required on CI).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { need } from '../../cli/test/_services.js';
import { FsBlobStore } from '../src/adapters/blobs-fs.js';
import { MemoryEventBus } from '../src/adapters/events-memory.js';
import { openPglite } from '../src/adapters/sql-pglite.js';
import { openPostgres } from '../src/adapters/sql-postgres.js';
import { SqlStore } from '../src/adapters/store-sql.js';
import type { EventBus } from '../src/event-bus.js';
import type { Limits } from '../src/limits.js';
import { createServer, type ReynaServer } from '../src/server.js';
import type { Sql } from '../src/sql.js';

export const PG_URL = process.env.REYNA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const NATS_URL = process.env.REYNA_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Whether the service at `url` answers on its port (the URL's host and port, else `port`). */
async function answers(url: string, port: number): Promise<boolean> {
  const u = new URL(url);
  return portOpen(u.hostname, Number(u.port || port));
}

const pgAt = new URL(PG_URL).host;
const natsAt = new URL(NATS_URL).host;
export const hasPostgres = need(
  `PostgreSQL at ${pgAt}`,
  await answers(PG_URL, 5432),
  'start PostgreSQL with a database "test"',
);
export const hasNats = need(`NATS at ${natsAt}`, await answers(NATS_URL, 4222), 'start nats-server');

export type Kind = 'pglite' | 'postgres';
/**
 * The stores the API suite runs on, each with `skip` and a title that says why: a store missing here shows as skipped
 * in the test output (and fails the run under CI=true, see need()), rather than silently not running.
 */
export const STORES: { kind: Kind; skip: boolean; title: string }[] = [
  { kind: 'pglite', skip: false, title: 'pglite' },
  {
    kind: 'postgres',
    skip: !hasPostgres,
    title: hasPostgres ? 'postgres' : `postgres (skipped: no PostgreSQL at ${pgAt})`,
  },
];
/** The same for event buses. */
export const NATS_TITLE = hasNats ? 'nats' : `nats (skipped: no NATS at ${natsAt})`;

export interface Harness {
  kind: Kind;
  app: ReynaServer;
  store: SqlStore;
  blobs: FsBlobStore;
  events: EventBus;
  ownerToken: string;
  dir: string;
  /** The same backends with other limits. */
  withLimits(limits: Partial<Limits>): ReynaServer;
  /** Closes the store and opens it again on the same data (PGlite dir or PostgreSQL schema); the migrations applied. */
  restart(): Promise<number[]>;
  close(): Promise<void>;
}

/** A fresh store (PGlite data dir, or a new PostgreSQL schema), migrated, with its owner. */
export async function makeHarness(kind: Kind, events: EventBus = new MemoryEventBus()): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'reyna-server-test-'));
  const schema = `reyna_test_${randomBytes(6).toString('hex')}`;
  const open = (): Promise<Sql> =>
    kind === 'pglite' ? openPglite(join(dir, 'pg')) : openPostgres({ connectionString: PG_URL, schema, max: 12 });
  let store = new SqlStore(await open());
  await store.migrate();
  const owner = await store.bootstrap();
  if (!owner) throw new Error('bootstrap made no owner on an empty store');
  const blobs = new FsBlobStore(join(dir, 'blobs'));
  const h: Harness = {
    kind,
    app: createServer({ store, blobs, events }),
    store,
    blobs,
    events,
    ownerToken: owner.token,
    dir,
    withLimits: (limits) => createServer({ store: h.store, blobs, events, limits }),
    async restart() {
      await h.app.shutdown();
      await store.close();
      store = new SqlStore(await open());
      const applied = await store.migrate();
      h.store = store;
      h.app = createServer({ store, blobs, events });
      return applied;
    },
    async close() {
      await h.app.shutdown();
      if (kind === 'postgres') await store.sql.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await store.close();
      await events.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers of many shapes
  body: any;
  headers: Headers;
}

/** A tiny client for app.request(): JSON in, JSON out. */
export function client(getApp: () => { request: ReynaServer['request'] }, token?: string) {
  async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const init: RequestInit = {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    };
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) init.body = body as RequestInit['body'];
      else {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
    }
    const res = await getApp().request(path, init);
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed, headers: res.headers };
  }
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => call('POST', path, body, headers),
    put: (path: string, body?: unknown, headers?: Record<string, string>) => call('PUT', path, body, headers),
    del: (path: string) => call('DELETE', path),
    call,
  };
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
