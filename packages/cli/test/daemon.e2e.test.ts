// `reyna daemon start|status|stop`, the built binary: a daemon in the background and its socket, the messages of
// each command, a socket that cannot be made, and a daemon killed with SIGKILL, after which the commands run on
// their own and `daemon start` replaces the dead daemon's socket. Status and push through a daemon:
// sync.e2e.test.ts runs its push/pull tests a second time with one.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, bin, reyna, tempDir } from './_reyna.js';
import { need } from './_services.js';

const built = need(
  'the built reyna CLI',
  existsSync(join(bin, '../../dist/commands/daemon/start.js')),
  'run `npm run build`',
);
const home = tempDir('reyna-daemon-e2e-');
const socket = join(home, 'config/reyna/daemon.sock');
afterAll(async () => {
  await reyna(['daemon', 'stop'], { cwd: home, home });
  rmSync(home, { recursive: true, force: true });
});

describe.runIf(built)('reyna daemon (the real binary)', () => {
  it('starts one daemon in the background, says so, lists it, and stops it', async () => {
    const none = await reyna(['daemon', 'status'], { cwd: home, home });
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('No sync daemon runs');

    const started = await reyna(['daemon', 'start'], { cwd: home, home });
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/^✔ Started the sync daemon on .*daemon\.sock pid \d+$/m);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const again = await reyna(['daemon', 'start', '--json'], { cwd: home, home });
    const info = JSON.parse(again.stdout);
    expect(info).toMatchObject({ started: false, socket, trees: [] });
    expect(alive(info.pid)).toBe(true);

    const listed = await reyna(['daemon', 'status', '--json'], { cwd: home, home });
    expect(JSON.parse(listed.stdout)).toMatchObject({ running: true, pid: info.pid, idleTimeoutMs: 3_600_000 });

    const stopped = await reyna(['daemon', 'stop'], { cwd: home, home });
    expect(stopped.stdout).toContain(`Stopped the sync daemon pid ${info.pid}`);
    for (let i = 0; i < 100 && alive(info.pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(info.pid)).toBe(false);
    expect(existsSync(socket)).toBe(false);
    expect((await reyna(['daemon', 'stop'], { cwd: home, home })).stdout).toContain('No sync daemon runs.');
  }, 30_000);

  it('says why it cannot listen, with a hint', async () => {
    const file = join(home, 'a-file');
    writeFileSync(file, 'x');
    const failed = await reyna(['daemon', 'start', '--json'], {
      cwd: home,
      home,
      env: { REYNA_DAEMON_SOCKET: join(file, 'daemon.sock') },
    });
    expect(failed.code).toBe(1);
    const { error } = JSON.parse(failed.stdout);
    expect(error.code).toBe('E_DAEMON_SOCKET');
    expect(error.hint).toContain('REYNA_DAEMON_SOCKET');
  }, 30_000);

  it('after a daemon is killed, commands run on their own and the next start replaces its socket', async () => {
    const started = JSON.parse((await reyna(['daemon', 'start', '--json'], { cwd: home, home })).stdout);
    const app = join(home, 'app');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'reyna.json'), JSON.stringify({ name: 'daemon-e2e' }));
    const through = await reyna(['status', '--json'], { cwd: app, home });
    const asked = JSON.parse((await reyna(['daemon', 'status', '--json'], { cwd: home, home })).stdout);
    expect(asked.trees.map((t: { root: string }) => t.root)).toEqual([app]);
    process.kill(started.pid, 'SIGKILL');
    for (let i = 0; i < 100 && alive(started.pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(socket)).toBe(true);
    // The same answer (this app is linked to nothing), from the command on its own.
    const alone = await reyna(['status', '--json'], { cwd: app, home });
    expect([alone.code, alone.stdout]).toEqual([through.code, through.stdout]);
    expect(JSON.parse(alone.stdout).error.code).toBe('E_NOT_LINKED');

    const restarted = JSON.parse((await reyna(['daemon', 'start', '--json'], { cwd: home, home })).stdout);
    expect(restarted.started).toBe(true);
    expect(restarted.pid).not.toBe(started.pid);
  }, 30_000);
});
