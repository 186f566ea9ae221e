// `reyna push` / `status` on a generated 10,000-file tree against a local studio server, with `git status` on the
// same tree in the same run as the yardstick. Shown: the first push, a no-change `status` (target ≤ 3× git status),
// and a one-change push (target ≤ 0.5 s). Each command is the real binary, start-up included; the in-process figure
// of `status` (core only, no Node start-up) is shown beside it, and so is the floor any Node answer has here: `node
// -e 0`, and a Node process that only lists the tree and lstats each file (what reyna's scan must do at least, as git
// does in C). Then status and push again through the sync daemon (`reyna daemon start`): a resident process that
// reads again only the directories its watches say changed (none, for an unchanged tree), and knows the app's head
// from the server's event stream. Where NODE_EXTRA_CA_CERTS is set, status and push are also timed without it (Node
// parses that bundle before any code runs). The targets are judged on the figures through the daemon, with this
// machine's environment as it is; the figures without the daemon are shown beside them. Each sample follows a pause
// of 300 ms. Exits 1 when a target is missed.
// `node bench/sync.mjs [runs] [files]` (default 5 runs, 10000 files).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 5);
const count = Number(process.argv[3] ?? 10_000);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/reyna.cjs');
const work = join(root, '.tmp/bench-sync');
const app = join(work, 'app');
rmSync(work, { recursive: true, force: true });
mkdirSync(app, { recursive: true });

const env = { ...process.env, HOME: work, XDG_CONFIG_HOME: join(work, 'config'), CI: 'true' };
for (const key of Object.keys(env)) if (key.startsWith('REYNA_')) delete env[key];
// The default quota is 10,000 blobs a user; the tree is that many files plus two.
env.REYNA_SERVER_QUOTA_BLOBS = '100000';
const server = spawn(
  process.execPath,
  [bin, 'server', 'start', '--port', '0', '--edge-port', '0', '--data-dir', join(work, 'studio'), '--json'],
  {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  },
);
const info = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
  });
  server.on('exit', (code) => reject(new Error(`server exited ${code}`)));
});
if (!info.url) throw new Error(`server did not start: ${JSON.stringify(info)}`);
env.REYNA_SERVER = info.url;
env.REYNA_TOKEN = info.ownerToken;

