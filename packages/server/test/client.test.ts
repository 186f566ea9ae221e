// The core studio client (login, whoami, token create/list/revoke) against the server in the same process: fetch is app.request.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServerToken, listServerTokens, login, revokeServerToken, StudioClient, whoami } from '@reyna/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, makeHarness } from './_harness.js';

describe('studio client', () => {
  let h: Harness;
  let home: string;
  const server = 'http://studio.test';
  const fetch = ((input: string | URL | Request, init?: RequestInit) =>
    h.app.request(String(input).replace(server, ''), init)) as typeof globalThis.fetch;
  const env = () => ({ HOME: home, XDG_CONFIG_HOME: join(home, 'config') });

  beforeAll(async () => {
    h = await makeHarness('pglite');
    home = mkdtempSync(join(tmpdir(), 'reyna-client-'));
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('logs in, saving the token with mode 0600, and answers whoami from the file', async () => {
    const result = await login({ env: env(), server: `${server}/`, token: h.ownerToken, fetch });
    expect(result).toMatchObject({ server, user: { name: 'owner', admin: true } });
    expect(statSync(result.credentialsPath).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(result.credentialsPath, 'utf8'))).toEqual({
      servers: { [server]: { token: h.ownerToken } },
      default: server,
    });
    const who = await whoami({ env: env(), fetch });
    expect(who).toMatchObject({ server, user: { name: 'owner' }, tokenSource: result.credentialsPath });
  });

  it('refuses to save a wrong token, with the server’s error code and hint', async () => {
    const err = await login({ env: env(), server, token: 'reyna_nope', fetch }).catch((e) => e);
    expect(err).toMatchObject({ code: 'E_UNAUTHORIZED', details: { status: 401 } });
    expect(err.hint).toMatch(/reyna login/);
    // The earlier login is untouched.
    expect((await whoami({ env: env(), fetch })).user.name).toBe('owner');
  });

  it('creates tokens as admin, and a flag token wins over the file', async () => {
    const made = await createServerToken({ env: env(), user: 'zoe', name: 'ci', fetch });
    expect(made).toMatchObject({ user: { name: 'zoe' }, info: { name: 'ci' } });
    const asZoe = await whoami({ env: env(), token: made.token, fetch });
    expect(asZoe).toMatchObject({ user: { name: 'zoe' }, tokenSource: 'flag or REYNA_TOKEN' });
    const denied = await createServerToken({ env: env(), token: made.token, user: 'x', fetch }).catch((e) => e);
    expect(denied.code).toBe('E_FORBIDDEN');
  });

  it('lists and revokes tokens', async () => {
    const made = await createServerToken({ env: env(), user: 'yuri', name: 'laptop', fetch });
    const mine = await listServerTokens({ env: env(), token: made.token, fetch });
    expect(mine.tokens).toEqual([expect.objectContaining({ id: made.info.id, user: 'yuri', revokedAt: null })]);
    const all = await listServerTokens({ env: env(), all: true, fetch });
    expect(all.tokens.map((t) => t.user)).toEqual(expect.arrayContaining(['owner', 'yuri']));
    await expect(listServerTokens({ env: env(), all: true, user: 'yuri', fetch })).rejects.toMatchObject({
      code: 'E_USAGE',
      exitCode: 2,
    });
    const { token } = await revokeServerToken({ env: env(), tokenId: made.info.id, fetch });
    expect(token.revokedAt).toEqual(expect.any(String));
    await expect(whoami({ env: env(), token: made.token, fetch })).rejects.toMatchObject({ code: 'E_TOKEN_REVOKED' });
    const again = await listServerTokens({ env: env(), user: 'yuri', fetch });
    expect(again.tokens[0]?.revokedAt).toBe(token.revokedAt);
  });

  it('says how to log in when nothing is configured, and names an unreachable server', async () => {
    const empty = { HOME: join(home, 'nobody'), XDG_CONFIG_HOME: join(home, 'nobody') };
    await expect(whoami({ env: empty, fetch })).rejects.toMatchObject({ code: 'E_NOT_LOGGED_IN' });
    const client = new StudioClient({ server: 'http://127.0.0.1:1', token: 't' });
    await expect(client.whoami()).rejects.toMatchObject({ code: 'E_SERVER_UNREACHABLE' });
  });
});
