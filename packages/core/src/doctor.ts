import { readFile as fsReadFile, stat as fsStat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { run } from './_exec.js';
import { isReynaError } from './errors.js';
import { type Credentials, credentialsPath } from './studio/credentials.js';

/** The Node.js release reyna needs (require(esm), stable fetch, `AbortSignal.any`). */
export const MIN_NODE_VERSION = '20.19.0';
/** How long `reyna doctor` waits for a studio server's `/healthz`. */
export const HEALTH_TIMEOUT_MS = 3000;
const DOCKER_TIMEOUT_MS = 10_000;

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** Docker is needed only by `reyna build --docker`: its absence warns and does not fail the doctor. */

/** One line of `reyna doctor`: `fix` says what to do when the status is not ok. */
export interface DoctorCheck {
  name: string;
  ok: boolean;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  /** False when any check failed; warnings keep it true. */
  ok: boolean;
  checks: DoctorCheck[];
}

/** What a process run answered; a missing program rejects with `code: 'ENOENT'` or a ReynaError E_COMMAND_NOT_FOUND. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}
export type Exec = (
  file: string,
  args: readonly string[],
  options: { timeout: number; signal?: AbortSignal },
) => Promise<ExecResult>;

export interface DoctorOptions {
  env: Record<string, string | undefined>;
  /** Studio server URL from `--server` / REYNA_SERVER; the credentials file's `default` otherwise. */
  server?: string;
  signal?: AbortSignal;
  exec?: Exec;
  fetch?: typeof globalThis.fetch;
  readFile?: (path: string) => Promise<string>;
  stat?: (path: string) => Promise<{ mode: number }>;
  /** `process.versions.node` unless given. */
  nodeVersion?: string;
  platform?: NodeJS.Platform;
  /** Used when HOME is not in `env`. */
  homedir?: string;
  /** Where the default `exec` runs its programs. */
  cwd?: string;
  /** Milliseconds to wait for `/healthz`; HEALTH_TIMEOUT_MS unless given. */
  healthTimeout?: number;
}

export { type Credentials, credentialsPath } from './studio/credentials.js';

