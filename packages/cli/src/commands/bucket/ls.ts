import { Args, Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { formatBytes, studioFlags, syncOptions } from '../../sync-flags.js';

export default class BucketLs extends BaseCommand<typeof BucketLs> {
  static override summary = "List your buckets, or a bucket's objects.";
  static override examples = ['<%= config.bin %> bucket ls', '<%= config.bin %> bucket ls photos --prefix 2024/'];
  static override args = { name: Args.string({ description: 'Bucket whose objects to list.' }) };
  static override flags = {
    ...studioFlags,
    prefix: flag('prefix', Flags.string({ description: 'Only keys that start with this.' })),
  };

  async run() {
    const buckets = await import('@reyna/core/buckets');
    const options = syncOptions(this.context(), this.flags);
    if (this.args.name === undefined) {
      const result = await buckets.listBuckets(options);
      return this.render(result, () => {
        for (const b of result.buckets) this.log(`${b.name.padEnd(24)}  ${b.access.padEnd(5)}  ${b.id}`);
      });
    }
    const result = await buckets.listObjects({ ...options, name: this.args.name, prefix: this.flags.prefix });
    return this.render(result, () => {
      for (const o of result.objects) this.log(`${formatBytes(o.size).padStart(10)}  ${o.updatedAt}  ${o.key}`);
    });
  }
}
