// The sync daemon's socket and its clients, in this process: starting beside a running or a dead daemon, the
// socket's mode, stopping (asked, idle, another build), and what a client makes of every answer a daemon can
// give, or fail to give. Status and push through a daemon against a real server: test/sync.e2e.test.ts.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReynaError } from '@reyna/core/errors';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonBuild, daemonSocket } from './_wire.js';
import { askDaemon, callFor, daemonInfo, stopDaemon } from './client.js';
import { type RunningDaemon, serveDaemon } from './serve.js';

const dirs: string[] = [];
const daemons: RunningDaemon[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop()));
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function socketPath() {
  const dir = mkdtempSync(join(tmpdir(), 'reyna-daemon-'));
  dirs.push(dir);
  return join(dir, 'daemon.sock');
}

async function start(socket: string, idleTimeoutMs = 60_000) {
  const daemon = await serveDaemon({ socket, idleTimeoutMs });
  daemons.push(daemon);
  return daemon;
}

/** A stand-in daemon that answers each connection with `reply(socket, requestLine)`. */
function fakeDaemon(socket: string, reply: (conn: Socket, line: string) => void) {
  const server = createServer((conn) => {
    conn.setEncoding('utf8');
    let buffer = '';
    let first = true;
    conn.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl === -1 || !first) return;
      first = false;
      reply(conn, buffer.slice(0, nl));
    });
  });
  servers.push(server);
  return new Promise<Server>((resolve) => server.listen(socket, () => resolve(server)));
}

const envFor = (socket: string) => ({ REYNA_DAEMON_SOCKET: socket });
const line = (conn: Socket, message: object) => conn.write(`${JSON.stringify(message)}\n`);

describe('daemon socket', () => {
  it('answers a ping with its facts, on a socket only its user can open', async () => {
    const socket = socketPath();
    const daemon = await start(socket);
    const info = await daemonInfo(envFor(socket));
    expect(info).toMatchObject({ pid: process.pid, build: daemonBuild(), socket, trees: [] });
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(daemon.info().requests).toBe(1);
  });

  it('refuses to start where a daemon answers, and replaces the socket of one that was killed', async () => {
    const socket = socketPath();
    await start(socket);
    await expect(serveDaemon({ socket, idleTimeoutMs: 60_000 })).rejects.toMatchObject({ code: 'E_DAEMON_RUNNING' });
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    expect(existsSync(socket)).toBe(false);

    // A listener killed with SIGKILL leaves its socket file behind, with nobody listening.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)})`]);
    while (!existsSync(socket)) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(socket)).toBe(true);
    expect(await daemonInfo(envFor(socket))).toBeUndefined();
    await start(socket);
    expect((await daemonInfo(envFor(socket)))?.pid).toBe(process.pid);
  });

  it('stops when asked, removing its socket', async () => {
    const socket = socketPath();
    const daemon = await start(socket);
    expect((await stopDaemon(envFor(socket)))?.pid).toBe(process.pid);
    await daemon.stopped;
    expect(existsSync(socket)).toBe(false);
    expect(await stopDaemon(envFor(socket))).toBeUndefined();
  });

  it('stops after its idle timeout, counted from the last request', async () => {
    const socket = socketPath();
    const daemon = await start(socket, 300);
    await new Promise((r) => setTimeout(r, 150));
    await daemonInfo(envFor(socket));
    const asked = Date.now();
    await daemon.stopped;
    expect(Date.now() - asked).toBeGreaterThanOrEqual(250);
    expect(existsSync(socket)).toBe(false);
  });

  it('answers a client of another build "stale"; and stops once its own installation changed', async () => {
    const socket = socketPath();
    let installed = 'one';
    const daemon = await serveDaemon({ socket, idleTimeoutMs: 60_000, build: () => installed });
    daemons.push(daemon);
    const ask = (build: string) =>
      new Promise<string>((resolve) => {
        const conn = connect(socket, () => conn.write(`${JSON.stringify({ op: 'ping', build })}\n`));
        let out = '';
        conn.setEncoding('utf8');
        conn.on('data', (d: string) => (out += d));
        conn.on('close', () => resolve(out));
      });
    // Another installation's client (a project's own reyna, say): it runs the command itself; this one stays.
    expect(JSON.parse(await ask('two'))).toEqual({ ok: false, stale: true });
    expect(JSON.parse(await ask('one'))).toMatchObject({ ok: true });
    // Upgraded or rebuilt under it: the new client is not served by the old code, and the old daemon goes.
    installed = 'two';
    expect(JSON.parse(await ask('two'))).toEqual({ ok: false, stale: true });
    await daemon.stopped;
    expect(existsSync(socket)).toBe(false);
  });

  it('answers a request that is not JSON with an error', async () => {
    const socket = socketPath();
    await start(socket);
    const reply = await new Promise<string>((resolve) => {
      const conn = connect(socket, () => conn.write('hello\n'));
      let out = '';
      conn.setEncoding('utf8');
      conn.on('data', (d: string) => (out += d));
      conn.on('close', () => resolve(out));
    });
    expect(JSON.parse(reply)).toMatchObject({ ok: false, error: { code: 'E_DAEMON_REQUEST' } });
  });

  it('puts the socket beside the credentials file, or in the temp directory when that path is too long', () => {
    expect(daemonSocket({ XDG_CONFIG_HOME: '/home/a/.config' })).toBe('/home/a/.config/reyna/daemon.sock');
    expect(daemonSocket({ HOME: '/home/b' }, '/ignored')).toBe('/home/b/.config/reyna/daemon.sock');
    expect(daemonSocket({ REYNA_DAEMON_SOCKET: '/run/x.sock', HOME: '/home/b' })).toBe('/run/x.sock');
    const long = daemonSocket({ XDG_CONFIG_HOME: `/home/${'x'.repeat(120)}` });
    expect(long).toMatch(/reyna-daemon-[0-9a-f]{16}\.sock$/);
    expect(long.startsWith(tmpdir())).toBe(true);
  });
});

