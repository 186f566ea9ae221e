// The built `reyna` binary, spawned as a user would: run `npx tsc -b packages/cli && node packages/cli/scripts/manifest.mjs`
// (or `npm run build`) first.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('..', import.meta.url));
const bin = join(cli, 'bin', 'run.js');
const pkg = JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')) as { name: string; version: string };
const tracer = join(cli, 'test', 'fixtures', 'trace-loads.mjs');

let home: string;

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: no REYNA_* or CI from the machine running the tests, config and cache in a temp home. */
function environment(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(REYNA_|CI$|NODE_ENV$|FORCE_COLOR$|NO_COLOR$|XDG_|VITEST)/.test(k)) env[k] = v;
  }
  Object.assign(env, { HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') }, extra);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

function start(
  args: string[],
  options: { env?: Record<string, string | undefined>; node?: string[]; entry?: string } = {},
) {
  return spawn(process.execPath, [...(options.node ?? []), options.entry ?? bin, ...args], {
    cwd: home,
    env: environment(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finish(child: ChildProcess): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const reyna = (
  args: string[],
  options: { env?: Record<string, string | undefined>; node?: string[]; entry?: string } = {},
) => finish(start(args, options));

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'reyna-cli-test-'));
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

describe('reyna --version', () => {
  const userAgent = `${pkg.name}/${pkg.version} ${process.platform === 'linux' ? '(linux|wsl)' : process.platform}-${arch()} node-${process.version}`;

  it.each([['--version'], ['-v'], ['version']])('%s prints oclif’s version line', async (flag) => {
    const r = await reyna([flag]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^${userAgent.replaceAll('.', '\\.').replaceAll('/', '\\/')}\n$`));
  });

  it('says exactly what oclif itself says', async () => {
    const [fast, slow] = await Promise.all([
      reyna(['--version']),
      reyna(['--version'], { env: { REYNA_NO_FAST_PATH: '1' } }),
    ]);
    expect(fast.stdout).toBe(slow.stdout);
  });

  it('answers `version --json` through the command', async () => {
    const r = await reyna(['version', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: pkg.name, version: pkg.version, node: process.version });
  });
});

// The package's bin: CommonJS, answering a status the sync daemon answers and handing everything else to
// bin/run.js (the e2e tests spawn it for every command; status through a daemon: sync.e2e.test.ts).
describe('bin/reyna.cjs', () => {
  const entry = join(cli, 'bin', 'reyna.cjs');
  it('is the bin of the package', () => {
    const manifest = JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(manifest.bin).toEqual({ reyna: './bin/reyna.cjs' });
  });

  it.each([[['--version']], [['--help']], [['status', '--json']], [['status', '--bogus']], [['nope']]])(
    '%j answers as bin/run.js does',
    async (args) => {
      const [launched, direct] = await Promise.all([reyna(args, { entry }), reyna(args)]);
      expect([launched.code, launched.stdout, launched.stderr]).toEqual([direct.code, direct.stdout, direct.stderr]);
    },
  );
});

describe('reyna --help', () => {
  it('lists the commands', async () => {
    const r = await reyna(['--help']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('USAGE\n  $ reyna [COMMAND]');
    for (const command of ['doctor', 'version', 'autocomplete'])
      expect(r.stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    expect(r.stdout).toContain(`${pkg.name}/${pkg.version}`);
    expect(r.stdout).not.toContain('%REYNA_USER_AGENT%');
  });

  it.each([[[]], [['-h']], [['help']]])('%j prints the same root help', async (args) => {
    const [a, b] = await Promise.all([reyna(args), reyna(['--help'])]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  it('is what oclif would render: the pre-rendered text is not stale', async () => {
    const [fast, slow] = await Promise.all([
      reyna(['--help']),
      reyna(['--help'], { env: { REYNA_NO_FAST_PATH: '1' } }),
    ]);
    expect(fast.stdout).toBe(slow.stdout);
  });

  it('is coloured only when asked, and never with NO_COLOR', async () => {
    const esc = '\u001b[';
    expect((await reyna(['--help'])).stdout).not.toContain(esc);
    expect((await reyna(['--help'], { env: { FORCE_COLOR: '1' } })).stdout).toContain(`${esc}1mCOMMANDS`);
    expect((await reyna(['--help'], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } })).stdout).not.toContain(esc);
  });

  it('shows a command’s help through oclif', async () => {
    for (const args of [
      ['doctor', '--help'],
      ['help', 'doctor'],
    ]) {
      const r = await reyna(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('$ reyna doctor [--json] [-y] [--server <url>]');
      expect(r.stdout).toContain('[env: REYNA_SERVER]');
    }
  });
});

describe('the fast path', () => {
  async function loads(args: string[]): Promise<string[]> {
    const file = join(home, `trace-${args.join('_') || 'none'}-${Date.now()}.txt`);
    const r = await reyna(args, { node: ['--import', tracer], env: { REYNA_TRACE_FILE: file } });
    expect(r.code).toBe(0);
    return readFileSync(file, 'utf8').trim().split('\n');
  }

  it.each([[['--version']], [['-v']], [['version']], [['--help']], [[]]])(
    'loads nothing but node built-ins for %j',
    async (args) => {
      const loaded = await loads(args);
      expect(loaded).toContain(`esm file://${bin}`);
      expect(loaded.filter((line) => !line.startsWith('esm node:') && line !== `esm file://${bin}`)).toEqual([]);
    },
  );

  it('would notice: the tracer sees oclif load for a command, as the one bundled file', async () => {
    const loaded = await loads(['doctor', '--help']);
    expect(loaded).toContain(`cjs ${join(cli, 'dist', '_oclif.cjs')}`);
    expect(loaded.filter((line) => line.includes('/@oclif/core/'))).toEqual([]);
  });

  it('reyna build, off a terminal, loads neither zod (reyna.json is checked without it) nor listr2', async () => {
    const app = join(home, 'loads-app');
    mkdirSync(app, { recursive: true });
    const command = "mkdir -p dist/client dist/worker && echo 'export default {}' > dist/worker/index.js";
    writeFileSync(join(app, 'reyna.json'), JSON.stringify({ name: 'loads-app', build: { command } }));
    const file = join(home, `trace-build-${Date.now()}.txt`);
    const r = await finish(
      spawn(process.execPath, ['--import', tracer, bin, 'build'], {
        cwd: app,
        env: environment({ REYNA_TRACE_FILE: file }),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('↓ Type check [skipped]\n✔ Client (Vite)\n');
    const loaded = readFileSync(file, 'utf8');
    expect(loaded).toContain('/core/dist/build/index.js');
    expect(loaded).not.toMatch(/\/node_modules\/(zod|listr2)\//);
  });

  it('reyna build that fails on its command line ends at once: the Vite thread started for it is not waited for', async () => {
    const app = join(home, 'bad-flag-app');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'reyna.json'), JSON.stringify({ name: 'bad-flag-app' }));
    const file = join(home, `trace-bad-flag-${Date.now()}.txt`);
    const started = performance.now();
    const r = await finish(
      spawn(process.execPath, ['--import', tracer, bin, 'build', '--plan', 'huge'], {
        cwd: app,
        env: environment({ REYNA_TRACE_FILE: file }),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('huge');
    // The thread was started (prepare.js starts it to load Vite), and the process did not stay for it to finish.
    // Whether the thread got as far as loading its own module before the exit depends on the machine's load.
    const trace = readFileSync(file, 'utf8');
    expect(trace).toContain('/core/dist/build/prepare.js');
    expect(trace).toContain('node:worker_threads');
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('reyna build without oclif', () => {
  /** An app whose build is a shell command: the whole build path runs, in a few milliseconds. */
  function app(name: string, config: Record<string, unknown> = {}): string {
    const dir = join(home, name);
    mkdirSync(dir, { recursive: true });
    const command = "mkdir -p dist/client dist/worker && echo 'export default {}' > dist/worker/index.js";
    writeFileSync(join(dir, 'reyna.json'), JSON.stringify({ name, build: { command }, ...config }));
    return dir;
  }
  /** `reyna build …` in dir with the fast path and through oclif, and what the fast one loaded. */
  async function both(dir: string, args: string[], env: Record<string, string> = {}) {
    const file = join(home, `trace-fast-build-${Date.now()}-${Math.random()}.txt`);
    const run = (extra: Record<string, string>, node: string[] = []) =>
      finish(
        spawn(process.execPath, [...node, bin, 'build', ...args], {
          cwd: dir,
          env: environment({ ...env, ...extra }),
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
    const fast = await run({ REYNA_TRACE_FILE: file }, ['--import', tracer]);
    const slow = await run({ REYNA_NO_FAST_PATH: '1' });
    const loaded = readFileSync(file, 'utf8');
    // What differs from one build to the next: its id, its times, its place.
    const same = (text: string) =>
      text
        .replace(/\d{8}-\d{6}-[0-9a-f]{6}/g, '<id>')
        .replace(/"(durationMs|install|typecheck|client|worker|check)":\d+/g, '"$1":0')
        .replace(/\d+ ms/g, '0 ms');
    return {
      fast: { ...fast, stdout: same(fast.stdout), stderr: same(fast.stderr) },
      slow: { ...slow, stdout: same(slow.stdout), stderr: same(slow.stderr) },
      loaded,
    };
  }
  const OCLIF = /\/@oclif\/core\/|\/dist\/_oclif\.cjs/;

  it('prints what the oclif command prints, loading no oclif', async () => {
    const dir = app('fast-app');
    for (const args of [[], ['--json'], ['--no-typecheck', '--plan', 'paid', '-y'], ['--plan=free', '--no-install']]) {
      const { fast, slow, loaded } = await both(dir, args);
      expect(fast.code, fast.stderr).toBe(0);
      expect(fast).toEqual(slow);
      expect(loaded).not.toMatch(OCLIF);
      expect(loaded).toContain('/cli/dist/fast-build.js');
    }
    const { fast } = await both(dir, ['--json'], { REYNA_PLAN: 'paid' });
    expect(JSON.parse(fast.stdout).report.plan).toBe('paid');
  });

  it('fails as the oclif command fails: the same message, document and exit code', async () => {
    const dir = join(home, 'not-an-app');
    mkdirSync(dir, { recursive: true });
    for (const args of [[], ['--json']]) {
      const { fast, slow, loaded } = await both(dir, args);
      expect(fast.code).toBe(1);
      expect(fast).toEqual(slow);
      expect(fast.stdout + fast.stderr).toContain('has no reyna.json');
      // The error module knows oclif's errors: a failed build may load oclif to print its error.
      expect(loaded).toContain('/cli/dist/fast-build.js');
    }
  });

  it('leaves to oclif what it does not parse: help, other flags, bad values, their env twins', async () => {
    const dir = app('slow-app');
    for (const [args, env] of [
      [['--help'], {}],
      [['--plan', 'huge'], {}],
      [['--json', '--json'], {}],
      [['extra'], {}],
      [[], { REYNA_PLAN: 'huge' }],
      [[], { REYNA_CONCURRENCY: 'x' }],
    ] as [string[], Record<string, string>][]) {
      const { fast, slow, loaded } = await both(dir, args, env);
      expect(fast).toEqual(slow);
      expect(loaded, args.join(' ')).toMatch(OCLIF);
    }
  });
});

describe('reyna doctor', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('--json prints one JSON document with every check, and exits 1 only if one failed', async () => {
    const r = await reyna(['doctor', '--json']);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string; ok: boolean }[] };
    expect(report.checks.map((c) => c.name)).toEqual(['node', 'git', 'docker', 'server', 'credentials']);
    for (const c of report.checks) expect(['ok', 'warn', 'fail']).toContain(c.status);
    expect(report.checks.find((c) => c.name === 'node')?.status).toBe('ok');
    expect(report.checks.find((c) => c.name === 'server')?.status).toBe('warn');
    expect(r.code).toBe(report.checks.some((c) => c.status === 'fail') ? 1 : 0);
    expect(report.ok).toBe(r.code === 0);
  });

  it('checks the server from REYNA_SERVER and the token and mode of the credentials file', async () => {
    const dir = join(home, 'config', 'reyna');
    mkdirSync(dir, { recursive: true });
    const creds = join(dir, 'credentials.json');
    writeFileSync(creds, JSON.stringify({ servers: { [url]: { token: 'secret' } }, default: url }));
    chmodSync(creds, 0o644);
    const r = await reyna(['doctor'], { env: { REYNA_SERVER: url } });
    expect(r.stdout).toMatch(new RegExp(`^✔ server — ${url} answered in \\d+ ms$`, 'm'));
    expect(r.stdout).toContain(`✔ credentials — token for ${url} in ${creds}\n`);
    expect(r.stdout).toContain(
      `! credentials file — ${creds} is readable by others (mode 0644)\n    fix: chmod 600 ${creds}\n`,
    );
    expect(r.stdout).not.toContain('secret');
    rmSync(creds);
  });

  it('fails an unreachable server with the fix on the next line', async () => {
    const r = await reyna(['doctor', '--server', 'http://127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✖ server — cannot reach http:\/\/127\.0\.0\.1:9\/healthz: .+\n {4}fix: .+$/m);
  });
});

describe('usage errors', () => {
  it('an unknown flag exits 2 with Error and Hint on stderr', async () => {
    const r = await reyna(['doctor', '--bogus']);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe('Error: Nonexistent flag: --bogus\nHint: Run `reyna doctor --help`.\n');
  });

  it('with --json (or REYNA_JSON) the error is the one JSON document on stdout', async () => {
    for (const run of [
      reyna(['doctor', '--bogus', '--json']),
      reyna(['doctor', '--bogus'], { env: { REYNA_JSON: '1' } }),
    ]) {
      const r = await run;
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toEqual({
        error: { code: 'E_USAGE', message: 'Nonexistent flag: --bogus', hint: 'Run `reyna doctor --help`.' },
      });
      expect(r.stderr).toBe('');
    }
  });

  it('an unknown command exits 2 and suggests the closest', async () => {
    const r = await reyna(['doctr']);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe('Error: Unknown command "doctr"\nHint: Did you mean `reyna doctor`?\n');
    const j = await reyna(['frobnicate', '--json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: 'E_USAGE', message: 'Unknown command "frobnicate"' } });
  });
});

describe('bugs', () => {
  it('a promise rejected with no handler is rendered as a bug and exits 70', async () => {
    // Rejects inside the real binary once it is running (or after 2 s regardless).
    const inject = `data:text/javascript,const t0 = Date.now(); const poll = setInterval(() => {
      if (process.listenerCount('unhandledRejection') === 0 && Date.now() - t0 < 2000) return;
      clearInterval(poll); Promise.reject(new Error('nobody handled this'));
    }, 1);`;
    const r = await reyna(['doctor'], { node: ['--import', inject] });
    expect(r.code).toBe(70);
    expect(r.stderr).toContain('Error: nobody handled this');
    expect(r.stderr).toContain('This is a bug in reyna; please report it at');
  });
});

describe('shell completion', () => {
  it('`autocomplete --help` works and `autocomplete bash` prints the setup', async () => {
    const help = await reyna(['autocomplete', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('$ reyna autocomplete [SHELL]');
    const bash = await reyna(['autocomplete', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('reyna autocomplete script bash');
    expect(bash.stdout).toContain('.bashrc');
  });
});

describe('signals', () => {
  const fixture = join(cli, 'test', 'fixtures', 'slow-command.mjs');
  function slow(mode: string) {
    const child = spawn(process.execPath, [fixture, mode], { env: environment({}), stdio: ['ignore', 'pipe', 'pipe'] });
    const done = finish(child);
    const ready = new Promise<void>((resolve) => {
      let seen = '';
      child.stderr.on('data', (d) => {
        seen += d;
        if (seen.includes('ready')) resolve();
      });
    });
    return { child, done, ready };
  }

  it('the first Ctrl-C aborts the signal so the command can clean up, then exits 130', async () => {
    const { child, done, ready } = slow('cooperative');
    await ready;
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('Interrupted: cleaning up');
    expect(r.stderr).toMatch(/Interrupted\n$/);
  });

  it('a second Ctrl-C exits 130 at once', async () => {
    const { child, done, ready } = slow('stubborn');
    await ready;
    child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGINT');
    const started = Date.now();
    const r = await done;
    expect(r.code).toBe(130);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
