import { Args, Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { studioFlags, syncOptions } from '../../sync-flags.js';

export default class BucketExport extends BaseCommand<typeof BucketExport> {
  static override summary = 'Export a bucket as one JSON document (objects with their bytes in base64).';
  static override examples = ['<%= config.bin %> bucket export photos -o photos.json'];
  static override args = { name: Args.string({ description: 'Bucket name.', required: true }) };
  static override flags = {
    ...studioFlags,
    output: flag('output', Flags.string({ char: 'o', description: 'Write to this file (default: stdout).' })),
  };

  async run() {
    const { exportBucket } = await import('@reyna/core/buckets');
    const result = await exportBucket({
      ...syncOptions(this.context(), this.flags),
      name: this.args.name,
      output: this.flags.output,
    });
    if (result.export) {
      // The export is the document, with or without --json.
      process.stdout.write(`${JSON.stringify(result.export)}\n`);
      return;
    }
    return this.render(result, () =>
      this.log(`${this.colors.green('✔')} ${result.objects} objects of ${result.bucket.name} → ${result.output}`),
    );
  }
}
