import { Args, Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { studioFlags, syncOptions } from '../../sync-flags.js';

export default class BucketUnlink extends BaseCommand<typeof BucketUnlink> {
  static override summary = "Revoke a bucket's public links.";
  static override examples = ['<%= config.bin %> bucket unlink photos'];
  static override args = { name: Args.string({ description: 'Bucket name.', required: true }) };
  static override flags = {
    ...studioFlags,
    link: flag('link', Flags.string({ description: 'Revoke only this link id.' })),
  };

  async run() {
    const { unlinkBucket } = await import('@reyna/core/buckets');
    const result = await unlinkBucket({
      ...syncOptions(this.context(), this.flags),
      name: this.args.name,
      linkId: this.flags.link,
    });
    return this.render(result, () =>
      this.log(`${this.colors.green('✔')} Revoked ${result.revoked.length} link(s) of ${result.bucket.name}`),
    );
  }
}
