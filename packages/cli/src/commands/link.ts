import { relative } from 'node:path';
import { Args, Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';
import { summaryLine, syncOptions, transferFlags, withSteps } from '../sync-flags.js';

export default class Link extends BaseCommand<typeof Link> {
  static override summary = 'Make this directory a working copy of an existing app on the studio server.';
  static override description = `The app's newest revision becomes what this copy is compared to, as if it had \
just been pulled. Files of that revision the directory lacks are written (in an empty directory: all of them, like \
\`reyna clone <APP_ID> .\`); files it has are kept, and where they differ they are local changes: \`reyna status\` \
lists them and \`reyna push\` sends them on top of the server's revision. reyna.json gets the appId. A directory \
linked to another app is refused unless --force.`;
  static override examples = [
    '<%= config.bin %> link app-4k1z0example00',
    '<%= config.bin %> link app-4k1z0example00 --force',
  ];
  static override args = { appId: Args.string({ description: 'The APP_ID.', required: true }) };
  static override flags = {
    ...transferFlags,
    force: flag('force', Flags.boolean({ description: 'Link it even when it is linked to another app.' })),
  };

  async run() {
    const { linkApp } = await import('@reyna/core/sync');
    const result = await withSteps(
      (tasks) => this.tasks(tasks),
      [{ id: 'download', title: 'Download' }],
      (hooks) =>
        linkApp({
          ...syncOptions(this.context(), this.flags),
          appId: this.args.appId,
          force: this.flags.force,
          ...hooks,
        }),
    );
    const { files: _files, ...plan } = result.plan;
    return this.render({ ...result, plan }, () => {
      const c = this.colors;
      const app = `${c.bold(result.app.name)} (${result.app.id})`;
      if (plan.linked) {
        this.log(`${c.green('✔')} Already linked to ${app}; nothing changed`);
        return;
      }
      const where = relative(process.cwd(), result.dir ?? '.') || '.';
      this.log(`${c.green('✔')} Linked ${where}/ to ${app} at ${result.head ?? 'no revision yet'}`);
      if (plan.write.length > 0)
        this.log(`Wrote ${plan.write.length} file${plan.write.length === 1 ? '' : 's'} from the server.`);
      const { added, changed, removed } = plan.changes;
      const local = added.length + changed.length + removed.length;
      if (local > 0)
        this.log(
          `${local} local change${local === 1 ? '' : 's'} (${added.length} added, ${changed.length} modified, ${removed.length} deleted): \`reyna status\` lists them, \`reyna push\` sends them.`,
        );
      else this.log(c.dim('The directory matches the server.'));
      if (plan.write.length > 0) this.log(c.dim(summaryLine(result.summary)));
    });
  }
}
