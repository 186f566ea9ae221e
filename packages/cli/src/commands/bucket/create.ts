import { Args } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { studioFlags, syncOptions } from '../../sync-flags.js';

export default class BucketCreate extends BaseCommand<typeof BucketCreate> {
  static override summary = 'Create a bucket.';
  static override examples = ['<%= config.bin %> bucket create photos'];
  static override args = { name: Args.string({ description: 'Bucket name.', required: true }) };
  static override flags = { ...studioFlags };

  async run() {
    const { createBucket } = await import('@reyna/core/buckets');
    const result = await createBucket({ ...syncOptions(this.context(), this.flags), name: this.args.name });
    return this.render(result, () => this.log(`${this.colors.green('✔')} Created bucket ${result.bucket.name}`));
  }
}
