import { Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';
import { summaryLine, syncOptions, transferFlags, withSteps } from '../sync-flags.js';

export default class Push extends BaseCommand<typeof Push> {
  static override summary = "Send the app's files to the studio server as a new revision.";
  static override description = `Plan, then apply: the tree's manifest (path → SHA-256, size, mode; .reynaignore \
and the defaults node_modules, .git, dist, .reyna left out) is compared with the last-synced revision, the server \
is asked which new blobs it lacks, only those are uploaded (batched, in parallel, retried), and the manifest is \
committed on top of the last-synced revision. If the server moved on since, nothing is changed and you are told \
to pull first. An interrupted push leaves no revision; run it again and it sends only what is still missing.`;

  static override examples = [
    '<%= config.bin %> push -m "New landing page"',
    '<%= config.bin %> push --dry-run',
    '<%= config.bin %> push --json',
  ];

  static override flags = {
    ...transferFlags,
    message: flag('message', Flags.string({ char: 'm', description: 'Revision message.' })),
    'dry-run': flag('dry-run', Flags.boolean({ description: 'Print the plan; send nothing.' })),
  };

  async run() {
    const { push } = await import('../daemon/client.js');
    const result = await withSteps(
      (tasks) => this.tasks(tasks),
      [
        { id: 'scan', title: 'Scan files' },
        { id: 'compare', title: 'Compare with the server' },
        { id: 'upload', title: 'Upload' },
        { id: 'commit', title: 'Commit' },
      ],
      (hooks) =>
        push({
          ...syncOptions(this.context(), this.flags),
          message: this.flags.message,
          dryRun: this.flags['dry-run'],
          ...hooks,
        }),
    );
    const { plan } = result;
    const { files: _files, ...planOut } = plan;
    return this.render({ ...result, plan: planOut, dryRun: this.flags['dry-run'] }, () => {
      const c = this.colors;
      const changed = plan.changes.added.length + plan.changes.changed.length + plan.changes.removed.length;
      if (this.flags['dry-run']) {
        for (const p of plan.changes.added) this.log(`  ${c.green('added')}     ${p}`);
        for (const p of plan.changes.changed) this.log(`  ${c.yellow('modified')}  ${p}`);
        for (const p of plan.changes.removed) this.log(`  ${c.red('deleted')}   ${p}`);
        const bytes = plan.upload.reduce((sum, u) => sum + u.size, 0);
        this.log(
          `Would ${plan.commit ? 'commit' : 'not commit'} ${changed} change${changed === 1 ? '' : 's'}, uploading ${plan.upload.length} blob${plan.upload.length === 1 ? '' : 's'} (${bytes} bytes)`,
        );
        return;
      }
      if (!plan.commit) this.log(`${c.green('✔')} Nothing to push: up to date with ${plan.parent}`);
      else this.log(`${c.green('✔')} Pushed ${c.bold(result.revision ?? '')} (${changed} changed)`);
      this.log(c.dim(summaryLine(result.summary)));
    });
  }
}
