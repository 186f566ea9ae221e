// Spawns the built `reyna` binary (packages/cli/bin/reyna.cjs; run the build first) as a user would: server start on a
// free loopback port, login, whoami, token create, then a restart that keeps everything and prints no new token,
// and token list / revoke.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLocalDeploy, makeContext, planLocalDeploy } from '@reyna/core';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, cleanEnv, reyna } from '../../cli/test/_reyna.js';
import { need } from '../../cli/test/_services.js';
import { procStat } from '../src/edge/_reaper.js';
import { settleWorkerd } from './_edge.js';

const built = need(
  'the built reyna CLI',
  existsSync(join(bin, '../../dist/commands/server/start.js')),
  'run `npm run build`',
);
const home = mkdtempSync(join(tmpdir(), 'reyna-server-e2e-'));
const dataDir = join(home, 'studio');
const children: ChildProcess[] = [];

interface Started {
  child: ChildProcess;
  info: { url: string; port: number; store: string; dataDir: string; ownerToken?: string; readyMs: number };
  stderr: () => string;
}

function start(dir = dataDir, extra: string[] = []): Promise<Started> {
  const args = [bin, 'server', 'start', '--port', '0', '--data-dir', dir, '--json', ...extra];
  const child = spawn(process.execPath, args, {
    env: cleanEnv(home),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s: ${stderr}`)), 20_000);
    child.stdout?.on('data', (d) => {
      stdout += d;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) {
        clearTimeout(timer);
        resolve({ child, info: JSON.parse(line), stderr: () => stderr });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
}

/** Whether process `pid` runs (a zombie, dead but not yet reaped, does not). */
function running(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** SIGTERM; resolves with the exit code, or the signal's name when the process died of a signal. */
function stop(child: ChildProcess): Promise<number | string | null> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.kill('SIGTERM');
  });
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

describe.runIf(built)('reyna server start (the real binary)', () => {
  it('serves, logs in, creates tokens, and keeps its data across a restart', async () => {
    const first = await start();
    const { url, ownerToken } = first.info;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ownerToken).toMatch(/^reyna_/);
    expect(first.info.store).toBe('pglite');

    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toMatchObject({ ok: true, store: 'pglite' });
    // Structured JSON logs on stderr, with a request id that the response carries too.
    const rid = health.headers.get('x-request-id');
    await new Promise((r) => setTimeout(r, 100));
    const logLine = first
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l.requestId === rid);
    expect(logLine).toMatchObject({ msg: 'request', path: '/healthz', status: 200 });

    const opts = { cwd: home, home };
    const login = await reyna(['login', '--server', url, '--token', ownerToken as string, '--json'], opts);
    expect(login.code, login.stderr).toBe(0);
    const creds = join(home, 'config', 'reyna', 'credentials.json');
    expect(statSync(creds).mode & 0o777).toBe(0o600);
    expect(JSON.parse(login.stdout)).toMatchObject({ server: url, user: { name: 'owner', admin: true } });

    const who = await reyna(['whoami', '--json'], opts);
    expect(JSON.parse(who.stdout)).toMatchObject({ user: { name: 'owner' }, server: url });

    const made = await reyna(['server', 'token', 'create', '--user', 'alice', '--json'], opts);
    expect(made.code, made.stderr).toBe(0);
    const alice = JSON.parse(made.stdout);
    // REYNA_SERVER / REYNA_TOKEN win over the credentials file.
    const asAlice = await reyna(['whoami', '--json'], {
      ...opts,
      env: { REYNA_SERVER: url, REYNA_TOKEN: alice.token },
    });
    expect(JSON.parse(asAlice.stdout).user).toMatchObject({ name: 'alice', admin: false });
    const denied = await reyna(['server', 'token', 'create', '--user', 'bob', '--json'], {
      ...opts,
      env: { REYNA_TOKEN: alice.token },
    });
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout).error).toMatchObject({ code: 'E_FORBIDDEN' });

    const app = (await (
      await fetch(`${url}/v1/apps`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.token}` },
        body: JSON.stringify({ name: 'kept' }),
      })
    ).json()) as { id: string };
    // A SIGTERM is a normal way to stop a server: it closes and exits 0.
    expect(await stop(first.child)).toBe(0);

    const second = await start();
    expect(second.info.ownerToken).toBeUndefined();
    const again = await fetch(`${second.info.url}/v1/apps/${app.id}`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(await again.json()).toMatchObject({ id: app.id, name: 'kept' });
    // Tokens: listed without their values; a user may revoke only their own, an admin anyone's.
    const asAdmin = { ...opts, env: { REYNA_SERVER: second.info.url, REYNA_TOKEN: ownerToken as string } };
    const asAlice2 = { ...opts, env: { REYNA_SERVER: second.info.url, REYNA_TOKEN: alice.token } };
    const listed = await reyna(['server', 'token', 'list', '--all', '--json'], asAdmin);
    expect(listed.code, listed.stdout + listed.stderr).toBe(0);
    const all = JSON.parse(listed.stdout);
    expect(all.tokens.map((t: { user: string }) => t.user).sort()).toEqual(['alice', 'owner']);
    expect(listed.stdout).not.toContain(alice.token);
    const ownerTokenId = all.tokens.find((t: { user: string }) => t.user === 'owner').id;
    const human = await reyna(['server', 'token', 'list'], asAlice2);
    expect(human.code, human.stdout + human.stderr).toBe(0);
    expect(human.stdout).toContain(alice.info.id);
    expect(human.stdout).not.toContain(ownerTokenId);
    const notHers = await reyna(['server', 'token', 'revoke', ownerTokenId, '--json'], asAlice2);
    expect(notHers.code).toBe(1);
    expect(JSON.parse(notHers.stdout).error.code).toBe('E_NOT_FOUND');
    const both = await reyna(['server', 'token', 'list', '--all', '--user', 'alice'], asAdmin);
    expect(both.code).toBe(2);
    const revoked = await reyna(['server', 'token', 'revoke', alice.info.id, '--json'], asAdmin);
    expect(revoked.code, revoked.stdout + revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout).token).toMatchObject({ id: alice.info.id, revokedAt: expect.any(String) });
    const bad = await reyna(['whoami', '--json'], asAlice2);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).error).toMatchObject({
      code: 'E_TOKEN_REVOKED',
      hint: expect.stringMatching(/login/),
    });
    await stop(second.child);
    // Two server starts and a dozen CLI runs: slow on a loaded machine.
  }, 120_000);

  it.runIf(process.platform === 'linux')(
    'a killed server leaves its workerd running; the next start on its data dir stops it',
    async () => {
      const dir = join(home, 'killed');
      const first = await start(dir, ['--edge-port', '0']);
      const { url, ownerToken } = first.info;
      const token = ownerToken as string;
      const app = (await (
        await fetch(`${url}/v1/apps`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify({ name: 'orphan' }),
        })
      ).json()) as { id: string };
      const build = join(home, 'killed-build');
      mkdirSync(join(build, 'worker'), { recursive: true });
      writeFileSync(join(build, 'worker/index.js'), 'export default { fetch: () => new Response("hi") };\n');
      mkdirSync(join(build, 'client'), { recursive: true });
      writeFileSync(join(build, 'client/index.html'), '<!doctype html><title>t</title>');
      const ctx = makeContext({ cwd: home });
      const connection = { server: url, token };
      const plan = await planLocalDeploy(ctx, { dir: build, appId: app.id, appName: 'orphan' }, connection);
      await applyLocalDeploy(ctx, plan, connection);
      const [runtime] = await settleWorkerd(first.child.pid as number, 1);
      const exited = new Promise((resolve) => first.child.once('exit', resolve));
      first.child.kill('SIGKILL');
      await exited;
      // Nobody stops it: it keeps running without its server.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(running(runtime as number)).toBe(true);
      const second = await start(dir, ['--edge-port', '0']);
      try {
        for (const until = Date.now() + 5000; running(runtime as number) && Date.now() < until; )
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect(running(runtime as number)).toBe(false);
        expect(second.stderr()).toContain('stopped workerd processes that a killed server on this data dir left');
        // The new server runs the app in a workerd of its own.
        const [next] = await settleWorkerd(second.child.pid as number, 1);
        // SIGTERM stops it cleanly (exit 0, not Miniflare's own exit on the signal): its workerd goes with it,
        // and nothing is left for the next start to do.
        expect(await stop(second.child)).toBe(0);
        expect(running(next as number)).toBe(false);
        expect(existsSync(join(dir, 'edge', 'runtimes.json'))).toBe(false);
      } finally {
        if (second.child.exitCode === null) second.child.kill('SIGKILL');
      }
    },
    120_000,
  );

  it('refuses a bad port with a usage error', async () => {
    const r = await reyna(['server', 'start', '--port', '70000'], { cwd: home, home });
    expect(r.code).toBe(2);
  });
});