describe('daemon client', () => {
  const cwd = '/nowhere';

  it('runs nothing through a daemon when none listens, or REYNA_NO_DAEMON is set, or the path is no socket', async () => {
    const socket = socketPath();
    expect(await askDaemon(callFor('status', { cwd, env: envFor(socket) }))).toBeUndefined();
    writeFileSync(socket, 'not a socket');
    expect(await askDaemon(callFor('status', { cwd, env: envFor(socket) }))).toBeUndefined();
    rmSync(socket);
    const daemon = await start(socket);
    const off = { ...envFor(socket), REYNA_NO_DAEMON: '1' };
    expect(await askDaemon(callFor('status', { cwd, env: off }))).toBeUndefined();
    expect(daemon.info().requests).toBe(0);
  });

  it("passes the daemon's steps and progress on, then its result", async () => {
    const socket = socketPath();
    let request: Record<string, unknown> = {};
    await fakeDaemon(socket, (conn, text) => {
      request = JSON.parse(text);
      line(conn, { step: 'scan', state: 'start' });
      line(conn, { progress: { direction: 'up', files: 1, totalFiles: 2, bytes: 3, totalBytes: 4 } });
      line(conn, { step: 'scan', state: 'done', detail: '2 files' });
      line(conn, { ok: true, result: { answer: 42 } });
    });
    const steps: unknown[] = [];
    const progress: unknown[] = [];
    const result = await askDaemon(
      callFor('push', {
        cwd,
        env: envFor(socket),
        message: 'm',
        onStep: (...args) => steps.push(args),
        onProgress: (p) => progress.push(p),
      }),
    );
    expect(result).toEqual({ answer: 42 });
    expect(steps).toEqual([
      ['scan', 'start', undefined],
      ['scan', 'done', '2 files'],
    ]);
    expect(progress).toEqual([{ direction: 'up', files: 1, totalFiles: 2, bytes: 3, totalBytes: 4 }]);
    expect(request).toMatchObject({ op: 'push', cwd, message: 'm', build: daemonBuild(), progress: true });
  });

  it("throws the daemon's errors as the ReynaErrors they were, and bugs as bugs", async () => {
    const socket = socketPath();
    let bug = false;
    await fakeDaemon(socket, (conn) => {
      const error = bug
        ? { code: 'E_INTERNAL', message: 'x is undefined', exitCode: 70, bug: { name: 'TypeError', stack: 'at f' } }
        : { code: 'E_HEAD_MOVED', message: 'moved', hint: 'pull', details: { head: 'r2' }, exitCode: 1 };
      line(conn, { ok: false, error });
    });
    const failed = await askDaemon(callFor('status', { cwd, env: envFor(socket) })).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ReynaError);
    expect(failed).toMatchObject({ code: 'E_HEAD_MOVED', message: 'moved', hint: 'pull', details: { head: 'r2' } });
    bug = true;
    const crashed = await askDaemon(callFor('status', { cwd, env: envFor(socket) })).catch((e: unknown) => e);
    expect(crashed).not.toBeInstanceOf(ReynaError);
    expect(crashed).toMatchObject({ name: 'TypeError', message: 'x is undefined', stack: 'at f' });
  });

  it('runs a status itself when the daemon goes away mid-answer, but reports a push that may have landed', async () => {
    const socket = socketPath();
    await fakeDaemon(socket, (conn) => conn.destroy());
    expect(await askDaemon(callFor('status', { cwd, env: envFor(socket) }))).toBeUndefined();
    await expect(askDaemon(callFor('push', { cwd, env: envFor(socket) }))).rejects.toMatchObject({
      code: 'E_DAEMON_LOST',
    });
  });

  it('asks the daemon to abort on Ctrl-C, and reports how it ended', async () => {
    const socket = socketPath();
    const lines: string[] = [];
    await fakeDaemon(socket, (conn) => {
      conn.on('data', (chunk: string) => {
        lines.push(chunk.trim());
        line(conn, { ok: false, error: { code: 'E_INTERRUPTED', message: 'Interrupted', exitCode: 130 } });
      });
    });
    const abort = new AbortController();
    const pushing = askDaemon(callFor('push', { cwd, env: envFor(socket), signal: abort.signal }));
    await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    await expect(pushing).rejects.toMatchObject({ code: 'E_INTERRUPTED', exitCode: 130 });
    expect(lines).toEqual(['{"abort":true}']);
  });
});
