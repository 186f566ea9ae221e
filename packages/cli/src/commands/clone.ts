import { relative } from 'node:path';
import { Args } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { summaryLine, syncOptions, syncTasks, transferFlags } from '../sync-flags.js';

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
    const steps = syncTasks([{ id: 'download', title: 'Download' }]);
    const running = cloneApp({
      ...syncOptions(this.context(), this.flags),
      appId: this.args.appId,
      dir: this.args.dir,
      onStep: steps.onStep,
      onProgress: steps.onProgress,
    });
    running.then(steps.finish, steps.fail);
    await Promise.allSettled([this.tasks(steps.tasks)]);
    const result = await running;
    const { remote: _remote, ...plan } = result.plan;
    return this.render({ ...result, plan }, () => {
      const where = relative(process.cwd(), result.dir) || '.';
      this.log(`${this.colors.green('✔')} Cloned ${this.colors.bold(result.app.name)} into ${where}/`);
      this.log(this.colors.dim(summaryLine(result.summary)));
    });
  }
}
