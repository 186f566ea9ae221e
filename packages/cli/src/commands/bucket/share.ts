import { Args, Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { studioFlags, syncOptions } from '../../sync-flags.js';

export default class BucketShare extends BaseCommand<typeof BucketShare> {
  static override summary = 'Share a bucket with a named user, read-only or read-write.';
  static override examples = ['<%= config.bin %> bucket share photos alice --read'];
  static override args = {
    name: Args.string({ description: 'Bucket name.', required: true }),
    user: Args.string({ description: 'User name.', required: true }),
  };
  static override flags = {
    ...studioFlags,
    read: flag('read', Flags.boolean({ description: 'Read only.', exactlyOne: ['read', 'write'] })),
    write: flag('write', Flags.boolean({ description: 'Read and write.', exactlyOne: ['read', 'write'] })),
  };

  async run() {
    const { shareBucket } = await import('@reyna/core/buckets');
    const access = this.flags.write ? 'write' : 'read';
    const result = await shareBucket({
      ...syncOptions(this.context(), this.flags),
      name: this.args.name,
      user: this.args.user,
      access,
    });
    return this.render(result, () =>
      this.log(`${this.colors.green('✔')} ${result.bucket.name} shared with ${this.args.user} (${access})`),
    );
  }
}
