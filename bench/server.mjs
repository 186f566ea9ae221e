// Studio server throughput on this machine, over loopback: one 10,000-hash "which do you lack" call, a 10,000-blob
// batch upload, and small-blob PUT and GET under 50 concurrent connections, driven by autocannon (requests/s and
// p50/p99 latency). A benchmark, not a test: prints figures and exits 0 (1 when requests failed).
// `node bench/server.mjs [requests]` (default 3000 each). Needs `npm run build` first.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const N = Number(process.argv[2] ?? 3000);
const CONCURRENCY = 50;
const bin = fileURLToPath(new URL('../packages/server/bin/reyna-server.js', import.meta.url));
const { encodeBlobBatch } = await import('../packages/core/dist/protocol/index.js');
const sha = (data) => createHash('sha256').update(data).digest('hex');

const dir = mkdtempSync(join(tmpdir(), 'reyna-bench-server-'));
const env = {
  ...process.env,
  REYNA_LOG_LEVEL: 'warn',
  REYNA_SERVER_RATE_LIMIT: '0',
  REYNA_SERVER_QUOTA_BLOBS: '1000000',
};
delete env.DATABASE_URL;
delete env.NATS_URL;
const child = spawn(process.execPath, [bin, '--port', '0', '--json', '--data-dir', dir], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const info = await new Promise((resolve, reject) => {
  child.stdout.once('data', (d) => resolve(JSON.parse(String(d).split('\n')[0])));
  child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});
const auth = { authorization: `Bearer ${info.ownerToken}` };

/** `amount` authenticated requests over CONCURRENCY connections, each made by `request(i)`; autocannon's figures. */
function load(amount, request) {
  let i = 0;
  return autocannon({
    url: info.url,
    connections: CONCURRENCY,
    amount,
    timeout: 30,
    // A fresh headers object each time: autocannon writes Content-Length into the one it is given.
    requests: [{ setupRequest: (req) => ({ ...req, ...request(i++), headers: { ...auth } }) }],
  });
}

try {
  const hashes = Array.from({ length: 10_000 }, (_, i) => sha(`bench ${i}`));
  let t = performance.now();
  const lack = await fetch(`${info.url}/v1/blobs/missing`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ hashes }),
  });
  const missing = (await lack.json()).missing.length;
  const lackMs = performance.now() - t;

  const blobs = hashes.map((h, i) => ({ sha256: h, data: Buffer.from(`bench ${i}`) }));
  t = performance.now();
  const batch = await fetch(`${info.url}/v1/blobs/batch`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/vnd.reyna.blobs' },
    body: encodeBlobBatch(blobs),
  });
  await batch.arrayBuffer();
  const batchMs = performance.now() - t;

  const put = await load(N, (i) => {
    const body = `small blob ${i} ${'x'.repeat(i % 512)}`;
    return { method: 'PUT', path: `/v1/blobs/${sha(body)}`, body };
  });
  const get = await load(N, (i) => ({ method: 'GET', path: `/v1/blobs/${hashes[i % hashes.length]}` }));

  const failed = (r) => r.non2xx + r.errors + r.timeouts;
  const fmt = (r) =>
    `${(r.requests.total / r.duration).toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50.toFixed(1).padStart(6)} ms  p99 ${r.latency.p99.toFixed(1).padStart(6)} ms  (${r.duration.toFixed(1)} s)${failed(r) ? `  (${failed(r)} failed)` : ''}`;
  console.log(
    `server: PGlite + blob files, node ${process.version}, autocannon, ${CONCURRENCY} concurrent connections over loopback`,
  );
  console.log(
    `  which-do-you-lack, 10,000 hashes   ${lackMs.toFixed(0).padStart(6)} ms  (${missing} missing, HTTP ${lack.status})`,
  );
  console.log(`  batch upload, 10,000 small blobs   ${batchMs.toFixed(0).padStart(6)} ms  (HTTP ${batch.status})`);
  console.log(`  PUT small blob ×${N}               ${fmt(put)}`);
  console.log(`  GET small blob ×${N}               ${fmt(get)}`);
  if (failed(put) + failed(get) > 0 || !lack.ok || !batch.ok) process.exitCode = 1;
} finally {
  await new Promise((done) => {
    child.once('exit', done);
    child.kill('SIGTERM');
  });
  rmSync(dir, { recursive: true, force: true });
}
