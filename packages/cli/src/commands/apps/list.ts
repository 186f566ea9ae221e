import { BaseCommand } from '../../base-command.js';
import { studioFlags, syncOptions } from '../../sync-flags.js';

export default class AppsList extends BaseCommand<typeof AppsList> {
  static override summary = 'List your apps on the studio server.';
  static override examples = ['<%= config.bin %> apps list --json'];
  static override flags = { ...studioFlags };

  async run() {
    const { listApps } = await import('@reyna/core/sync');
    const result = await listApps(syncOptions(this.context(), this.flags));
    return this.render(result, () => {
      if (result.apps.length === 0) this.log(this.colors.dim('No apps yet: `reyna apps create`.'));
      for (const a of result.apps) this.log(`${a.id}  ${a.name.padEnd(24)}  ${a.head ?? this.colors.dim('(empty)')}`);
    });
  }
}
