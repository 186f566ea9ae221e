// Runs PGlite's initdb and the migrations once at build time into dist/pgdata/. A fresh data dir starts as a copy of
// it (tens of milliseconds) instead of running initdb and every migration (about 5 s); at start, migrate() still runs
// and applies whatever this copy lacks.
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPglite } from '../dist/adapters/sql-pglite.js';
import { migrate } from '../dist/migrations.js';

const started = performance.now();
const out = fileURLToPath(new URL('../dist/pgdata', import.meta.url));
const staging = `${out}.build-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
// 1 MB WAL segments instead of 16: the one segment a fresh data dir needs was 40% of the bytes every copy writes.
const sql = await openPglite(staging, { prepared: false, initdbArgs: ['--wal-segsize=1'] });
const applied = await migrate(sql);
await sql.query('CHECKPOINT');
await sql.close();
// Left by the build's PGlite; a copy must not carry it.
rmSync(join(staging, 'postmaster.pid'), { force: true });
rmSync(out, { recursive: true, force: true });
renameSync(staging, out);
// The archive earlier builds made: nothing reads it any more.
rmSync(new URL('../dist/pgdata.tar.gz', import.meta.url), { force: true });
console.log(
  `prepared PGlite data dir (migrations ${applied.join(', ')}) in ${Math.round(performance.now() - started)} ms`,
);
