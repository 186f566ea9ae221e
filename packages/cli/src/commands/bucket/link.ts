import { Args } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { studioFlags, syncOptions } from '../../sync-flags.js';

export default class BucketLink extends BaseCommand<typeof BucketLink> {
  static override summary = 'Create a public, read-only URL of a bucket (revocable with `bucket unlink`).';
  static override examples = ['<%= config.bin %> bucket link photos'];
  static override args = { name: Args.string({ description: 'Bucket name.', required: true }) };
  static override flags = { ...studioFlags };

  async run() {
    const { linkBucket } = await import('@reyna/core/buckets');
    const result = await linkBucket({ ...syncOptions(this.context(), this.flags), name: this.args.name });
    return this.render(result, () => {
      this.log(result.url);
      this.logToStderr(this.colors.dim(`Objects: ${result.url}/<key>; anyone with the URL can read them.`));
    });
  }
}
