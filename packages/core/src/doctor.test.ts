import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsPath, type DoctorOptions, type ExecResult, runDoctor } from './doctor.js';
import { ReynaError } from './errors.js';

const HOME = '/home/ada';
const CREDS = '/home/ada/.config/reyna/credentials.json';

type Answer = ExecResult | 'missing';

/** A machine with everything in order, every part of which a test can replace. */
function machine(
  over: Partial<DoctorOptions> & { programs?: Record<string, Answer>; files?: Record<string, [string, number]> } = {},
) {
  const programs: Record<string, Answer> = {
    git: { exitCode: 0, stdout: 'git version 2.43.0\n', stderr: '' },
    docker: { exitCode: 0, stdout: '27.5.1\n', stderr: '' },
    ...over.programs,
  };
  const files = over.files ?? {};
  const calls: string[] = [];
  const options: DoctorOptions = {
    env: { HOME },
    nodeVersion: '20.19.0',
    platform: 'linux',
    homedir: HOME,
    exec: async (file, args) => {
      calls.push([file, ...args].join(' '));
      const answer = programs[file];
      if (answer === undefined || answer === 'missing') {
        throw new ReynaError('E_COMMAND_NOT_FOUND', `\`${file}\` is not installed or not on PATH`);
      }
      return answer;
    },
    fetch: async () => {
      throw new Error('no network in this test');
    },
    readFile: async (path) => {
      const f = files[path];
      if (!f) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return f[0];
    },
    stat: async (path) => {
      const f = files[path];
      if (!f) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return { mode: 0o100000 | f[1] };
    },
    ...over,
  };
  return { options, calls };
}

const byName = async (options: DoctorOptions) => {
  const report = await runDoctor(options);
  return { report, c: Object.fromEntries(report.checks.map((c) => [c.name, c])) };
};

describe('runDoctor', () => {
  it('passes on a fresh machine, with warnings for the server and credentials it cannot check yet', async () => {
    const { report, c } = await byName(machine().options);
    expect(report.ok).toBe(true);
    expect(report.checks.map((x) => [x.name, x.status])).toEqual([
      ['node', 'ok'],
      ['git', 'ok'],
      ['docker', 'ok'],
      ['server', 'warn'],
      ['credentials', 'warn'],
    ]);
    expect(c.git?.detail).toBe('2.43.0');
    expect(c.docker?.detail).toBe('engine 27.5.1');
    expect(c.server?.fix).toBe('Pass --server <url> or set REYNA_SERVER');
    expect(c.credentials?.detail).toContain(CREDS);
    expect(c.node).toEqual({ name: 'node', ok: true, status: 'ok', detail: 'v20.19.0' });
  });

  it('fails an old Node', async () => {
    const { report, c } = await byName(machine({ nodeVersion: '20.18.3' }).options);
    expect(report.ok).toBe(false);
    expect(c.node).toMatchObject({ status: 'fail', ok: false, detail: 'v20.18.3 is older than v20.19.0' });
    expect((await byName(machine({ nodeVersion: 'v22.0.0' }).options)).c.node?.status).toBe('ok');
  });

  it('tells a missing git apart, with the install command for the platform', async () => {
    const { c } = await byName(machine({ programs: { git: 'missing' } }).options);
    expect(c.git).toMatchObject({ status: 'fail', detail: 'git is not on PATH', fix: 'sudo apt-get install git' });
    const mac = await byName(machine({ programs: { git: 'missing' }, platform: 'darwin' }).options);
    expect(mac.c.git?.fix).toBe('brew install git');
  });

  it('tells a missing docker CLI from an engine that is not running, and only warns: builds need it only with --docker', async () => {
    const missing = await byName(machine({ programs: { docker: 'missing' } }).options);
    expect(missing.c.docker).toMatchObject({
      status: 'warn',
      detail: 'docker CLI is not on PATH',
      fix: 'sudo apt-get install docker.io',
    });
    const stderr =
      'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n';
    const down = await byName(machine({ programs: { docker: { exitCode: 1, stdout: '\n', stderr } } }).options);
    expect(down.report.ok).toBe(true);
    expect(down.c.docker?.status).toBe('warn');
    expect(down.c.docker?.detail).toBe(`docker CLI found but the engine is not running: ${stderr.trim()}`);
    expect(down.c.docker?.fix).toContain('sudo systemctl start docker');
    expect(down.c.docker?.fix).toContain('dockerd');
    const denied = 'permission denied while trying to connect to the Docker daemon socket';
    const perm = await byName(machine({ programs: { docker: { exitCode: 1, stdout: '', stderr: denied } } }).options);
    expect(perm.c.docker?.fix).toContain('usermod -aG docker');
  });

  it('reads the token and default server from the credentials file, under XDG_CONFIG_HOME when set', async () => {
    expect(credentialsPath({ XDG_CONFIG_HOME: '/x' }, HOME)).toBe('/x/reyna/credentials.json');
    expect(credentialsPath({}, HOME)).toBe(CREDS);
    const file = JSON.stringify({
      servers: { 'http://studio.test:8787/': { token: 't0k' } },
      default: 'http://studio.test:8787',
    });
    const seen: string[] = [];
    const { options } = machine({
      files: { [CREDS]: [file, 0o600] },
      fetch: async (url) => {
        seen.push(String(url));
        return new Response('{"ok":true}', { status: 200 });
      },
    });
    const { report, c } = await byName(options);
    expect(report.ok).toBe(true);
    expect(seen).toEqual(['http://studio.test:8787/healthz']);
    expect(c.server?.status).toBe('ok');
    expect(c.server?.detail).toContain(`default in ${CREDS}`);
    expect(c.credentials).toMatchObject({ status: 'ok', detail: `token for http://studio.test:8787 in ${CREDS}` });
    expect(c['credentials file']).toMatchObject({ status: 'ok', detail: `${CREDS} (mode 0600)` });
  });

  it('warns about a credentials file others can read, with the chmod to run', async () => {
    const file = JSON.stringify({ servers: {} });
    const { c, report } = await byName(
      machine({ files: { [CREDS]: [file, 0o644] }, env: { HOME, REYNA_TOKEN: 'x' } }).options,
    );
    expect(report.ok).toBe(true);
    expect(c.credentials).toMatchObject({ status: 'ok', detail: 'token from REYNA_TOKEN' });
    expect(c['credentials file']).toMatchObject({ status: 'warn', fix: `chmod 600 ${CREDS}` });
    expect(c['credentials file']?.detail).toContain('mode 0644');
  });

  it('fails a credentials file that is not JSON', async () => {
    const { c, report } = await byName(machine({ files: { [CREDS]: ['{oops', 0o600] } }).options);
    expect(report.ok).toBe(false);
    expect(c.credentials?.status).toBe('fail');
    expect(c.credentials?.detail).toContain('not valid JSON');
  });

  it('fails a server URL that is not http(s) without fetching it', async () => {
    const { c } = await byName(machine({ server: 'ftp://nope' }).options);
    expect(c.server).toMatchObject({ status: 'fail', detail: '"ftp://nope" is not an http(s) URL' });
  });
});

