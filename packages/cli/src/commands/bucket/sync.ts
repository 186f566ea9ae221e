import { Args, Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { summaryLine, syncOptions, transferFlags, withSteps } from '../../sync-flags.js';

export default class BucketSync extends BaseCommand<typeof BucketSync> {
  static override summary = 'Make a bucket match a directory, or a directory match a bucket.';
  static override description = `Like \`aws s3 sync\`: SOURCE DEST, where one is a directory and the other a \
bucket. A directory is a path with a "/" or a leading ".", or an existing directory: \`bucket sync ./site web\` \
uploads, \`bucket sync web ./site\` downloads. Only changed files travel, through the content-addressed transfer \
(the server is asked which blobs it lacks). --delete removes what the source does not have.`;
  static override examples = [
    '<%= config.bin %> bucket sync ./public web --delete',
    '<%= config.bin %> bucket sync web ./backup --dry-run',
  ];
  static override args = {
    source: Args.string({ description: 'Directory or bucket to copy from.', required: true }),
    dest: Args.string({ description: 'Bucket or directory to make equal to it.', required: true }),
  };
  static override flags = {
    ...transferFlags,
    delete: flag('delete', Flags.boolean({ description: 'Remove what the source does not have.' })),
    'dry-run': flag('dry-run', Flags.boolean({ description: 'Print the plan; change nothing.' })),
  };

  async run() {
    const { syncBucket, syncDirection } = await import('@reyna/core/buckets');
    const ctx = this.context();
    const { direction, dir, name } = syncDirection(ctx.cwd, this.args.source, this.args.dest);
    const result = await withSteps(
      (tasks) => this.tasks(tasks),
      [{ id: direction === 'up' ? 'upload' : 'download', title: `Sync ${direction}` }],
      ({ onProgress }) =>
        syncBucket({
          ...syncOptions(ctx, this.flags),
          dir,
          name,
          direction,
          delete: this.flags.delete,
          dryRun: this.flags['dry-run'],
          onProgress,
        }),
    );
    return this.render(result, () => {
      const c = this.colors;
      const { plan } = result;
      const verb = result.dryRun ? 'would ' : '';
      for (const t of plan.transfer)
        this.log(`  ${c.green(`${verb}${direction === 'up' ? 'put' : 'write'}`)}  ${t.key}`);
      for (const k of plan.remove) this.log(`  ${c.red(`${verb}delete`)}  ${k}`);
      this.log(
        `${c.green('✔')} ${plan.transfer.length} changed, ${plan.remove.length} deleted, ${plan.unchanged} unchanged`,
      );
      this.log(c.dim(summaryLine(result.summary)));
    });
  }
}
