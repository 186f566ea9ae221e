import { BaseCommand } from '../base-command.js';
import { studioFlags, syncOptions } from '../sync-flags.js';

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Show what changed since the last push or pull, and whether the server moved on.';
  static override description = `Compares the working tree with the revision this copy last synced \
(.reyna/state.json): added, modified (content or executable bit) and deleted files. Unchanged files are not read \
again: a hash cache keyed by path, size, mtime and inode vouches for them.`;

  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];

  static override flags = { ...studioFlags };

  async run() {
    const { status } = await import('@reyna/core/sync');
    const result = await status(syncOptions(this.context(), this.flags));
    return this.render(result, () => {
      const c = this.colors;
      this.log(`App ${c.bold(result.appId)} on ${result.server}, at ${result.base ?? 'no revision yet'}`);
      if (result.serverMoved)
        this.log(
          c.yellow(`The server moved on to ${result.head ?? 'no revision'}: run \`reyna pull\` before pushing.`),
        );
      for (const p of result.added) this.log(`  ${c.green('added')}     ${p}`);
      for (const p of result.modified) this.log(`  ${c.yellow('modified')}  ${p}`);
      for (const p of result.deleted) this.log(`  ${c.red('deleted')}   ${p}`);
      if (result.clean) this.log(c.dim(`No local changes (${result.files} files).`));
    });
  }
}