try {
  // 100 directories of 100 files, 200 B – 2 KB of text each.
  const perDir = 100;
  for (let d = 0; d < Math.ceil(count / perDir); d++) {
    mkdirSync(join(app, `src/m${d}`), { recursive: true });
    for (let f = 0; f < perDir && d * perDir + f < count; f++)
      writeFileSync(
        join(app, `src/m${d}/f${f}.ts`),
        `export const v${f} = ${JSON.stringify('x'.repeat(200 + ((d * 37 + f * 11) % 1800)))};\n`,
      );
  }
  writeFileSync(join(app, 'reyna.json'), JSON.stringify({ name: 'bench-sync' }));
  writeFileSync(join(app, '.gitignore'), '.reyna/\n');
  const run = (environment, args) =>
    JSON.parse(
      execFileSync(process.execPath, [bin, ...args, '--json'], {
        cwd: app,
        env: environment,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      }),
    );
  const reyna = (...args) => run(env, args);
  // Node reads NODE_EXTRA_CA_CERTS (set where HTTPS is intercepted, as on this machine) before running any
  // code: every process pays for parsing the bundle. Where it is set, the commands are timed without it too.
  const extraCa = env.NODE_EXTRA_CA_CERTS !== undefined;
  const { NODE_EXTRA_CA_CERTS: _ca, ...envNoCa } = env;
  reyna('apps', 'create');
  const git = (...args) =>
    execFileSync('git', args, {
      cwd: app,
      env: {
        ...env,
        GIT_AUTHOR_NAME: 'b',
        GIT_AUTHOR_EMAIL: 'b@localhost',
        GIT_COMMITTER_NAME: 'b',
        GIT_COMMITTER_EMAIL: 'b@localhost',
      },
      stdio: 'ignore',
    });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'tree');
  // Files written within the last second are re-hashed (as git does with racily clean entries): let them settle.
  await new Promise((r) => setTimeout(r, 1100));

  const time = (fn) => {
    const started = performance.now();
    const value = fn();
    return { ms: performance.now() - started, value };
  };
  // Each sample after a pause: what the command before it left running (a garbage collection in this process, in
  // the daemon or the server, on two cores) would otherwise be timed with it, whichever command comes next.
  const sample = async (fn) => {
    await new Promise((r) => setTimeout(r, 300));
    return time(fn);
  };
  const first = time(() => reyna('push', '-m', 'first'));
  console.log(`sync of ${count} files against ${info.url} (PGlite), median of ${runs} runs`);
  console.log(
    `  first push             ${first.ms.toFixed(0).padStart(6)} ms  ${first.value.summary.bytesSent} bytes sent, ${first.value.summary.transferred} blobs`,
  );

  const { status } = await import('@reyna/core/sync');
  const times = { git: [], status: [], inProcess: [], push: [], node: [], walk: [], statusNoCa: [], pushNoCa: [] };
  // The floor: Node starting, and Node walking the tree with one lstat a file, nothing else.
  const walk = `const fs=require('node:fs');const s=[''];let n=0;while(s.length){const r=s.pop();for(const e of fs.readdirSync(r||'.')){const p=r?r+'/'+e:e;const st=fs.lstatSync(p);if(st.isDirectory()){if(e!=='.git'&&e!=='.reyna')s.push(p)}else n++}}`;
  const node = (...args) => execFileSync(process.execPath, args, { cwd: app, stdio: 'ignore' });
  const bytes = [];
  time(() => reyna('status')); // the first status after a push fills the hash cache
  for (let i = 0; i < runs; i++) {
    times.git.push((await sample(() => git('status', '--porcelain'))).ms);
    times.node.push((await sample(() => node('-e', '0'))).ms);
    times.walk.push((await sample(() => node('-e', walk))).ms);
    times.status.push((await sample(() => reyna('status'))).ms);
    const started = performance.now();
    await status({ cwd: app, env: {}, server: info.url, token: info.ownerToken, homedir: work });
    times.inProcess.push(performance.now() - started);
    writeFileSync(join(app, 'src/m0/f0.ts'), `export const v0 = ${i};\n`);
    const pushed = await sample(() => reyna('push'));
    times.push.push(pushed.ms);
    bytes.push(pushed.value.summary.bytesSent);
    if (extraCa) {
      times.statusNoCa.push((await sample(() => run(envNoCa, ['status']))).ms);
      writeFileSync(join(app, 'src/m0/f0.ts'), `export const v0 = -${i};\n`);
      times.pushNoCa.push((await sample(() => run(envNoCa, ['push']))).ms);
    }
  }
  // The same commands with the sync daemon running (`reyna daemon start`), which they then go through. git status
  // is timed again beside them.
  reyna('daemon', 'start');
  const daemonTimes = { status: [], push: [], statusNoCa: [], pushNoCa: [] };
  try {
    time(() => reyna('status')); // its first status walks the tree and sets the watches
    for (let i = 0; i < runs; i++) {
      times.git.push((await sample(() => git('status', '--porcelain'))).ms);
      const answered = await sample(() => reyna('status'));
      if (!answered.value.clean) throw new Error('status through the daemon saw a change where there is none');
      daemonTimes.status.push(answered.ms);
      writeFileSync(join(app, 'src/m0/f0.ts'), `export const v0 = d${i};\n`);
      const pushed = await sample(() => reyna('push'));
      if (pushed.value.summary.transferred !== 1) throw new Error('a push through the daemon did not send one blob');
      daemonTimes.push.push(pushed.ms);
      if (extraCa) {
        daemonTimes.statusNoCa.push((await sample(() => run(envNoCa, ['status']))).ms);
        writeFileSync(join(app, 'src/m0/f0.ts'), `export const v0 = -d${i};\n`);
        daemonTimes.pushNoCa.push((await sample(() => run(envNoCa, ['push']))).ms);
      }
    }
  } finally {
    reyna('daemon', 'stop');
  }

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const g = median(times.git);
  const s = median(times.status);
  const p = median(times.push);
  console.log(`  git status             ${g.toFixed(0).padStart(6)} ms`);
  const floor = median(times.walk);
  console.log(
    `  node -e 0              ${median(times.node).toFixed(0).padStart(6)} ms  ${(median(times.node) / g).toFixed(2)}× git status`,
  );
  console.log(
    `  node: walk + lstat     ${floor.toFixed(0).padStart(6)} ms  ${(floor / g).toFixed(2)}× git status (the floor)`,
  );
  console.log(`  reyna status           ${s.toFixed(0).padStart(6)} ms  ${(s / g).toFixed(2)}× git status`);
  console.log(
    `  status (core, no CLI)  ${median(times.inProcess).toFixed(0).padStart(6)} ms  ${(median(times.inProcess) / g).toFixed(2)}× git status`,
  );
  console.log(`  one-change push        ${p.toFixed(0).padStart(6)} ms  ${median(bytes)} bytes sent`);
  if (extraCa) {
    const sn = median(times.statusNoCa);
    console.log('  without NODE_EXTRA_CA_CERTS (what this machine adds to every Node start):');
    console.log(`    reyna status         ${sn.toFixed(0).padStart(6)} ms  ${(sn / g).toFixed(2)}× git status`);
    console.log(`    one-change push      ${median(times.pushNoCa).toFixed(0).padStart(6)} ms`);
  }
  const ds = median(daemonTimes.status);
  const dp = median(daemonTimes.push);
  console.log('  through the sync daemon (reyna daemon start):');
  console.log(`    reyna status         ${ds.toFixed(0).padStart(6)} ms  ${(ds / g).toFixed(2)}× git status`);
  console.log(`    one-change push      ${dp.toFixed(0).padStart(6)} ms`);
  if (extraCa) {
    const dsn = median(daemonTimes.statusNoCa);
    console.log(
      `    without NODE_EXTRA_CA_CERTS: status ${dsn.toFixed(0)} ms (${(dsn / g).toFixed(2)}×), push ${median(daemonTimes.pushNoCa).toFixed(0)} ms`,
    );
  }
  const verdict = (pass) => (pass ? 'PASS' : 'MISS');
  console.log(
    `target no-change status ≤ 3× git status: ${verdict(ds <= 3 * g)} through the daemon (${(ds / g).toFixed(2)}×); ${verdict(s <= 3 * g)} on its own (${(s / g).toFixed(2)}×)`,
  );
  console.log(
    `target one-change push ≤ 0.5 s: ${verdict(dp <= 500)} through the daemon (${dp.toFixed(0)} ms); ${verdict(p <= 500)} on its own (${p.toFixed(0)} ms)`,
  );
  // Judged on what Reyna offers at its fastest, the daemon; the figures on its own are shown beside them.
  if (ds > 3 * g || dp > 500) process.exitCode = 1;
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(work, { recursive: true, force: true });
}
