// `reyna build` on a linked app sends a build record; the core function against the server in this process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeContext } from '@reyna/core';
import { recordBuild } from '@reyna/core/build';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, makeHarness } from './_harness.js';

describe('build records', () => {
  let h: Harness;
  let home: string;
  const server = 'http://studio.test';
  const fetch = ((input: string | URL | Request, init?: RequestInit) =>
    h.app.request(String(input).replace(server, ''), init)) as typeof globalThis.fetch;

  beforeAll(async () => {
    h = await makeHarness('pglite');
    home = mkdtempSync(join(tmpdir(), 'reyna-record-'));
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('sends success and failure records to the linked app, and nothing for an unlinked one', async () => {
    const auth = { authorization: `Bearer ${h.ownerToken}`, 'content-type': 'application/json' };
    const created = await h.app.request('/v1/apps', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'web' }),
    });
    expect(created.status).toBe(201);
    const app = (await created.json()) as { id: string };
    const ctx = makeContext({ cwd: home, env: { HOME: home, REYNA_SERVER: server, REYNA_TOKEN: h.ownerToken } });

    const unlinked = await recordBuild(
      ctx,
      { name: 'web' },
      { status: 'success', durationMs: 5, sizes: {}, logs: '' },
      { fetch },
    );
    expect(unlinked).toEqual({ recorded: false, reason: 'the app is not linked to a studio server' });

    const config = { name: 'web', appId: app.id };
    const ok = await recordBuild(
      ctx,
      config,
      { status: 'success', durationMs: 812.4, sizes: { workerGzip: 288 }, logs: 'built' },
      { fetch },
    );
    expect(ok.recorded).toBe(true);
    const failed = await recordBuild(
      ctx,
      config,
      { status: 'failure', durationMs: 90, sizes: {}, logs: 'E_TYPECHECK' },
      { fetch },
    );
    expect(failed.recorded).toBe(true);

    const list = (await (await h.app.request(`/v1/apps/${app.id}/builds`, { headers: auth })).json()) as {
      builds: { status: string; durationMs: number; sizes: Record<string, number> }[];
    };
    expect(list.builds.map((b) => [b.status, b.durationMs])).toEqual([
      ['failure', 90],
      ['success', 812],
    ]);
    expect(list.builds[1]?.sizes).toEqual({ workerGzip: 288 });

    // A wrong token: reported, not thrown.
    const denied = await recordBuild(
      makeContext({ cwd: home, env: { HOME: home, REYNA_SERVER: server, REYNA_TOKEN: 'reyna_wrong' } }),
      config,
      { status: 'success', durationMs: 1, sizes: {}, logs: '' },
      { fetch },
    );
    expect(denied.recorded).toBe(false);
  });
});