/**
 * Checks what reyna needs on this machine: Node, git, Docker, the studio server and credentials.
 * Takes all of its IO so that tests pass fakes.
 * @example const report = await runDoctor({ env: process.env, server: flags.server })
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const io = withDefaults(options);
  const [node, git, docker, creds] = await Promise.all([
    checkNode(io.nodeVersion),
    checkGit(io),
    checkDocker(io),
    loadCredentials(io),
  ]);
  io.signal?.throwIfAborted();
  const server = await checkServer(io, creds);
  const checks = [node, git, docker, server, ...checkCredentials(io, creds, server.url)];
  return { ok: checks.every((c) => c.status !== 'fail'), checks: checks.map(strip) };
}

type IO = Required<Omit<DoctorOptions, 'server' | 'signal' | 'cwd'>> & Pick<DoctorOptions, 'server' | 'signal'>;

function withDefaults(options: DoctorOptions): IO {
  const home = options.homedir ?? homedir();
  const cwd = options.cwd ?? home;
  return {
    env: options.env,
    server: options.server,
    signal: options.signal,
    exec: options.exec ?? ((file, args, o) => run(file, args, { cwd, env: options.env, ...o })),
    fetch: options.fetch ?? globalThis.fetch,
    readFile: options.readFile ?? ((path) => fsReadFile(path, 'utf8')),
    stat: options.stat ?? fsStat,
    nodeVersion: options.nodeVersion ?? process.versions.node,
    platform: options.platform ?? process.platform,
    homedir: home,
    healthTimeout: options.healthTimeout ?? HEALTH_TIMEOUT_MS,
  };
}

function check(name: string, status: CheckStatus, detail: string, fix?: string): DoctorCheck {
  return { name, ok: status === 'ok', status, detail, ...(fix === undefined ? {} : { fix }) };
}

function strip<T extends DoctorCheck>(c: T): DoctorCheck {
  return check(c.name, c.status, c.detail, c.fix);
}

function versionAtLeast(version: string, min: string): boolean {
  const a = version.replace(/^v/, '').split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

function checkNode(version: string): DoctorCheck {
  const v = `v${version.replace(/^v/, '')}`;
  if (versionAtLeast(version, MIN_NODE_VERSION)) return check('node', 'ok', v);
  return check(
    'node',
    'fail',
    `${v} is older than v${MIN_NODE_VERSION}`,
    `Install Node.js ${MIN_NODE_VERSION} or newer`,
  );
}

function isMissing(error: unknown): boolean {
  if (isReynaError(error)) return error.code === 'E_COMMAND_NOT_FOUND';
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function installHint(io: IO, pkg: { apt: string; brew: string; url: string }): string {
  if (io.platform === 'linux') return `sudo apt-get install ${pkg.apt}`;
  if (io.platform === 'darwin') return `brew install ${pkg.brew}`;
  return `Install it from ${pkg.url}`;
}

async function checkGit(io: IO): Promise<DoctorCheck> {
  const fix = installHint(io, { apt: 'git', brew: 'git', url: 'https://git-scm.com/downloads' });
  try {
    const r = await io.exec('git', ['--version'], { timeout: DOCKER_TIMEOUT_MS, signal: io.signal });
    if (r.exitCode !== 0) return check('git', 'fail', `\`git --version\` exited with ${r.exitCode}`, fix);
    return check('git', 'ok', r.stdout.trim().replace(/^git version /, ''));
  } catch (error) {
    if (isMissing(error)) return check('git', 'fail', 'git is not on PATH', fix);
    throw error;
  }
}

async function checkDocker(io: IO): Promise<DoctorCheck> {
  const args = ['info', '--format', '{{.ServerVersion}}'];
  let r: ExecResult;
  try {
    r = await io.exec('docker', args, { timeout: DOCKER_TIMEOUT_MS, signal: io.signal });
  } catch (error) {
    if (!isMissing(error)) throw error;
    const fix = installHint(io, {
      apt: 'docker.io',
      brew: '--cask docker',
      url: 'https://docs.docker.com/get-docker/',
    });
    return check('docker', 'warn', 'docker CLI is not on PATH', fix);
  }
  if (r.timedOut) {
    const detail = `\`docker info\` did not answer within ${DOCKER_TIMEOUT_MS / 1000} s`;
    return check('docker', 'warn', detail, 'Restart the Docker engine, then run `docker info`');
  }
  const version = r.stdout.trim();
  if (r.exitCode === 0 && version) return check('docker', 'ok', `engine ${version}`);
  const why = (r.stderr.trim().split('\n').find(Boolean) ?? `exit code ${r.exitCode}`).replace(/^ERROR:\s*/, '');
  if (/permission denied/i.test(why)) {
    return check('docker', 'warn', `engine not reachable: ${why}`, 'sudo usermod -aG docker $USER, then log in again');
  }
  const start =
    io.platform === 'linux'
      ? 'Start the engine: sudo systemctl start docker (or `sudo dockerd &` where there is no systemd)'
      : 'Start Docker Desktop';
  return check('docker', 'warn', `docker CLI found but the engine is not running: ${why}`, start);
}

interface LoadedCredentials {
  path: string;
  exists: boolean;
  data?: Credentials;
  mode?: number;
  error?: string;
}

