import { Args } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { studioFlags, syncOptions } from '../../sync-flags.js';

export default class AppsCreate extends BaseCommand<typeof AppsCreate> {
  static override summary = 'Create an app on the studio server and link the current app to it.';
  static override description =
    'Writes the new APP_ID to reyna.json (which is itself one of the synced files). Then `reyna push`.';
  static override examples = ['<%= config.bin %> apps create', '<%= config.bin %> apps create my-site'];
  static override args = { name: Args.string({ description: "App name (default: reyna.json's name)." }) };
  static override flags = { ...studioFlags };

  async run() {
    const { createApp } = await import('@reyna/core/sync');
    const result = await createApp({ ...syncOptions(this.context(), this.flags), name: this.args.name });
    return this.render(result, () => {
      this.log(`${this.colors.green('✔')} Created ${this.colors.bold(result.app.name)}: ${result.app.id}`);
      this.log(this.colors.dim('reyna.json now names it; run `reyna push` to send the files.'));
    });
  }
}
