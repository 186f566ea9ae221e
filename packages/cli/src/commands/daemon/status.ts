import { BaseCommand } from '../../base-command.js';
import { daemonSocket } from '../../daemon/_wire.js';
import { daemonInfo } from '../../daemon/client.js';

export default class DaemonStatus extends BaseCommand<typeof DaemonStatus> {
  static override summary = 'Show whether the sync daemon runs, and the trees it watches.';
  static override examples = ['<%= config.bin %> daemon status', '<%= config.bin %> daemon status --json'];

  async run() {
    const ctx = this.context();
    const info = await daemonInfo(ctx.env);
    const result = info ? { running: true, ...info } : { running: false, socket: daemonSocket(ctx.env) };
    return this.render(result, () => {
      const c = this.colors;
      if (!info) {
        this.log(`No sync daemon runs ${c.dim(`(${result.socket})`)}. Start one with \`reyna daemon start\`.`);
        return;
      }
      this.log(
        `${c.green('●')} sync daemon on ${c.bold(info.socket)} ${c.dim(`pid ${info.pid} · since ${info.startedAt} · ${info.requests} requests`)}`,
      );
      for (const tree of info.trees) this.log(`  ${tree.root} ${c.dim(`(${tree.watching} directories watched)`)}`);
      const { followed, open } = info.eventStreams;
      if (followed > 0)
        this.log(`  ${c.dim(`following ${followed} server event stream${followed === 1 ? '' : 's'}, ${open} open`)}`);
    });
  }
}
