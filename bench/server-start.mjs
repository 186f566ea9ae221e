// How fast the studio server is ready (spawn → first line on stdout, which it prints once it listens) on a fresh
// data dir (cold: the prepared PGlite data dir is copied), on a restart (warm), and on a fresh data dir without the
// prepared copy (initdb, what the prepared copy saves), plus the idle memory of a started server.
// Target: a cold start under 2 s (median). Prints PASS/FAIL and exits 1 when the target is missed.
// `node bench/server-start.mjs [runs]` (default 5). Needs `npm run build` first.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TARGET_MS = 2000;
const runs = Number(process.argv[2] ?? 5);
const bin = fileURLToPath(new URL('../packages/server/bin/reyna-server.js', import.meta.url));
if (!existsSync(new URL('../packages/server/dist/pgdata/PG_VERSION', import.meta.url))) {
  console.log('note: packages/server is not built (no dist/pgdata/); run `npm run build` first');
}

const env = { ...process.env, REYNA_LOG_LEVEL: 'warn' };
delete env.DATABASE_URL;
delete env.NATS_URL;
delete env.NODE_OPTIONS;

/**
 * CPU milliseconds (user + system) the process has used: on a machine others load too, a steadier figure than the
 * wall clock. Linux only; NaN elsewhere.
 */
function cpuMs(pid) {
  if (process.platform !== 'linux') return Number.NaN;
  // Fields 14 and 15 after the ")" that ends the command name, in clock ticks (100 a second on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Starts the server; resolves with the ms until it printed its line, the CPU ms it took, and a stop(). */
function start(dataDir, extraEnv = {}) {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, '--port', '0', '--json', '--data-dir', dataDir], {
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({
        ms,
        cpu: cpuMs(child.pid),
        pid: child.pid,
        stop: () =>
          new Promise((done) => {
            child.once('exit', done);
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const root = mkdtempSync(join(tmpdir(), 'reyna-bench-server-'));
const cold = [];
const coldCpu = [];
const warm = [];
const warmCpu = [];
const initdb = [];
const rss = [];
try {
  for (let i = 0; i < runs; i++) {
    const dir = join(root, `d${i}`);
    const a = await start(dir);
    cold.push(a.ms);
    coldCpu.push(a.cpu);
    await a.stop();
    const b = await start(dir);
    warm.push(b.ms);
    warmCpu.push(b.cpu);
    await new Promise((r) => setTimeout(r, 1500));
    if (process.platform === 'linux') rss.push(rssMiB(b.pid));
    await b.stop();
    if (i < Math.min(runs, 3)) {
      const c = await start(join(root, `i${i}`), { REYNA_SERVER_PREPARED: '0' });
      initdb.push(c.ms);
      await c.stop();
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const fmt = (ms) => `${ms.toFixed(0).padStart(6)} ms`;
console.log(
  `server-start: median of ${runs} runs, node ${process.version}, PGlite data dir, target cold < ${TARGET_MS} ms`,
);
const cpu = (xs) => (Number.isNaN(median(xs)) ? '' : `  (CPU ${median(xs).toFixed(0)} ms)`);
console.log(
  `  cold start (fresh dir)        ${fmt(median(cold))}  ${median(cold) < TARGET_MS ? 'PASS' : 'FAIL'}${cpu(coldCpu)}`,
);
console.log(
  `  warm restart (same dir)       ${fmt(median(warm))}  ${(median(warm) / median(cold)).toFixed(2)}× cold${cpu(warmCpu)}`,
);
console.log(
  `  fresh dir without prepared    ${fmt(median(initdb))}  ${(median(initdb) / median(cold)).toFixed(2)}× cold (initdb)`,
);
if (rss.length) console.log(`  idle memory (RSS, warm)       ${median(rss).toFixed(0).padStart(6)} MiB`);
if (median(cold) >= TARGET_MS) {
  console.log(`FAIL: the median cold start is ${median(cold).toFixed(0)} ms, over the ${TARGET_MS} ms target`);
  process.exitCode = 1;
}
