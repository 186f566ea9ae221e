import { Args, Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { studioFlags, summaryLine, syncOptions, withSteps } from '../../sync-flags.js';

export default class BlobGet extends BaseCommand<typeof BlobGet> {
  static override summary = 'Download a blob by its hash (to stdout, or a file with -o).';
  static override examples = ['<%= config.bin %> blob get 9f86d0… -o logo.png'];
  static override args = { hash: Args.string({ description: 'SHA-256 of the blob.', required: true }) };
  static override flags = {
    ...studioFlags,
    output: flag('output', Flags.string({ char: 'o', description: 'Write to this file (atomically).' })),
  };

  async run() {
    const { getBlob } = await import('@reyna/core/buckets');
    const toFile = this.flags.output !== undefined;
    const result = await withSteps(
      // Without -o the bytes are the output: no progress around them.
      (tasks) => (toFile ? this.tasks(tasks, {}, { liveOnly: true }) : Promise.resolve()),
      [{ id: 'download', title: 'Download' }],
      (hooks) =>
        getBlob({
          ...syncOptions(this.context(), this.flags),
          sha256: this.args.hash,
          output: this.flags.output,
          ...hooks,
        }),
    );
    if (result.data && !this.json) {
      process.stdout.write(result.data);
      return;
    }
    const { data: _data, ...rest } = result;
    return this.render(rest, () => {
      this.log(`${this.colors.green('✔')} ${result.size} bytes → ${result.output}`);
      this.log(this.colors.dim(summaryLine(result.summary)));
    });
  }
}
