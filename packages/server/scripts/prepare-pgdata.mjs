// Runs PGlite's initdb once at build time and saves the result as dist/pgdata.tar.gz. A fresh data dir then starts
// from this copy (about 1 s) instead of running initdb (about 4 s). Migrations are not in it: they run at start.
import { mkdirSync, writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

const started = performance.now();
const db = await PGlite.create();
await db.query('SELECT 1');
const dump = await db.dumpDataDir('gzip');
await db.close();
const out = new URL('../dist/pgdata.tar.gz', import.meta.url);
mkdirSync(new URL('.', out), { recursive: true });
writeFileSync(out, Buffer.from(await dump.arrayBuffer()));
console.log(
  `prepared PGlite data dir: ${(dump.size / 1024 / 1024).toFixed(1)} MiB in ${Math.round(performance.now() - started)} ms`,
);
