import { relative } from 'node:path';
import { Args } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { summaryLine, syncOptions, transferFlags, withSteps } from '../sync-flags.js';

export default class Clone extends BaseCommand<typeof Clone> {
  static override summary = "Make a fresh working copy of an app's newest revision.";
  static override examples = ['<%= config.bin %> clone app-4k1z0example00', '<%= config.bin %> clone app-4k1z… ./site'];
  static override args = {
    appId: Args.string({ description: 'The APP_ID.', required: true }),
    dir: Args.string({ description: "Directory to create (default: the app's name)." }),
  };
  static override flags = { ...transferFlags };

  async run() {
    const { cloneApp } = await import('@reyna/core/sync');
    const result = await withSteps(
      (tasks) => this.tasks(tasks),
      [{ id: 'download', title: 'Download' }],
      (hooks) =>
        cloneApp({ ...syncOptions(this.context(), this.flags), appId: this.args.appId, dir: this.args.dir, ...hooks }),
    );
    const { remote: _remote, ...plan } = result.plan;
    return this.render({ ...result, plan }, () => {
      const where = relative(process.cwd(), result.dir) || '.';
      this.log(`${this.colors.green('✔')} Cloned ${this.colors.bold(result.app.name)} into ${where}/`);
      this.log(this.colors.dim(summaryLine(result.summary)));
    });
  }
}
