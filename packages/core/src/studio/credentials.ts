import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../_fs.js';
import { ReynaError } from '../errors.js';

/** The user credentials file: one token per studio server, and which server is the default. */
export interface Credentials {
  servers?: Record<string, { token?: string }>;
  default?: string;
}

/** `$XDG_CONFIG_HOME/reyna/credentials.json`, else `~/.config/reyna/credentials.json`. */
export function credentialsPath(env: Record<string, string | undefined>, home: string = homedir()): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || home, '.config');
  return join(base, 'reyna', 'credentials.json');
}

export function normalizeServerUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ReynaError('E_BAD_SERVER_URL', `"${url}" is not a URL`, { hint: 'Pass --server http(s)://host:port' });
  }
  if (!/^https?:$/.test(parsed.protocol)) {
    throw new ReynaError('E_BAD_SERVER_URL', `"${url}" is not an http(s) URL`, {
      hint: 'Pass --server http(s)://host:port',
    });
  }
  return parsed.href.replace(/\/+$/, '');
}

/** The credentials file, or an empty one when there is none. */
export async function readCredentials(path: string): Promise<Credentials> {
  let text: string;
  try {
    // A file of a few hundred bytes: read at once, not through the thread pool and back.
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const data = JSON.parse(text) as unknown;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not a JSON object');
    return data as Credentials;
  } catch (error) {
    throw new ReynaError('E_BAD_CREDENTIALS', `${path} is not valid JSON: ${(error as Error).message}`, {
      hint: `Fix or remove ${path}, then run \`reyna login\` again.`,
    });
  }
}

/** Saves `token` for `server` and makes it the default; the file is written whole with mode 0600. */
export async function saveCredentials(path: string, server: string, token: string): Promise<void> {
  const creds = await readCredentials(path);
  creds.servers = { ...creds.servers, [server]: { token } };
  creds.default = server;
  await writeFileAtomic(path, `${JSON.stringify(creds, null, 2)}\n`, 0o600);
}

export interface StudioTarget {
  server: string;
  token: string;
  /** Where the token came from: "flag or REYNA_TOKEN" or the credentials file's path. */
  tokenSource: string;
}

export interface ResolveOptions {
  env: Record<string, string | undefined>;
  /** From --server / REYNA_SERVER. */
  server?: string;
  /** From --token / REYNA_TOKEN. */
  token?: string;
  homedir?: string;
}

/** Which server and token to use: flags and REYNA_* variables first, then the credentials file. */
export async function resolveStudio(options: ResolveOptions): Promise<StudioTarget> {
  const path = credentialsPath(options.env, options.homedir ?? homedir());
  const creds = await readCredentials(path);
  const raw = options.server || creds.default;
  if (!raw) {
    throw new ReynaError('E_NOT_LOGGED_IN', 'No studio server configured', {
      hint: 'Run `reyna login --server <url>`, or set REYNA_SERVER and REYNA_TOKEN.',
    });
  }
  const server = normalizeServerUrl(raw);
  if (options.token) return { server, token: options.token, tokenSource: 'flag or REYNA_TOKEN' };
  for (const [key, value] of Object.entries(creds.servers ?? {})) {
    if (key.replace(/\/+$/, '') === server && value?.token) return { server, token: value.token, tokenSource: path };
  }
  throw new ReynaError('E_NOT_LOGGED_IN', `No token for ${server}`, {
    hint: `Run \`reyna login --server ${server}\`, or set REYNA_TOKEN.`,
  });
}
