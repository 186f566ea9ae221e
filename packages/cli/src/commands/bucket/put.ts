import { Args, Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { summaryLine, syncOptions, transferFlags, withSteps } from '../../sync-flags.js';

export default class BucketPut extends BaseCommand<typeof BucketPut> {
  static override summary = 'Put a file into a bucket.';
  static override description = `Its bytes are sent only when the server lacks them; the content type comes from \
the key's extension. On a terminal the upload shows its progress.`;
  static override examples = ['<%= config.bin %> bucket put photos cat.jpg --key 2024/cat.jpg'];
  static override args = {
    name: Args.string({ description: 'Bucket name.', required: true }),
    file: Args.string({ description: 'File to put.', required: true }),
  };
  static override flags = {
    ...transferFlags,
    key: flag('key', Flags.string({ description: "Object key (default: the file's name)." })),
  };

  async run() {
    const { putObject } = await import('@reyna/core/buckets');
    const result = await withSteps(
      (tasks) => this.tasks(tasks),
      [
        { id: 'scan', title: 'Hash the file' },
        { id: 'compare', title: 'Compare with the server' },
        { id: 'upload', title: 'Upload' },
        { id: 'commit', title: 'Put the key' },
      ],
      (hooks) =>
        putObject({
          ...syncOptions(this.context(), this.flags),
          name: this.args.name,
          file: this.args.file,
          key: this.flags.key,
          ...hooks,
        }),
    );
    return this.render(result, () => {
      this.log(`${this.colors.green('✔')} ${result.bucket.name}/${result.object.key} (${result.object.sha256})`);
      this.log(this.colors.dim(summaryLine(result.summary)));
    });
  }
}
