import { Args } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { studioFlags, syncOptions } from '../sync-flags.js';

export default class Link extends BaseCommand<typeof Link> {
  static override summary = 'Link the current app to an existing app on the studio server.';
  static override description =
    'Writes its appId to reyna.json. Run `reyna pull` next to bring in its files (local edits are never overwritten silently).';
  static override examples = ['<%= config.bin %> link app-4k1z0example00'];
  static override args = { appId: Args.string({ description: 'The APP_ID.', required: true }) };
  static override flags = { ...studioFlags };

  async run() {
    const { linkApp } = await import('@reyna/core/sync');
    const result = await linkApp({ ...syncOptions(this.context(), this.flags), appId: this.args.appId });
    return this.render(result, () => {
      this.log(`${this.colors.green('✔')} Linked to ${this.colors.bold(result.app.name)} (${result.app.id})`);
      if (result.head) this.log(this.colors.dim('Run `reyna pull` to bring in its files.'));
    });
  }
}