describe('npx @reyna/server (the package bin)', () => {
  const serverBin = join(bin, '../../../server/bin/reyna-server.js');

  it('starts the same server, prints the owner token once, and stops on SIGTERM', async () => {
    const dir = join(home, 'npx-data');
    const run = () => {
      const child = spawn(process.execPath, [serverBin, '--port', '0', '--json', '--data-dir', dir], {
        env: { ...cleanEnv(home), REYNA_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      child.stderr?.on('data', (d) => process.stderr.write(`reyna-server: ${d}`));
      return new Promise<{ child: ChildProcess; info: Started['info'] }>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve({ child, info: JSON.parse(out.split('\n')[0] as string) });
        });
        child.once('exit', (code) => reject(new Error(`reyna-server exited ${code}`)));
      });
    };
    const first = await run();
    expect(first.info.ownerToken).toMatch(/^reyna_/);
    const who = await fetch(`${first.info.url}/v1/whoami`, {
      headers: { authorization: `Bearer ${first.info.ownerToken}` },
    });
    expect(((await who.json()) as { user: { name: string } }).user.name).toBe('owner');
    expect(await stop(first.child)).toBe(0);
    const second = await run();
    expect(second.info.ownerToken).toBeUndefined();
    expect(await stop(second.child)).toBe(0);
  }, 60_000);
});
