import { BaseCommand } from '../base-command.js';
import { daemonTip, printStatus } from '../status-view.js';
import { studioFlags, syncOptions } from '../sync-flags.js';

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Show what changed here and on the server since the last push or pull.';
  static override description = `Compares the working tree with the revision this copy last synced \
(.reyna/state.json): added, modified (content or executable bit) and deleted files. When the server moved on, \
also lists what changed there since, and the files changed on both sides, which \`reyna pull\` would stop on. \
Unchanged files are not read again: a hash cache keyed by path, size, mtime and inode vouches for them. With \
\`reyna daemon start\`, an unchanged tree is not even walked again.`;

  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];

  // bin/run.js answers the plain forms of this command (these flags only) without oclif: see fast-status.ts.
  static override flags = { ...studioFlags };

  async run() {
    const { status } = await import('../daemon/client.js');
    const ctx = this.context();
    const { result, aloneMs } = await status(syncOptions(ctx, this.flags));
    return this.render(result, () => {
      printStatus(result, this.colors, (line) => this.log(line));
      const tip = daemonTip(result.files, aloneMs, ctx.env, process.stderr.isTTY === true);
      if (tip) this.logToStderr(tip);
    });
  }
}
