import { Args, Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { studioFlags, summaryLine, syncOptions, withSteps } from '../../sync-flags.js';

export default class BucketGet extends BaseCommand<typeof BucketGet> {
  static override summary = "Get an object's bytes (to stdout, or a file with -o).";
  static override description =
    'With -o the download shows its progress on a terminal and ends with a summary line; to stdout, only the bytes go out.';
  static override examples = ['<%= config.bin %> bucket get photos 2024/cat.jpg -o cat.jpg'];
  static override args = {
    name: Args.string({ description: 'Bucket name.', required: true }),
    key: Args.string({ description: 'Object key.', required: true }),
  };
  static override flags = {
    ...studioFlags,
    output: flag('output', Flags.string({ char: 'o', description: 'Write to this file (atomically).' })),
  };

  async run() {
    const { getObject } = await import('@reyna/core/buckets');
    const toFile = this.flags.output !== undefined;
    const result = await withSteps(
      // Without -o the bytes are the output: no progress around them.
      (tasks) => (toFile ? this.tasks(tasks, {}, { liveOnly: true }) : Promise.resolve()),
      [{ id: 'download', title: 'Download' }],
      (hooks) =>
        getObject({
          ...syncOptions(this.context(), this.flags),
          name: this.args.name,
          key: this.args.key,
          output: this.flags.output,
          ...hooks,
        }),
    );
    if ('data' in result && !this.json) {
      process.stdout.write(result.data);
      return;
    }
    const { data: _data, ...rest } = result as typeof result & { data?: Buffer };
    return this.render(rest, () => {
      this.log(`${this.colors.green('✔')} ${result.size} bytes → ${(result as { output?: string }).output}`);
      this.log(this.colors.dim(summaryLine(result.summary)));
    });
  }
}
