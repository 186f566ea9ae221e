// Migration 3 on data an older server wrote: revision manifests as rows per file become documents, and what the
// rows answered (the blobs an app holds on to) moves to app_blobs. Run on PGlite and on PostgreSQL.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestDigest } from '@reyna/core/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../src/adapters/blobs-fs.js';
import { MemoryEventBus } from '../src/adapters/events-memory.js';
import { openPglite } from '../src/adapters/sql-pglite.js';
import { openPostgres } from '../src/adapters/sql-postgres.js';
import { SqlStore } from '../src/adapters/store-sql.js';
import { MIGRATIONS, migrate } from '../src/migrations.js';
import { createServer } from '../src/server.js';
import type { Sql } from '../src/sql.js';
import { client, PG_URL, STORES, sha256 } from './_harness.js';

const entry = (text: string, mode = 0o644) => ({ sha256: sha256(text), size: Buffer.byteLength(text), mode });

describe.each(STORES.map((s) => [s.title, s] as const))('migration 3 on %s', (_title, { kind, skip }) => {
  const dir = mkdtempSync(join(tmpdir(), 'reyna-migrate-test-'));
  const schema = `reyna_migrate_${randomBytes(6).toString('hex')}`;
  let sql: Sql | undefined;
  afterAll(async () => {
    if (kind === 'postgres') await sql?.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await sql?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)(
    'turns rows per file into manifest documents, keeping every revision, usage and blob collection',
    async () => {
      // Without the prepared data dir, which has every migration applied already.
      sql =
        kind === 'pglite'
          ? await openPglite(join(dir, 'pg'), { prepared: false })
          : await openPostgres({ connectionString: PG_URL, schema });
      const db = sql;
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version < 3),
      );
      // What the old store wrote for two apps of alice's: rows per file, one revision empty.
      const texts = ['one', 'two', 'three!'];
      await db.query(
        `INSERT INTO users (id, name, admin, blob_count, blob_bytes) VALUES ('usr-alice', 'alice', true, 3, $1)`,
        [texts.join('').length],
      );
      for (const t of texts) {
        await db.query('INSERT INTO blobs (sha256, size) VALUES ($1, $2)', [sha256(t), t.length]);
        await db.query(`INSERT INTO user_blobs (user_id, sha256) VALUES ('usr-alice', $1)`, [sha256(t)]);
      }
      await db.query(
        `INSERT INTO apps (id, owner_id, name, head) VALUES ('app-a', 'usr-alice', 'a', 'rev-a2'), ('app-b', 'usr-alice', 'b', 'rev-b2')`,
      );
      const old: Record<string, Record<string, ReturnType<typeof entry>>> = {
        'rev-a1': { 'src/x': entry('one'), README: entry('two') },
        'rev-a2': { 'src/x': entry('one'), README: entry('three!', 0o755), 'été/ß': entry('one'), a: entry('two') },
        'rev-b1': {},
        'rev-b2': { only: entry('two') },
      };
      for (const [seq, [id, files]] of Object.entries(old).entries()) {
        await db.query(
          `INSERT INTO revisions (id, app_id, parent, seq, file_count, total_size, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, 'usr-alice')`,
          [
            id,
            id.startsWith('rev-a') ? 'app-a' : 'app-b',
            id.endsWith('2') ? id.replace('2', '1') : null,
            (seq % 2) + 1,
            Object.keys(files).length,
            Object.values(files).reduce((n, f) => n + f.size, 0),
          ],
        );
        for (const [path, f] of Object.entries(files)) {
          await db.query(
            'INSERT INTO revision_files (revision_id, path, sha256, size, mode) VALUES ($1, $2, $3, $4, $5)',
            [id, path, f.sha256, f.size, f.mode],
          );
        }
      }

      expect(await migrate(db)).toContain(3);
      expect(
        (await db.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'revision_files'`)).rows,
      ).toEqual([]);
      const store = new SqlStore(db);
      const blobs = new FsBlobStore(join(dir, 'blobs'));
      const server = createServer({ store, blobs, events: new MemoryEventBus() });
      const alice = client(() => server, (await store.createToken('alice', 'test', {})).token);
      for (const [id, files] of Object.entries(old)) {
        const app = id.startsWith('rev-a') ? 'app-a' : 'app-b';
        const got = await alice.get(`/v1/apps/${app}/revisions/${id}`);
        expect(got.status).toBe(200);
        expect(got.body.files).toEqual(files);
        // Byte order, as the rows were read (COLLATE "C"): capitals first, "é" after every ASCII letter.
        expect(Object.keys(got.body.files)).toEqual(Object.keys(files).sort());
      }
      const usage = (await alice.get('/v1/usage')).body;
      expect(usage.apps.map((a: { name: string; bytesReferenced: number }) => [a.name, a.bytesReferenced])).toEqual([
        ['a', 'one'.length + 'two'.length + 'three!'.length],
        ['b', 'two'.length],
      ]);

      // A commit on top of a converted revision: changes against it, checked by digest.
      const next = { ...old['rev-a2'], 'src/y': entry('two') };
      const made = await alice.post('/v1/apps/app-a/revisions', {
        parent: 'rev-a2',
        changes: { 'src/y': entry('two') },
        digest: manifestDigest(next),
      });
      expect(made.status).toBe(201);
      expect(made.body.seq).toBe(3);
      expect((await alice.get(`/v1/apps/app-a/revisions/${made.body.id}`)).body.files).toEqual(next);

      // Deleting app a frees what only its revisions held ("one", "three!"); "two" is app b's too.
      expect((await alice.del('/v1/apps/app-a')).status).toBe(204);
      const left = (await db.query<{ sha256: string }>('SELECT sha256 FROM blobs ORDER BY sha256')).rows;
      expect(left.map((r) => r.sha256)).toEqual([sha256('two')]);
      expect((await alice.get('/v1/usage')).body.user).toMatchObject({ blobs: 1, bytesStored: 'two'.length });
      await server.shutdown();
    },
    120_000,
  );
});
