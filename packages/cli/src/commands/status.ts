import { BaseCommand } from '../base-command.js';
import { studioFlags, syncOptions } from '../sync-flags.js';

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Show what changed here and on the server since the last push or pull.';
  static override description = `Compares the working tree with the revision this copy last synced \
(.reyna/state.json): added, modified (content or executable bit) and deleted files. When the server moved on, \
also lists what changed there since, and the files changed on both sides, which \`reyna pull\` would stop on. \
Unchanged files are not read again: a hash cache keyed by path, size, mtime and inode vouches for them.`;

  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];

  static override flags = { ...studioFlags };

  async run() {
    const { status } = await import('@reyna/core/sync');
    const result = await status(syncOptions(this.context(), this.flags));
    return this.render(result, () => {
      const c = this.colors;
      const list = (changes: { added: string[]; modified: string[]; deleted: string[] }) => {
        for (const p of changes.added) this.log(`  ${c.green('added')}     ${p}`);
        for (const p of changes.modified) this.log(`  ${c.yellow('modified')}  ${p}`);
        for (const p of changes.deleted) this.log(`  ${c.red('deleted')}   ${p}`);
      };
      this.log(`App ${c.bold(result.appId)} on ${result.server}, at ${result.base ?? 'no revision yet'}`);
      if (result.serverMoved) {
        const { added, modified, deleted } = result.remote;
        const count = added.length + modified.length + deleted.length;
        this.log(
          c.yellow(
            `The server moved on to ${result.head ?? 'no revision'} (${count} file${count === 1 ? '' : 's'} changed there): run \`reyna pull\` before pushing.`,
          ),
        );
        list(result.remote);
        if (!result.clean) this.log('Changed here:');
      }
      list(result);
      if (result.conflicts.length > 0)
        this.log(
          c.red(
            `Changed on both sides: ${result.conflicts.join(', ')}. \`reyna pull\` stops on them; \`reyna pull --force\` takes the server's.`,
          ),
        );
      if (result.clean) this.log(c.dim(`No local changes (${result.files} files).`));
    });
  }
}
