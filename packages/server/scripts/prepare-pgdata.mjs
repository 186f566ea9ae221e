// Runs PGlite's initdb and the migrations once at build time and saves the result as dist/pgdata.tar.gz. A fresh
// data dir starts from this copy (about 1 s) instead of running initdb and every migration (about 5 s); at start,
// migrate() still runs and applies whatever this copy lacks.
import { mkdirSync, writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { migrate } from '../dist/migrations.js';

const started = performance.now();
const db = await PGlite.create();
const applied = await migrate({
  kind: 'pglite',
  query: async (text, params = []) => {
    const r = await db.query(text, params);
    return { rows: r.rows, rowCount: r.rows.length || (r.affectedRows ?? 0) };
  },
  exec: async (text) => void (await db.exec(text)),
  transaction: (fn) =>
    db.transaction((tx) =>
      fn({
        query: async (text, params = []) => {
          const r = await tx.query(text, params);
          return { rows: r.rows, rowCount: r.rows.length || (r.affectedRows ?? 0) };
        },
        exec: async (text) => void (await tx.exec(text)),
      }),
    ),
  close: () => db.close(),
});
await db.query('CHECKPOINT');
const dump = await db.dumpDataDir('gzip');
await db.close();
const out = new URL('../dist/pgdata.tar.gz', import.meta.url);
mkdirSync(new URL('.', out), { recursive: true });
writeFileSync(out, Buffer.from(await dump.arrayBuffer()));
console.log(
  `prepared PGlite data dir (migrations ${applied.join(', ')}): ${(dump.size / 1024 / 1024).toFixed(1)} MiB in ${Math.round(performance.now() - started)} ms`,
);
