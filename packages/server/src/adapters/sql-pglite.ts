import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
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
    const tar = await readFile(PREPARED_DATA_DIR).catch(() => undefined);
    if (tar) loadDataDir = new Blob([tar]);
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
