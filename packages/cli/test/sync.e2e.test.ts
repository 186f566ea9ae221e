// The built `reyna` binary against a real `reyna server start` process on a free loopback port with a temp data
// dir: push, pull, conflicts, an interrupted push, and buckets with shares and public links.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { dirname, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, cleanEnv, reyna, tempDir } from './_reyna.js';
import { need } from './_services.js';

const built = need('the built reyna CLI', existsSync(join(bin, '../../dist/commands/push.js')), 'run `npm run build`');
const pty = need('script(1), for a pseudo-terminal', existsSync('/usr/bin/script'), 'install util-linux');
const home = tempDir('reyna-sync-e2e-');
/** oclif in a load trace: the package, or the one file it is bundled into (src/_oclif.ts). */
const OCLIF = /\/@oclif\/core\/|\/dist\/_oclif\.c?js/;
let server: ChildProcess | undefined;
let url = '';
let owner = '';

function startServer(): Promise<{ url: string; ownerToken: string }> {
  const child = spawn(
    process.execPath,
    [bin, 'server', 'start', '--port', '0', '--edge-port', '0', '--data-dir', join(home, 'studio'), '--json'],
    { env: cleanEnv(home), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server = child;
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout?.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(stdout.split('\n')[0] as string));
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
}

beforeAll(async () => {
  if (!built) return;
  const info = await startServer();
  url = info.url;
  owner = info.ownerToken;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
}, 40_000);
afterAll(() => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

const as = (token: string) => ({ REYNA_SERVER: url, REYNA_TOKEN: token });
async function run(args: string[], cwd: string, token = owner) {
  const r = await reyna([...args, '--json'], { cwd, home, env: as(token) });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    json = undefined;
  }
  // biome-ignore lint/suspicious/noExplicitAny: answers of many shapes
  return { ...r, json: json as any };
}
async function ok(args: string[], cwd: string, token = owner) {
  const r = await run(args, cwd, token);
  if (r.code !== 0) throw new Error(`reyna ${args.join(' ')} exited ${r.code}: ${r.stdout}\n${r.stderr}`);
  return r.json;
}
let n = 0;
function dir(files: Record<string, string | Buffer> = {}): string {
  const root = join(home, `w${++n}`);
  mkdirSync(root, { recursive: true });
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), data);
  }
  return root;
}
const read = (root: string, path: string) => readFileSync(join(root, path));
async function api(path: string, token?: string, init: RequestInit = {}) {
  return fetch(`${url}${path}`, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
  });
}

