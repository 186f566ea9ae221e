import { Args } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { studioFlags, syncOptions } from '../../sync-flags.js';

export default class BucketRm extends BaseCommand<typeof BucketRm> {
  static override summary = 'Delete a bucket and its objects (owner only).';
  static override examples = ['<%= config.bin %> bucket rm photos'];
  static override args = { name: Args.string({ description: 'Bucket name.', required: true }) };
  static override flags = { ...studioFlags };

  async run() {
    const { deleteBucket } = await import('@reyna/core/buckets');
    const result = await deleteBucket({ ...syncOptions(this.context(), this.flags), name: this.args.name });
    return this.render(result, () => this.log(`${this.colors.green('✔')} Deleted bucket ${result.bucket.name}`));
  }
}
