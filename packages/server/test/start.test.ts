// startServer as the binary runs it: the prepared PGlite data dir, PostgreSQL through DATABASE_URL and NATS through
// NATS_URL, served on a free loopback port.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite, PREPARED_DATA_DIR } from '../src/adapters/sql-pglite.js';
import { defaultDataDir, type StartedServer, startServer } from '../src/start.js';
import { hasNats, hasPostgres, NATS_URL, PG_URL } from './_harness.js';

const root = mkdtempSync(join(tmpdir(), 'reyna-start-'));
const started: StartedServer[] = [];
const schemas: string[] = [];
const quiet = { REYNA_LOG_LEVEL: 'silent' };

async function boot(dataDir: string, env: Record<string, string> = {}) {
  const s = await startServer({ port: 0, host: '127.0.0.1', dataDir, env: { ...quiet, ...env } });
  started.push(s);
  return s;
}

afterAll(async () => {
  for (const s of started) await s.close().catch(() => {});
  if (schemas.length) {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
  rmSync(root, { recursive: true, force: true });
});

it('puts the default data dir under XDG_DATA_HOME, else ~/.local/share', () => {
  expect(defaultDataDir({ XDG_DATA_HOME: '/x' })).toBe('/x/reyna/server');
  expect(defaultDataDir({ HOME: '/home/u' })).toBe('/home/u/.local/share/reyna/server');
});

describe('PGlite', () => {
  it('starts a fresh data dir from the prepared copy, which holds the migrations already', async () => {
    expect(existsSync(PREPARED_DATA_DIR)).toBe(true);
    const s = await boot(join(root, 'prepared'));
    expect(s.store).toBe('pglite');
    expect(s.ownerToken).toMatch(/^reyna_/);
    const res = await fetch(`${s.url}/v1/whoami`, { headers: { authorization: `Bearer ${s.ownerToken}` } });
    expect(((await res.json()) as { user: { name: string } }).user.name).toBe('owner');
    await s.close();
    const again = await boot(join(root, 'prepared'));
    expect(again.ownerToken).toBeUndefined();
    await again.close();
  });

  it('gives PGlite 32MB of shared buffers, or what REYNA_SERVER_PGLITE_BUFFERS says, and refuses nonsense', async () => {
    const dir = join(root, 'buffers');
    for (const [options, want] of [
      [{}, '32MB'],
      [{ sharedBuffers: '16MB' }, '16MB'],
    ] as const) {
      const sql = await openPglite(dir, options);
      expect((await sql.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]?.shared_buffers).toBe(want);
      await sql.close();
    }
    await expect(openPglite(dir, { sharedBuffers: 'lots' })).rejects.toMatchObject({ code: 'E_BAD_CONFIG' });
    await expect(boot(join(root, 'bad-buffers'), { REYNA_SERVER_PGLITE_BUFFERS: '1TB' })).rejects.toMatchObject({
      code: 'E_BAD_CONFIG',
      hint: expect.stringContaining('REYNA_SERVER_PGLITE_BUFFERS'),
    });
  });

  it('runs initdb and every migration without the prepared copy', async () => {
    const s = await boot(join(root, 'initdb'), { REYNA_SERVER_PREPARED: '0' });
    expect(s.ownerToken).toMatch(/^reyna_/);
    const health = await (await fetch(`${s.url}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, store: 'pglite' });
    await s.close();
  }, 30_000);
});

describe.runIf(hasPostgres && hasNats)('PostgreSQL and NATS from the environment', () => {
  it('serves from DATABASE_URL with events on NATS_URL, and two servers share one store', async () => {
    const schema = `reyna_start_${randomBytes(5).toString('hex')}`;
    schemas.push(schema);
    const env = { DATABASE_URL: PG_URL, REYNA_DATABASE_SCHEMA: schema, NATS_URL };
    // Two processes' worth of servers racing on an empty store: one owner, one set of migrations.
    const [a, b] = await Promise.all([boot(join(root, 'pg-a'), env), boot(join(root, 'pg-b'), env)]);
    expect([a.store, b.store, a.events, b.events]).toEqual(['postgres', 'postgres', 'nats', 'nats']);
    expect([a.ownerToken, b.ownerToken].filter(Boolean)).toHaveLength(1);
    const token = (a.ownerToken ?? b.ownerToken) as string;
    const auth = { authorization: `Bearer ${token}` };
    const app = (await (
      await fetch(`${a.url}/v1/apps`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'shared' }) })
    ).json()) as { id: string };
    // An event published by server A reaches a watcher on server B through NATS.
    const controller = new AbortController();
    const events = await fetch(`${b.url}/v1/events`, { headers: auth, signal: controller.signal });
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
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
    const rev = await fetch(`${a.url}/v1/apps/${app.id}/revisions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ parent: null, files: {} }),
    });
    expect(rev.status).toBe(201);
    await readUntil(`app.revision.created.${app.id}`);
    controller.abort();
    await reader.cancel().catch(() => {});
    expect(text).toContain(`event: app.revision.created.${app.id}`);
    const fromB = (await (await fetch(`${b.url}/v1/apps/${app.id}`, { headers: auth })).json()) as { head: string };
    expect(fromB.head).toBe(((await rev.json()) as { id: string }).id);
  });
});