describe('runDoctor against a real HTTP server', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/healthz') res.end('{"ok":true}');
      else if (req.url === '/sick/healthz') res.writeHead(503).end();
      // /slow/healthz never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const options = (server: string) => ({ ...machine({ server }).options, fetch: globalThis.fetch, healthTimeout: 300 });

  it('checks /healthz on the server given by --server', async () => {
    const { c } = await byName(options(`${url}/`));
    expect(c.server?.status).toBe('ok');
    expect(c.server?.detail).toMatch(new RegExp(`^${url} answered in \\d+ ms$`));
    expect(c.credentials).toMatchObject({ status: 'warn' });
  });

  it('fails a server that answers with an error status, one that does not answer, and one that is down', async () => {
    expect((await byName(options(`${url}/sick`))).c.server?.detail).toBe(`${url}/sick/healthz answered HTTP 503`);
    const slow = (await byName(options(`${url}/slow`))).c.server;
    expect(slow).toMatchObject({ status: 'fail', detail: `cannot reach ${url}/slow/healthz: no answer within 0.3 s` });
    expect(slow?.fix).toContain(`${url}/slow`);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const down = (await byName(options(`http://127.0.0.1:${port}`))).c.server;
    expect(down?.detail).toBe(`cannot reach http://127.0.0.1:${port}/healthz: ECONNREFUSED`);
    const bad = (await byName(options('http://127.0.0.1:9'))).c.server;
    expect(bad?.detail).toBe('cannot reach http://127.0.0.1:9/healthz: bad port');
  });
});

describe('runDoctor with the real programs of this machine', () => {
  it('finds git, which the test suite needs anyway', async () => {
    const report = await runDoctor({ env: process.env, fetch: machine().options.fetch });
    const git = report.checks.find((c) => c.name === 'git');
    expect(git).toMatchObject({ status: 'ok' });
    expect(git?.detail).toMatch(/^\d+\.\d+/);
    expect(report.checks.find((c) => c.name === 'docker')?.detail).toMatch(/^(engine |docker CLI)/);
  });
});
