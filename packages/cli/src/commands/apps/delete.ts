import { ExitCode, ReynaError } from '@reyna/core/errors';
import { Args } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { studioFlags, syncOptions } from '../../sync-flags.js';

export default class AppsDelete extends BaseCommand<typeof AppsDelete> {
  static override summary = 'Delete an app with its revisions, deployments and builds.';
  static override examples = ['<%= config.bin %> apps delete app-4k1z0example00 --yes'];
  static override args = { appId: Args.string({ description: 'The APP_ID.', required: true }) };
  static override flags = { ...studioFlags };

  async run() {
    if (!this.flags.yes) {
      if (!this.interactive)
        throw new ReynaError('E_CONFIRM', `Deleting ${this.args.appId} needs confirmation`, {
          hint: 'Pass --yes.',
          exitCode: ExitCode.usage,
        });
      const { confirm } = await import('@inquirer/prompts');
      if (!(await confirm({ message: `Delete ${this.args.appId} and all its revisions?`, default: false })))
        throw new ReynaError('E_CANCELLED', 'Nothing was deleted');
    }
    const { deleteApp } = await import('@reyna/core/sync');
    const result = await deleteApp({ ...syncOptions(this.context(), this.flags), appId: this.args.appId });
    return this.render(result, () =>
      this.log(`${this.colors.green('✔')} Deleted ${result.app.name} (${result.app.id})`),
    );
  }
}
