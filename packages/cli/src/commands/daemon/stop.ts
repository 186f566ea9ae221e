import { BaseCommand } from '../../base-command.js';
import { daemonSocket } from '../../daemon/_wire.js';
import { stopDaemon } from '../../daemon/client.js';

export default class DaemonStop extends BaseCommand<typeof DaemonStop> {
  static override summary = 'Stop the sync daemon; commands then do their work themselves.';
  static override examples = ['<%= config.bin %> daemon stop'];

  async run() {
    const ctx = this.context();
    const info = await stopDaemon(ctx.env);
    const result = { socket: daemonSocket(ctx.env), stopped: info !== undefined, pid: info?.pid ?? null };
    return this.render(result, () =>
      this.log(
        info
          ? `${this.colors.green('✔')} Stopped the sync daemon ${this.colors.dim(`pid ${info.pid}`)}`
          : 'No sync daemon runs.',
      ),
    );
  }
}