async function loadCredentials(io: IO): Promise<LoadedCredentials> {
  const path = credentialsPath(io.env, io.homedir);
  let text: string;
  let mode: number;
  try {
    [text, { mode }] = await Promise.all([io.readFile(path), io.stat(path)]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { path, exists: false };
    return { path, exists: true, error: (error as Error).message };
  }
  try {
    const data = JSON.parse(text) as unknown;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not a JSON object');
    return { path, exists: true, data: data as Credentials, mode };
  } catch (error) {
    return { path, exists: true, mode, error: `not valid JSON (${(error as Error).message})` };
  }
}

function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

function tokenFor(creds: Credentials | undefined, url: string | undefined): string | undefined {
  if (!creds?.servers || url === undefined) return undefined;
  const want = normalizeUrl(url);
  for (const [key, value] of Object.entries(creds.servers)) {
    if (normalizeUrl(key) === want && typeof value?.token === 'string' && value.token) return value.token;
  }
  return undefined;
}

async function checkServer(io: IO, creds: LoadedCredentials): Promise<DoctorCheck & { url?: string }> {
  const fromFlag = io.server || undefined;
  const url = fromFlag ?? (typeof creds.data?.default === 'string' ? creds.data.default : undefined);
  if (url === undefined) {
    return check('server', 'warn', 'no studio server configured', 'Pass --server <url> or set REYNA_SERVER');
  }
  const source = fromFlag ? '' : ` (default in ${creds.path})`;
  let health: URL;
  try {
    health = new URL('healthz', `${normalizeUrl(url)}/`);
    if (!/^https?:$/.test(health.protocol)) throw new Error('not http(s)');
  } catch {
    return {
      ...check('server', 'fail', `"${url}" is not an http(s) URL${source}`, 'Pass --server http(s)://host:port'),
      url,
    };
  }
  const timeout = AbortSignal.timeout(io.healthTimeout);
  const signal = io.signal ? AbortSignal.any([io.signal, timeout]) : timeout;
  const fix = `Check that the studio server at ${normalizeUrl(url)} is running and reachable`;
  const started = Date.now();
  try {
    const res = await io.fetch(health, { signal, headers: { accept: 'application/json' } });
    await res.body?.cancel().catch(() => {});
    const ms = Date.now() - started;
    if (!res.ok) return { ...check('server', 'fail', `${health.href} answered HTTP ${res.status}${source}`, fix), url };
    return { ...check('server', 'ok', `${normalizeUrl(url)} answered in ${ms} ms${source}`), url };
  } catch (error) {
    if (io.signal?.aborted) throw io.signal.reason ?? error;
    const why = timeout.aborted
      ? `no answer within ${io.healthTimeout / 1000} s`
      : (causeOf(error) ?? (error as Error).message);
    return { ...check('server', 'fail', `cannot reach ${health.href}: ${why}${source}`, fix), url };
  }
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, "bad port") is in its cause. */
function causeOf(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  return typeof cause?.message === 'string' ? cause.message : undefined;
}

function checkCredentials(io: IO, creds: LoadedCredentials, url: string | undefined): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const save = `Set REYNA_TOKEN, or save a token in ${creds.path}`;
  if (io.env.REYNA_TOKEN) {
    checks.push(check('credentials', 'ok', 'token from REYNA_TOKEN'));
  } else if (creds.error !== undefined) {
    checks.push(
      check('credentials', 'fail', `cannot read ${creds.path}: ${creds.error}`, `Fix or remove ${creds.path}`),
    );
  } else if (!creds.exists) {
    checks.push(check('credentials', 'warn', `no token: REYNA_TOKEN is unset and ${creds.path} does not exist`, save));
  } else if (url === undefined) {
    checks.push(check('credentials', 'warn', `${creds.path} names no default server`, save));
  } else if (tokenFor(creds.data, url)) {
    checks.push(check('credentials', 'ok', `token for ${normalizeUrl(url)} in ${creds.path}`));
  } else {
    checks.push(check('credentials', 'warn', `no token for ${normalizeUrl(url)} in ${creds.path}`, save));
  }
  if (creds.exists && creds.mode !== undefined && io.platform !== 'win32') {
    const mode = creds.mode & 0o777;
    const octal = `0${mode.toString(8).padStart(3, '0')}`;
    if (mode & 0o077) {
      checks.push(
        check(
          'credentials file',
          'warn',
          `${creds.path} is readable by others (mode ${octal})`,
          `chmod 600 ${creds.path}`,
        ),
      );
    } else {
      checks.push(check('credentials file', 'ok', `${creds.path} (mode ${octal})`));
    }
  }
  return checks;
}
