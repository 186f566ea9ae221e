import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { ExitCode, ReynaError } from '@reyna/core/errors';
import { copyTree } from '../_copy.js';
import type { Sql, SqlTx } from '../sql.js';

/**
 * The data dir made at build time (scripts/prepare-pgdata.mjs), initdb'ed and migrated: a fresh data dir starts as a
 * copy of it, which skips a ~4 s initdb.
 */
export const PREPARED_DATA_DIR: string = fileURLToPath(new URL('../../dist/pgdata', import.meta.url));

/**
 * PostgreSQL's buffer cache inside PGlite. PGlite's 128MB made every start spend most of a second setting it up and
 * held the memory even when idle; the files underneath stay in the OS page cache either way.
 */
export const DEFAULT_SHARED_BUFFERS = '32MB';

export interface PgliteOptions {
  /** Start a fresh data dir from the prepared copy (default true). */
  prepared?: boolean;
  /** PostgreSQL's shared_buffers, e.g. "64MB" (default DEFAULT_SHARED_BUFFERS). */
  sharedBuffers?: string;
  /** Extra initdb arguments for a data dir made here (the build's prepared one). */
  initdbArgs?: string[];
}

/**
 * PGlite in `dataDir` (in memory when undefined). A fresh data dir starts as a copy of the prepared one when the
 * package has it, unless `prepared` is false.
 */
export async function openPglite(dataDir: string | undefined, options: PgliteOptions = {}): Promise<Sql> {
  const sharedBuffers = options.sharedBuffers ?? DEFAULT_SHARED_BUFFERS;
  if (!/^\d{1,6}(kB|MB|GB)$/.test(sharedBuffers)) {
    throw new ReynaError('E_BAD_CONFIG', `PGlite shared buffers "${sharedBuffers}" is not a size like 32MB`, {
      hint: `Set REYNA_SERVER_PGLITE_BUFFERS to a number with kB, MB or GB, or unset it for ${DEFAULT_SHARED_BUFFERS}.`,
      exitCode: ExitCode.usage,
    });
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const fresh = dataDir !== undefined && !existsSync(join(dataDir, 'PG_VERSION'));
  if (fresh && options.prepared !== false && existsSync(join(PREPARED_DATA_DIR, 'PG_VERSION'))) {
    // Copied beside it and renamed into place: a start that dies halfway leaves no half data dir to open later.
    const staging = `${dataDir}.prepare-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await copyTree(PREPARED_DATA_DIR, staging);
    await rm(dataDir, { recursive: true, force: true });
    await rename(staging, dataDir);
  }
  const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`];
  return wrap(await PGlite.create(dataDir, { startParams, initDbStartParams: options.initdbArgs }));
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