// Every test of this block runs twice: each command in its own process, then with a sync daemon running (`reyna
// daemon start`), which status and push then go through. The answers must be the same.
describe.runIf(built).each([
  { mode: 'each command on its own', daemon: false },
  { mode: 'through the sync daemon', daemon: true },
])('reyna push / pull / clone (the real binary and server; $mode)', ({ daemon }) => {
  // App names are the user's own: the second run's are its own too.
  const tag = daemon ? '-d' : '';
  beforeAll(async () => {
    if (!daemon) return;
    const started = await ok(['daemon', 'start', '--idle-timeout', '10'], home);
    expect(started).toMatchObject({ started: true });
    expect(await ok(['daemon', 'start'], home)).toMatchObject({ started: false, pid: started.pid });
  }, 30_000);
  afterAll(async () => {
    if (!daemon) return;
    // It answered: every tree these tests pushed or asked the status of is one it watched.
    const info = await ok(['daemon', 'status'], home);
    expect(info.running).toBe(true);
    expect(info.trees.length).toBeGreaterThan(5);
    expect((await ok(['daemon', 'stop'], home)).stopped).toBe(true);
  }, 30_000);

  // Through the daemon, which follows the server's events, a status knows of a revision pushed by a command that did
  // not go through it, and of the app's deletion.
  it('sees a revision pushed by a command of its own, and the app deleted', async () => {
    const a = dir({ 'reyna.json': JSON.stringify({ name: `e2e-elsewhere${tag}` }), 'a.txt': 'a' });
    const appId = (await ok(['apps', 'create'], a)).app.id as string;
    await ok(['push'], a);
    expect(await ok(['status'], a)).toMatchObject({ clean: true, serverMoved: false });
    if (daemon) expect((await ok(['daemon', 'status'], home)).eventStreams).toMatchObject({ followed: 1, open: 1 });
    const b = join(home, `clone${++n}`);
    await ok(['clone', appId, b], home);
    writeFileSync(join(b, 'b.txt'), 'b');
    const alone = { ...as(owner), REYNA_NO_DAEMON: '1' };
    const pushed = await reyna(['push', '--json'], { cwd: b, home, env: alone });
    expect(pushed.code).toBe(0);
    expect(await ok(['status'], a)).toMatchObject({
      serverMoved: true,
      head: JSON.parse(pushed.stdout).revision,
      remote: { added: ['b.txt'] },
    });
    expect((await reyna(['apps', 'delete', appId, '--yes', '--json'], { cwd: home, home, env: alone })).code).toBe(0);
    expect((await run(['status'], a)).json.error.code).toBe('E_NOT_FOUND');
  });

  it('pushes from one directory and pulls into another byte for byte; one change uploads one blob', async () => {
    const bytes = randomBytes(50_000);
    const a = dir({
      'reyna.json': JSON.stringify({ name: `e2e-one${tag}` }),
      'index.html': `<h1>hello</h1>${tag}\n`,
      'assets/photo.bin': bytes,
      'bin/run.sh': `#!/bin/sh\necho hi${tag}\n`,
      'node_modules/dep/index.js': 'ignored',
      '.reynaignore': `secret.txt\n# run${tag}\n`,
      'secret.txt': 'never leaves',
    });
    chmodSync(join(a, 'bin/run.sh'), 0o755);
    const created = await ok(['apps', 'create'], a);
    const appId = created.app.id as string;
    expect(JSON.parse(read(a, 'reyna.json').toString()).appId).toBe(appId);

    const first = await ok(['push', '-m', 'first'], a);
    expect(first.summary).toMatchObject({ files: 5, transferred: 5 });
    expect(first.plan.changes.added).not.toContain('secret.txt');

    const b = join(home, `clone${++n}`);
    const cloned = await ok(['clone', appId, b], home);
    expect(cloned.revision).toBe(first.revision);
    for (const p of ['reyna.json', 'index.html', 'assets/photo.bin', 'bin/run.sh', '.reynaignore'])
      expect(read(b, p)).toEqual(read(a, p));
    expect(statSync(join(b, 'bin/run.sh')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(b, 'secret.txt'))).toBe(false);
    expect(existsSync(join(b, 'node_modules'))).toBe(false);

    const st = await ok(['status'], a);
    expect(st).toMatchObject({ clean: true, serverMoved: false });

    writeFileSync(join(a, 'index.html'), `<h1>hello again</h1>${tag}\n`);
    expect(await ok(['status'], a)).toMatchObject({ modified: ['index.html'], clean: false });
    const second = await ok(['push'], a);
    expect(second.summary).toMatchObject({ transferred: 1, bytesSent: `<h1>hello again</h1>${tag}\n`.length });

    expect(await ok(['status'], b)).toMatchObject({
      serverMoved: true,
      clean: true,
      remote: { added: [], modified: ['index.html'], deleted: [] },
      conflicts: [],
    });
    const moved = await reyna(['status'], { cwd: b, home, env: as(owner) });
    expect(moved.stdout).toContain(`The server moved on to ${second.revision} (1 file changed there)`);
    expect(moved.stdout).toMatch(/^ {2}modified {2}index\.html$/m);
    const pulled = await ok(['pull'], b);
    expect(pulled.revision).toBe(second.revision);
    expect(read(b, 'index.html')).toEqual(read(a, 'index.html'));

    const list = await ok(['apps', 'list'], home);
    expect(list.apps.map((x: { id: string }) => x.id)).toContain(appId);
  }, 60_000);

  it('status answers without loading oclif, exactly as the oclif command does', async () => {
    const a = dir({ 'reyna.json': JSON.stringify({ name: `e2e-fast${tag}` }), 'x.txt': 'x' });
    await ok(['apps', 'create'], a);
    await ok(['push'], a);
    writeFileSync(join(a, 'y.txt'), 'y');
    const tracer = join(bin, '../../test/fixtures/trace-loads.mjs');
    const both = async (args: string[], cwd: string) => {
      const trace = join(home, `trace-${++n}.txt`);
      const fast = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', tracer, bin, ...args], {
          cwd,
          env: cleanEnv(home, { ...as(owner), REYNA_TRACE_FILE: trace }),
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      const slow = await reyna(args, { cwd, home, env: { ...as(owner), REYNA_NO_FAST_PATH: '1' } });
      return { fast, slow, loaded: readFileSync(trace, 'utf8') };
    };
    const json = await both(['status', '--json'], a);
    expect(json.loaded).not.toMatch(OCLIF);
    // Nor zod: reyna.json and the server's answer go through the checks generated from its schemas.
    expect(json.loaded).not.toMatch(/\/zod\//);
    const { hashed: _h1, ...fastJson } = JSON.parse(json.fast.stdout);
    const { hashed: _h2, ...slowJson } = JSON.parse(json.slow.stdout);
    expect(fastJson).toEqual(slowJson);
    expect(fastJson).toMatchObject({ added: ['y.txt'], clean: false });
    const text = await both(['status'], a);
    expect(text.loaded).not.toMatch(OCLIF);
    expect(text.fast.stdout).toBe(text.slow.stdout);
    expect(text.fast.stdout).toMatch(/added\s+y\.txt/);
    // Errors: the same document, message and exit code.
    const unlinked = dir({ 'reyna.json': JSON.stringify({ name: `e2e-unlinked${tag}` }) });
    const failed = await both(['status', '--json'], unlinked);
    expect(failed.fast.code).toBe(1);
    expect(failed.slow.code).toBe(1);
    expect(JSON.parse(failed.fast.stdout)).toEqual(JSON.parse(failed.slow.stdout));
    expect(JSON.parse(failed.fast.stdout).error.code).toBe('E_NOT_LINKED');
    const failedText = await both(['status'], unlinked);
    expect(failedText.fast.stderr).toBe(failedText.slow.stderr);
    // Anything but the plain flags goes to oclif.
    const help = await both(['status', '--help'], a);
    expect(help.loaded).toMatch(OCLIF);
    expect(help.fast.stdout).toBe(help.slow.stdout);
  }, 90_000);

  it('push --json answers without loading oclif, as the oclif command does', async () => {
    const a = dir({ 'reyna.json': JSON.stringify({ name: `e2e-fast-push${tag}` }), 'x.txt': 'x0' });
    await ok(['apps', 'create'], a);
    await ok(['push'], a);
    const tracer = join(bin, '../../test/fixtures/trace-loads.mjs');
    // Revision ids, hashes and times differ from run to run; the rest is the same document.
    const same = (text: string) =>
      JSON.parse(
        text
          .replace(/rev-[0-9a-z]+/g, 'rev-X')
          .replace(/[0-9a-f]{64}/g, 'H')
          .replace(/"durationMs":\d+/g, '"durationMs":0'),
      );
    const push = async (args: string[], env: Record<string, string> = {}) => {
      const trace = join(home, `trace-${++n}.txt`);
      const r = await reyna(['push', ...args], {
        cwd: a,
        home,
        env: { ...as(owner), REYNA_TRACE_FILE: trace, ...env },
        node: ['--import', tracer],
      });
      return { ...r, loaded: readFileSync(trace, 'utf8') };
    };
    writeFileSync(join(a, 'x.txt'), `x1${tag}`);
    const fast = await push(['--json', '-m', 'one']);
    writeFileSync(join(a, 'x.txt'), `x2${tag}`);
    const slow = await push(['--json', '-m', 'one'], { REYNA_NO_FAST_PATH: '1' });
    expect(fast.code).toBe(0);
    expect(slow.code).toBe(0);
    expect(fast.loaded).not.toMatch(OCLIF);
    expect(fast.loaded).not.toMatch(/\/zod\//);
    expect(slow.loaded).toMatch(OCLIF);
    expect(same(fast.stdout)).toEqual(same(slow.stdout));
    expect(JSON.parse(fast.stdout)).toMatchObject({ summary: { transferred: 1 }, plan: { message: 'one' } });
    // Nothing to push, REYNA_JSON instead of --json: the same.
    const idle = await push([], { REYNA_JSON: '1' });
    const idleSlow = await push([], { REYNA_JSON: '1', REYNA_NO_FAST_PATH: '1' });
    expect(idle.loaded).not.toMatch(OCLIF);
    expect(same(idle.stdout)).toEqual(same(idleSlow.stdout));
    // An error: the same document and exit code.
    const unlinked = dir({ 'reyna.json': JSON.stringify({ name: `e2e-unlinked-push${tag}` }) });
    const [failed, failedSlow] = await Promise.all([
      reyna(['push', '--json'], { cwd: unlinked, home, env: as(owner) }),
      reyna(['push', '--json'], { cwd: unlinked, home, env: { ...as(owner), REYNA_NO_FAST_PATH: '1' } }),
    ]);
    expect(failed.code).toBe(1);
    expect([failed.code, failed.stdout, failed.stderr]).toEqual([
      failedSlow.code,
      failedSlow.stdout,
      failedSlow.stderr,
    ]);
    expect(JSON.parse(failed.stdout).error.code).toBe('E_NOT_LINKED');
    // Without --json (progress lines), or with another flag, oclif takes it.
    writeFileSync(join(a, 'x.txt'), 'x3');
    for (const args of [[], ['--json', '--dry-run'], ['--json', '--concurrency', '2']]) {
      const r = await push(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.loaded, args.join(' ')).toMatch(OCLIF);
    }
  }, 90_000);

  it('push --json stops on Ctrl-C as the command does: exit 130, E_INTERRUPTED, on either path', async () => {
    // A server that takes the request and never answers: the push is under way, its handlers set.
    const sockets: import('node:net').Socket[] = [];
    let arrived: () => void = () => {};
    const silent = createNetServer((socket) => {
      sockets.push(socket);
      arrived();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const server = `http://127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}`;
    const a = dir({ 'reyna.json': JSON.stringify({ name: `e2e-interrupt${tag}`, appId: 'app-x' }), 'x.txt': 'x' });
    const interrupted = async (env: Record<string, string>) => {
      const connected = new Promise<void>((resolve) => (arrived = resolve));
      const child = spawn(process.execPath, [bin, 'push', '--json'], {
        cwd: a,
        env: cleanEnv(home, { REYNA_SERVER: server, REYNA_TOKEN: 't', ...env }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      await connected;
      child.kill('SIGINT');
      return { code: await exited, stdout, stderr };
    };
    try {
      const fast = await interrupted({});
      const slow = await interrupted({ REYNA_NO_FAST_PATH: '1' });
      expect(fast.code).toBe(130);
      expect(JSON.parse(fast.stdout)).toEqual({ error: { code: 'E_INTERRUPTED', message: 'Interrupted' } });
      expect(fast.stderr).toContain('Interrupted: cleaning up');
      expect([fast.code, fast.stdout, fast.stderr]).toEqual([slow.code, slow.stdout, slow.stderr]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 60_000);

  it('two copies push on the same base: the second gets the conflict and loses nothing', async () => {
    const a = dir({ 'reyna.json': JSON.stringify({ name: `e2e-two${tag}` }), 'x.txt': 'x' });
    const appId = (await ok(['apps', 'create'], a)).app.id as string;
    await ok(['push'], a);
    const b = join(home, `clone${++n}`);
    await ok(['clone', appId, b], home);
    writeFileSync(join(a, 'a.txt'), 'from a');
    writeFileSync(join(b, 'b.txt'), 'from b');
    writeFileSync(join(b, 'x.txt'), 'b edits x');
    await ok(['push'], a);
    rmSync(join(b, '.reyna/hash-cache.json'), { force: true });
    const lost = await run(['push'], b);
    expect(lost.code).toBe(1);
    expect(lost.json.error).toMatchObject({ code: 'E_PUSH_CONFLICT' });
    // What the failed push hashed is kept for the next one.
    expect(Object.keys(JSON.parse(read(b, '.reyna/hash-cache.json').toString()).entries).sort()).toEqual([
      'b.txt',
      'reyna.json',
      'x.txt',
    ]);
    expect(lost.json.error.hint).toMatch(/reyna pull/);
    expect(read(b, 'b.txt').toString()).toBe('from b');
    expect(read(b, 'x.txt').toString()).toBe('b edits x');
    const human = await reyna(['push'], { cwd: b, home, env: as(owner) });
    expect(human.stderr).toMatch(/server moved on/i);
    // The server still has a's revision only.
    const head = await (await api(`/v1/apps/${appId}`, owner)).json();
    const rev = await (await api(`/v1/apps/${appId}/revisions/${head.head}`, owner)).json();
    expect(Object.keys(rev.files).sort()).toEqual(['a.txt', 'reyna.json', 'x.txt']);
  }, 60_000);

  it('pull refuses to overwrite local edits, listing them, and --force takes the server’s', async () => {
    const a = dir({ 'reyna.json': JSON.stringify({ name: `e2e-three${tag}` }), 'page.txt': 'v1' });
    const appId = (await ok(['apps', 'create'], a)).app.id as string;
    await ok(['push'], a);
    const b = join(home, `clone${++n}`);
    await ok(['clone', appId, b], home);
    writeFileSync(join(a, 'page.txt'), 'v2 from a');
    await ok(['push'], a);
    writeFileSync(join(b, 'page.txt'), 'local edit');
    const refused = await reyna(['pull'], { cwd: b, home, env: as(owner) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('page.txt');
    expect(refused.stderr).toMatch(/--force/);
    expect(read(b, 'page.txt').toString()).toBe('local edit');
    await ok(['pull', '--force'], b);
    expect(read(b, 'page.txt').toString()).toBe('v2 from a');
  }, 60_000);

  it('link: an empty directory becomes a copy; an app directory keeps its changes and pushes them on top', async () => {
    const a = dir({ 'reyna.json': JSON.stringify({ name: `e2e-link${tag}` }), 'page.txt': 'v1', 'extra.txt': 'e' });
    const appId = (await ok(['apps', 'create'], a)).app.id as string;
    const head = (await ok(['push'], a)).revision as string;

    const empty = dir();
    const human = await reyna(['link', appId], { cwd: empty, home, env: as(owner) });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Linked ./ to e2e-link${tag} (${appId}) at ${head}`);
    expect(human.stdout).toContain('Wrote 3 files from the server.');
    for (const p of ['reyna.json', 'page.txt', 'extra.txt']) expect(read(empty, p)).toEqual(read(a, p));
    expect(await ok(['status'], empty)).toMatchObject({ clean: true, serverMoved: false, base: head });

    const existing = dir({
      'reyna.json': JSON.stringify({ name: `e2e-link${tag}` }),
      'page.txt': 'mine',
      'new.txt': 'n',
    });
    const linked = await ok(['link', appId], existing);
    expect(linked.plan).toMatchObject({ write: [{ path: 'extra.txt' }], linked: false });
    const st = await reyna(['status'], { cwd: existing, home, env: as(owner) });
    expect(st.stdout).toMatch(/added\s+new\.txt/);
    expect(st.stdout).toMatch(/modified\s+page\.txt/);
    expect(st.stdout).not.toMatch(/extra\.txt/);
    expect((await ok(['pull'], existing)).upToDate).toBe(true);
    const pushed = await ok(['push'], existing);
    expect(pushed.plan.parent).toBe(head);
    const pulled = await ok(['pull'], empty);
    expect(read(empty, 'page.txt').toString()).toBe('mine');
    expect(read(empty, 'new.txt').toString()).toBe('n');
    expect(pulled.revision).toBe(pushed.revision);

    const other = dir({ 'reyna.json': JSON.stringify({ name: `e2e-link-other${tag}` }) });
    const otherId = (await ok(['apps', 'create'], other)).app.id as string;
    const refused = await run(['link', otherId], existing);
    expect(refused.code).toBe(1);
    expect(refused.json.error).toMatchObject({ code: 'E_ALREADY_LINKED' });
    expect(refused.json.error.hint).toContain('--force');
    expect((await ok(['link', otherId, '--force'], existing)).app.id).toBe(otherId);
    expect(JSON.parse(read(existing, 'reyna.json').toString()).appId).toBe(otherId);
  }, 90_000);

  it('pull --watch (spawned) pulls a revision another copy pushes, until it is stopped', async () => {
    const a = dir({ 'reyna.json': JSON.stringify({ name: `e2e-watch${tag}` }), 'w.txt': 'one' });
    const appId = (await ok(['apps', 'create'], a)).app.id as string;
    await ok(['push'], a);
    const b = join(home, `clone${++n}`);
    await ok(['clone', appId, b], home);
    const child = spawn(process.execPath, [bin, 'pull', '--watch', '--json'], {
      cwd: b,
      env: cleanEnv(home, as(owner)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    const events: { event: string; revision: string; upToDate: boolean }[] = [];
    let wake = () => {};
    let buffer = '';
    child.stdout.on('data', (d) => {
      buffer += d;
      for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
        events.push(JSON.parse(buffer.slice(0, end)));
        buffer = buffer.slice(end + 1);
        wake();
      }
    });
    const until = async (test: () => boolean, what: string) => {
      const deadline = Date.now() + 30_000;
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`pull --watch: no ${what} in 30 s`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 250);
        });
      }
    };
    try {
      // The first pull, as the stream opens: nothing new yet.
      await until(() => events.length > 0, 'first pull');
      expect(events[0]).toMatchObject({ event: 'pull', upToDate: true });
      writeFileSync(join(a, 'w.txt'), 'two');
      const pushed = await ok(['push'], a);
      await until(() => events.some((e) => e.revision === pushed.revision), 'pull of the new revision');
      expect(read(b, 'w.txt').toString()).toBe('two');
    } finally {
      child.kill('SIGTERM');
    }
    await exited;
    expect(await ok(['status'], b)).toMatchObject({ clean: true, serverMoved: false });
  }, 90_000);

  it('apps delete needs --yes, removes the app, and its copies say so', async () => {
    const a = dir({ 'reyna.json': JSON.stringify({ name: `e2e-doomed${tag}` }), 'x.txt': 'x' });
    const appId = (await ok(['apps', 'create'], a)).app.id as string;
    await ok(['push'], a);
    const unconfirmed = await run(['apps', 'delete', appId], home);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.json.error).toMatchObject({ code: 'E_CONFIRM' });
    expect(unconfirmed.json.error.hint).toContain('--yes');
    const deleted = await ok(['apps', 'delete', appId, '--yes'], home);
    expect(deleted.app).toMatchObject({ id: appId, name: `e2e-doomed${tag}` });
    expect((await ok(['apps', 'list'], home)).apps.map((x: { id: string }) => x.id)).not.toContain(appId);
    const gone = await run(['status'], a);
    expect(gone.code).toBe(1);
    expect(gone.json.error.code).toBe('E_NOT_FOUND');
    expect((await run(['apps', 'delete', appId, '--yes'], home)).json.error.code).toBe('E_NOT_FOUND');
  }, 60_000);

  it('a push killed mid-upload (SIGKILL) leaves no revision; run again, it uploads only the rest', async () => {
    const files: Record<string, Buffer> = { 'reyna.json': Buffer.from(JSON.stringify({ name: `e2e-kill${tag}` })) };
    for (let i = 0; i < 200; i++) files[`data/${String(i).padStart(3, '0')}.bin`] = randomBytes(64 * 1024);
    const a = dir(files);
    const appId = (await ok(['apps', 'create'], a)).app.id as string;
    // After `apps create`, so reyna.json's hash includes the appId it now holds.
    const hashes = Object.keys(files).map((p) => createHash('sha256').update(read(a, p)).digest('hex'));
    const missing = async () =>
      (
        (await (
          await api('/v1/blobs/missing', owner, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ hashes }),
          })
        ).json()) as { missing: string[] }
      ).missing.length;
    expect(await missing()).toBe(201);

    // One blob a batch, one batch at a time: slow enough to kill in the middle.
    const child = spawn(process.execPath, [bin, 'push', '--json', '--concurrency', '1', '--batch-files', '1'], {
      cwd: a,
      env: cleanEnv(home, as(owner)),
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    let left = 201;
    for (let i = 0; i < 400 && left > 150; i++) {
      await new Promise((r) => setTimeout(r, 10));
      left = await missing();
    }
    child.kill('SIGKILL');
    await exited;
    await new Promise((r) => setTimeout(r, 200));
    const remaining = await missing();
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThan(201);
    expect((await (await api(`/v1/apps/${appId}`, owner)).json()).head).toBeNull();

    const rerun = await ok(['push'], a);
    expect(rerun.summary.transferred).toBe(remaining);
    expect(await missing()).toBe(0);
    const head = await (await api(`/v1/apps/${appId}`, owner)).json();
    expect(head.head).toBe(rerun.revision);
  }, 90_000);
});

describe.runIf(built)('reyna bucket (the real binary and server)', () => {
  it('syncs up and down, shares read-only to a second user, and serves a public link until unlink', async () => {
    const src = dir({ 'a.txt': 'alpha', 'img/b.bin': randomBytes(20_000), 'c.txt': 'gamma' });
    await ok(['bucket', 'create', 'photos'], home);
    const up = await ok(['bucket', 'sync', src, 'photos'], home);
    expect(up.plan.transfer).toHaveLength(3);
    expect(up.summary.transferred).toBe(3);
    writeFileSync(join(src, 'a.txt'), 'alpha 2');
    rmSync(join(src, 'c.txt'));
    const again = await ok(['bucket', 'sync', src, 'photos', '--delete'], home);
    expect(again.plan).toMatchObject({ transfer: [{ key: 'a.txt' }], remove: ['c.txt'], unchanged: 1 });
    expect(again.summary).toMatchObject({ transferred: 1, bytesSent: 7 });
    const listed = await ok(['bucket', 'ls', 'photos'], home);
    expect(listed.objects.map((o: { key: string }) => o.key)).toEqual(['a.txt', 'img/b.bin']);

    const down = join(home, `down${++n}`);
    const d = await ok(['bucket', 'sync', 'photos', down], home);
    expect(d.plan.transfer).toHaveLength(2);
    expect(read(down, 'img/b.bin')).toEqual(read(src, 'img/b.bin'));
    expect(read(down, 'a.txt').toString()).toBe('alpha 2');
    const d2 = await ok(['bucket', 'sync', 'photos', down], home);
    expect(d2.plan).toMatchObject({ transfer: [], unchanged: 2 });

    const bob = (await ok(['server', 'token', 'create', '--user', 'bob'], home)).token as string;
    await ok(['bucket', 'share', 'photos', 'bob', '--read'], home);
    const got = join(home, 'bob-a.txt');
    await ok(['bucket', 'get', 'photos', 'a.txt', '-o', got], home, bob);
    expect(readFileSync(got, 'utf8')).toBe('alpha 2');
    const bobPut = await run(['bucket', 'put', 'photos', join(src, 'a.txt'), '--key', 'bob.txt'], home, bob);
    expect(bobPut.code).toBe(1);
    expect(bobPut.json.error.code).toBe('E_FORBIDDEN');
    await ok(['bucket', 'unshare', 'photos', 'bob'], home);
    expect((await run(['bucket', 'get', 'photos', 'a.txt'], home, bob)).code).toBe(1);

    const link = await ok(['bucket', 'link', 'photos'], home);
    const open = await fetch(`${link.url}/a.txt`);
    expect(open.status).toBe(200);
    expect(await open.text()).toBe('alpha 2');
    await ok(['bucket', 'unlink', 'photos'], home);
    expect((await fetch(`${link.url}/a.txt`)).status).toBe(404);

    const exported = join(home, 'photos.json');
    await ok(['bucket', 'export', 'photos', '-o', exported], home);
    const doc = JSON.parse(readFileSync(exported, 'utf8'));
    expect(Buffer.from(doc.objects.find((o: { key: string }) => o.key === 'a.txt').data, 'base64').toString()).toBe(
      'alpha 2',
    );
  }, 90_000);

  it('bucket put (with and without --key), ls of buckets and by prefix, share --write, rm', async () => {
    const files = dir({ 'cat.jpg': randomBytes(3000), 'notes.md': '# notes\n', 'song.bin': randomBytes(100) });
    await ok(['bucket', 'create', 'album'], home);
    const plain = await ok(['bucket', 'put', 'album', join(files, 'cat.jpg')], home);
    expect(plain.object).toMatchObject({ key: 'cat.jpg', size: 3000, contentType: 'image/jpeg' });
    expect(plain.summary).toMatchObject({ files: 1, transferred: 1, bytesSent: 3000 });
    const keyed = await ok(['bucket', 'put', 'album', join(files, 'notes.md'), '--key', '2024/notes.md'], home);
    expect(keyed.object).toMatchObject({ key: '2024/notes.md', contentType: 'text/markdown; charset=utf-8' });
    const human = await reyna(['bucket', 'put', 'album', join(files, 'cat.jpg'), '--key', '2024/cat.jpg'], {
      cwd: home,
      home,
      env: as(owner),
    });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('album/2024/cat.jpg');
    // The same bytes are on the server already: nothing is sent again.
    expect(human.stdout).toMatch(/1 files · 0 sent \(0 B\) · 2\.9 KiB skipped/);

    const buckets = await ok(['bucket', 'ls'], home);
    expect(buckets.buckets).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'album', access: 'owner' })]),
    );
    const listed = await reyna(['bucket', 'ls'], { cwd: home, home, env: as(owner) });
    expect(listed.stdout).toMatch(/^album\s+owner\s+\S+$/m);
    const prefixed = await ok(['bucket', 'ls', 'album', '--prefix', '2024/'], home);
    expect(prefixed.objects.map((o: { key: string }) => o.key)).toEqual(['2024/cat.jpg', '2024/notes.md']);
    const prefixedText = await reyna(['bucket', 'ls', 'album', '--prefix', '2024/'], {
      cwd: home,
      home,
      env: as(owner),
    });
    expect(
      prefixedText.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).pop()),
    ).toEqual(['2024/cat.jpg', '2024/notes.md']);
    const got = await reyna(['bucket', 'get', 'album', '2024/notes.md'], { cwd: home, home, env: as(owner) });
    expect(got.stdout).toBe('# notes\n');

    // A writer may put; the bucket shows in their list as shared for writing.
    const erin = (await ok(['server', 'token', 'create', '--user', 'erin'], home)).token as string;
    await ok(['bucket', 'share', 'album', 'erin', '--write'], home);
    expect((await ok(['bucket', 'ls'], home, erin)).buckets).toEqual([
      expect.objectContaining({ name: 'album', access: 'write' }),
    ]);
    const byErin = await ok(['bucket', 'put', 'album', join(files, 'song.bin'), '--key', 'erin/song.bin'], home, erin);
    expect(byErin.object).toMatchObject({ key: 'erin/song.bin', size: 100 });
    expect((await ok(['bucket', 'ls', 'album', '--prefix', 'erin/'], home)).objects).toHaveLength(1);
    // Only the owner deletes the bucket.
    const notHers = await run(['bucket', 'rm', 'album'], home, erin);
    expect(notHers.code).toBe(1);
    await ok(['bucket', 'rm', 'album'], home);
    expect((await ok(['bucket', 'ls'], home)).buckets.map((b: { name: string }) => b.name)).not.toContain('album');
    const after = await run(['bucket', 'ls', 'album'], home);
    expect(after.json.error.code).toBe('E_BUCKET_NOT_FOUND');
  }, 90_000);

  it.runIf(pty)(
    'a large blob put, bucket put and bucket get show progress on a terminal and end with a summary line',
    async () => {
      const big = randomBytes(8 * 1024 * 1024);
      const d = dir({ 'big.bin': big });
      // Under script(1) the CLI has a pseudo-terminal, and renders progress as it would for a person.
      const tty = (args: string[]) =>
        new Promise<{ code: number | null; out: string }>((resolve, reject) => {
          const line = [process.execPath, bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
          // A pseudo-terminal starts 0 columns wide; give it a person's.
          const child = spawn('script', ['-qec', `stty cols 160 rows 40; ${line}`, '/dev/null'], {
            cwd: d,
            env: cleanEnv(home, as(owner)),
          });
          let out = '';
          child.stdout.on('data', (chunk) => (out += chunk));
          child.on('error', reject);
          child.on('close', (code) => resolve({ code, out }));
        });
      const plain = (text: string) =>
        stripVTControlCharacters(text)
          .replaceAll('\r', '')
          .replace(/\b\d+ ms\b/g, '<n> ms');

      const put = await tty(['blob', 'put', 'big.bin']);
      expect(put.code).toBe(0);
      const putOut = plain(put.out);
      expect(putOut).toMatch(/Hash files: 1 file hashed/);
      expect(putOut).toMatch(/Upload: 1 file\b/);
      expect(putOut).toContain(`${createHash('sha256').update(big).digest('hex')}  big.bin`);
      expect(putOut).toContain('1 files · 1 sent (8.0 MiB) · 0 B skipped · <n> ms');

      await ok(['bucket', 'create', 'large'], home);
      // Not a terminal: plain step lines, and the same summary, the bytes being on the server already.
      const bucketPut = await reyna(['bucket', 'put', 'large', 'big.bin'], { cwd: d, home, env: as(owner) });
      expect(bucketPut.code).toBe(0);
      expect(plain(bucketPut.stdout).trim().split('\n').at(-1)).toBe(
        '1 files · 0 sent (0 B) · 8.0 MiB skipped · <n> ms',
      );

      const get = await tty(['bucket', 'get', 'large', 'big.bin', '-o', 'back.bin']);
      expect(get.code).toBe(0);
      const getOut = plain(get.out);
      expect(getOut).toMatch(/Download: 1 file\b/);
      expect(getOut).toContain(`✔ ${big.length} bytes → ${join(d, 'back.bin')}`);
      expect(getOut).toContain('1 files · 1 received (8.0 MiB) · 0 B skipped · <n> ms');
      expect(read(d, 'back.bin').equals(big)).toBe(true);
    },
    90_000,
  );

  it('blob put, ls (rows, --limit, --prefix, --json) and get', async () => {
    const carol = (await ok(['server', 'token', 'create', '--user', 'carol'], home)).token as string;
    const blob = dir({ 'x.bin': randomBytes(1000), 'y.txt': 'why\n', 'z.txt': 'zed\n' });
    const files = ['x.bin', 'y.txt', 'z.txt'].map((f) => join(blob, f));
    const put = await ok(['blob', 'put', ...files], home, carol);
    const shas = (put.blobs as { sha256: string }[]).map((b) => b.sha256);
    expect(shas).toEqual(files.map((f) => createHash('sha256').update(readFileSync(f)).digest('hex')));

    const human = await reyna(['blob', 'ls'], { cwd: home, home, env: as(carol) });
    expect(human.code).toBe(0);
    const rows = human.stdout.trim().split('\n');
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual([...shas].sort());
    expect(rows.find((r) => r.startsWith(shas[0] as string))).toMatch(/1000 B\s+\d{4}-\d\d-\d\dT/);
    expect(human.stderr).toMatch(/3 blobs, 1008 B/);

    const limited = await ok(['blob', 'ls', '--limit', '2'], home, carol);
    expect(limited.blobs).toHaveLength(2);
    expect(limited.more).toBe(true);
    const limitedText = await reyna(['blob', 'ls', '--limit', '2'], { cwd: home, home, env: as(carol) });
    expect(limitedText.stderr).toMatch(/--limit/);
    const byPrefix = await ok(['blob', 'ls', '--prefix', (shas[1] as string).slice(0, 8)], home, carol);
    expect(byPrefix.blobs.map((b: { sha256: string }) => b.sha256)).toEqual([shas[1]]);
    expect(byPrefix.blobs[0]).toMatchObject({ size: 4 });
    const bad = await run(['blob', 'ls', '--prefix', 'not-hex'], home, carol);
    expect(bad.code).toBe(2);
    expect(bad.json.error.code).toBe('E_INVALID_INPUT');
    // Another user's list is theirs alone.
    const bob = (await ok(['server', 'token', 'create', '--user', 'dave'], home)).token as string;
    expect((await ok(['blob', 'ls'], home, bob)).blobs).toEqual([]);

    await ok(['blob', 'get', shas[0] as string, '-o', join(blob, 'back.bin')], home, carol);
    expect(read(blob, 'back.bin')).toEqual(read(blob, 'x.bin'));
  }, 60_000);
});
