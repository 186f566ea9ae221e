import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ReynaError } from '@reyna/core/errors';
import { Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { type DaemonInfo, daemonSocket } from '../../daemon/_wire.js';
import { daemonInfo } from '../../daemon/client.js';
import { flag } from '../../flags.js';

export default class DaemonStart extends BaseCommand<typeof DaemonStart> {
  static override summary = 'Start the sync daemon, which makes `status` and `push` answer faster.';
  static override description = `A resident process that runs \`reyna status\` and \`reyna push\` for this user: it \
starts once, keeps each tree's sync state in memory and (on Linux) watches the directories it walked, so a \
status or push reads again only the directories that changed since (none, for an unchanged tree). Commands use \
it whenever it runs and do the work themselves when it does not (or with REYNA_NO_DAEMON=1): the answers are the \
same. It listens on a socket only you can open (beside the credentials file, or REYNA_DAEMON_SOCKET) and exits \
after --idle-timeout minutes without a request. Watches need a local disk: on a network file system, use it \
without the daemon.`;

  static override examples = [
    '<%= config.bin %> daemon start',
    '<%= config.bin %> daemon start --idle-timeout 480',
    '<%= config.bin %> daemon start --foreground',
  ];

  static override flags = {
    'idle-timeout': flag(
      'idle-timeout',
      Flags.integer({ description: 'Minutes without a request before it exits.', default: 60, min: 1 }),
    ),
    foreground: flag(
      'foreground',
      Flags.boolean({ description: 'Run in this terminal until Ctrl-C, instead of in the background.' }),
    ),
  };

  async run() {
    const ctx = this.context();
    const socket = daemonSocket(ctx.env);
    const c = this.colors;
    if (this.flags.foreground) {
      const { serveDaemon } = await import('../../daemon/serve.js');
      const daemon = await serveDaemon({ socket, idleTimeoutMs: this.flags['idle-timeout'] * 60_000 });
      const info = { ...daemon.info(), started: true };
      this.render(info, () => this.log(`${c.green('➜')} sync daemon on ${c.bold(socket)} ${c.dim(`pid ${info.pid}`)}`));
      // Started by `daemon start`, whose ends of these pipes are gone by now: a warning must not take it down.
      process.stdout.on('error', () => {});
      process.stderr.on('error', () => {});
      this.signal.addEventListener('abort', () => void daemon.stop(), { once: true });
      await daemon.stopped;
      return info;
    }
    let info: DaemonInfo & { started: boolean };
    const running = await daemonInfo(ctx.env);
    if (running) info = { ...running, started: false };
    else {
      try {
        info = { ...(await startInBackground(socket, this.flags['idle-timeout'], ctx.env)), started: true };
      } catch (error) {
        // Another `daemon start` got there first.
        const first = error instanceof ReynaError && error.code === 'E_DAEMON_RUNNING' && (await daemonInfo(ctx.env));
        if (!first) throw error;
        info = { ...first, started: false };
      }
    }
    return this.render(info, () =>
      this.log(
        info.started
          ? `${c.green('✔')} Started the sync daemon on ${c.bold(socket)} ${c.dim(`pid ${info.pid}`)}`
          : `${c.green('✔')} The sync daemon runs already on ${c.bold(socket)} ${c.dim(`pid ${info.pid}`)}`,
      ),
    );
  }
}

type StartAnswer = (DaemonInfo & { error?: undefined }) | { error: { code: string; message: string; hint?: string } };

/** Runs `daemon start --foreground` detached from this terminal; resolves with its facts once it listens. */
function startInBackground(socket: string, idleMinutes: number, env: Record<string, string | undefined>) {
  const bin = fileURLToPath(new URL('../../../bin/run.js', import.meta.url));
  const args = [bin, 'daemon', 'start', '--foreground', '--json', '--idle-timeout', String(idleMinutes)];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, REYNA_DAEMON_SOCKET: socket, REYNA_JSON: undefined },
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  return new Promise<DaemonInfo>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      let answer: StartAnswer;
      try {
        answer = JSON.parse(out.slice(0, nl));
      } catch {
        reject(new ReynaError('E_DAEMON_START', `The sync daemon answered: ${out.slice(0, nl)}`));
        return;
      }
      // Its error, as the one JSON document it prints with --json: the message and hint are its own.
      if (answer.error) {
        reject(new ReynaError(answer.error.code, answer.error.message, { hint: answer.error.hint }));
        return;
      }
      child.removeAllListeners('exit');
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      resolve(answer);
    });
    child.once('exit', (code) => {
      reject(
        new ReynaError('E_DAEMON_START', `The sync daemon did not start: ${err.trim() || `exit code ${code}`}`, {
          hint: 'Run `reyna daemon start --foreground` to see it start.',
        }),
      );
    });
  });
}
