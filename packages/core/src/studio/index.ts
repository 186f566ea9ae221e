import { homedir } from 'node:os';
import { ExitCode, ReynaError } from '../errors.js';
import type { CreatedToken, ListedToken, TokenInfo, WhoAmI } from '../protocol/api.js';
import { StudioClient } from './client.js';
import {
  credentialsPath,
  normalizeServerUrl,
  type ResolveOptions,
  resolveStudio,
  saveCredentials,
} from './credentials.js';

export { StudioClient, type StudioClientOptions } from './client.js';
export {
  normalizeServerUrl,
  readCredentials,
  resolveStudio,
  type StudioTarget,
  saveCredentials,
} from './credentials.js';

export interface StudioIO {
  fetch?: typeof globalThis.fetch;
  signal?: AbortSignal;
}

export interface LoginResult {
  server: string;
  user: WhoAmI['user'];
  credentialsPath: string;
}

/**
 * Checks the token against the server (GET /v1/whoami) and saves it, for that server, in the credentials file
 * (mode 0600), which makes the server the default.
 * @example await login({ env: process.env, server: 'http://127.0.0.1:8787', token })
 */
export async function login(
  options: ResolveOptions & StudioIO & { server: string; token: string },
): Promise<LoginResult> {
  const server = normalizeServerUrl(options.server);
  const who = await new StudioClient({
    server,
    token: options.token,
    fetch: options.fetch,
    signal: options.signal,
  }).whoami();
  const path = credentialsPath(options.env, options.homedir ?? homedir());
  await saveCredentials(path, server, options.token);
  return { server, user: who.user, credentialsPath: path };
}

/** Who the configured token belongs to, on which server. */
export async function whoami(
  options: ResolveOptions & StudioIO,
): Promise<WhoAmI & { server: string; tokenSource: string }> {
  const target = await resolveStudio(options);
  const who = await new StudioClient({ ...target, fetch: options.fetch, signal: options.signal }).whoami();
  return { ...who, server: target.server, tokenSource: target.tokenSource };
}

/** A client for the configured server and token. */
async function studio(options: ResolveOptions & StudioIO) {
  const target = await resolveStudio(options);
  return { target, client: new StudioClient({ ...target, fetch: options.fetch, signal: options.signal }) };
}

/** Creates a token for `user` (created when new); needs an admin's token. */
export async function createServerToken(
  options: ResolveOptions & StudioIO & { user: string; name?: string; admin?: boolean },
): Promise<CreatedToken & { server: string }> {
  const { target, client } = await studio(options);
  const made = await client.createToken(options.user, { name: options.name, admin: options.admin });
  return { ...made, server: target.server };
}

/**
 * Lists tokens (never their values): yours, or as an admin one user's (`user`) or everyone's (`all`).
 * @example await listServerTokens({ env: process.env, all: true })
 */
export async function listServerTokens(
  options: ResolveOptions & StudioIO & { user?: string; all?: boolean },
): Promise<{ server: string; tokens: ListedToken[] }> {
  if (options.all && options.user !== undefined)
    throw new ReynaError('E_USAGE', 'Ask for one user’s tokens or for all of them, not both', {
      hint: 'Pass either --user NAME or --all.',
      exitCode: ExitCode.usage,
    });
  const { target, client } = await studio(options);
  const { tokens } = await client.listTokens({ user: options.user, all: options.all });
  return { server: target.server, tokens };
}

/** Revokes a token by id: your own, or anyone's as an admin. Requests with it then answer 401 E_TOKEN_REVOKED. */
export async function revokeServerToken(
  options: ResolveOptions & StudioIO & { tokenId: string },
): Promise<{ server: string; token: TokenInfo }> {
  const { target, client } = await studio(options);
  return { server: target.server, token: await client.revokeToken(options.tokenId) };
}
