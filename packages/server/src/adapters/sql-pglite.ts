import { existsSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { PGlite } from '@electric-sql/pglite';
import { extractTar } from '../_tar.js';
import type { Sql, SqlTx } from '../sql.js';

/** The initdb'ed data dir made at build time (scripts/prepare-pgdata.mjs): loading it skips a ~4 s initdb. */
export const PREPARED_DATA_DIR = new URL('../../dist/pgdata.tar.gz', import.meta.url);

/**
 * PGlite in `dataDir` (in memory when undefined). A fresh data dir starts from the prepared copy when the
 * package has one.
 */
export async function openPglite(dataDir: string | undefined, options: { prepared?: boolean } = {}): Promise<Sql> {
  const { PGlite } = await import('@electric-sql/pglite');
  const fresh = dataDir === undefined || !existsSync(join(dataDir, 'PG_VERSION'));
  let loadDataDir: Blob | undefined;
  if (fresh && options.prepared !== false) {
    const tgz = await readFile(PREPARED_DATA_DIR).catch(() => undefined);
    if (tgz && dataDir !== undefined) {
      // Writing the files ourselves and opening them as an existing data dir is about twice as fast as PGlite's
      // loadDataDir, which unpacks into memory and then copies to disk.
      const staging = `${dataDir}.prepare-${process.pid}`;
      await rm(staging, { recursive: true, force: true });
      await extractTar(gunzipSync(tgz), staging);
      await rm(dataDir, { recursive: true, force: true });
      await rename(staging, dataDir);
    } else if (tgz) {
      loadDataDir = new Blob([gunzipSync(tgz)]);
    }
  }
  const db = await PGlite.create(dataDir, loadDataDir ? { loadDataDir } : {});
  return wrap(db);
}

function txOf(q: Pick<PGlite, 'query' | 'exec'>): SqlTx {
  return {
    async query<R>(text: string, params: unknown[] = []) {
      const r = await q.query<R>(text, params);
      // PGlite reports affectedRows 0 for a SELECT: rows returned count as rows touched, as in node-postgres.
      return { rows: r.rows, rowCount: r.rows.length > 0 ? r.rows.length : (r.affectedRows ?? 0) };
    },
    async exec(text: string) {
      await q.exec(text);
    },
  };
}

function wrap(db: PGlite): Sql {
  const base = txOf(db);
  return {
    kind: 'pglite',
    ...base,
    transaction: (fn) => db.transaction((tx) => fn(txOf(tx))),
    close: () => db.close(),
  };
}
