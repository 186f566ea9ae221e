import { Args } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { studioFlags, syncOptions } from '../../sync-flags.js';

export default class BucketUnshare extends BaseCommand<typeof BucketUnshare> {
  static override summary = 'Stop sharing a bucket with a user.';
  static override examples = ['<%= config.bin %> bucket unshare photos alice'];
  static override args = {
    name: Args.string({ description: 'Bucket name.', required: true }),
    user: Args.string({ description: 'User name.', required: true }),
  };
  static override flags = { ...studioFlags };

  async run() {
    const { shareBucket } = await import('@reyna/core/buckets');
    const result = await shareBucket({
      ...syncOptions(this.context(), this.flags),
      name: this.args.name,
      user: this.args.user,
      access: null,
    });
    return this.render(result, () =>
      this.log(`${this.colors.green('✔')} ${result.bucket.name} no longer shared with ${this.args.user}`),
    );
  }
}
