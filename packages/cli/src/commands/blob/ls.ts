import { Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { formatBytes, studioFlags, syncOptions } from '../../sync-flags.js';

export default class BlobLs extends BaseCommand<typeof BlobLs> {
  static override summary = 'List the blobs you have uploaded: hash, size, when.';
  static override description = `In hash order. Pages are fetched for you: all of them, or as many as --limit \
needs. The rows go to stdout, the count and total size to stderr.`;
  static override examples = [
    '<%= config.bin %> blob ls',
    '<%= config.bin %> blob ls --prefix 9f86d0',
    '<%= config.bin %> blob ls --limit 20 --json',
  ];
  static override flags = {
    ...studioFlags,
    prefix: flag('prefix', Flags.string({ description: 'Only hashes that start with this.', helpValue: '<hex>' })),
    limit: flag('limit', Flags.integer({ description: 'At most this many (default: all).', min: 1 })),
  };

  async run() {
    const { listBlobs } = await import('@reyna/core/buckets');
    const result = await listBlobs({
      ...syncOptions(this.context(), this.flags),
      prefix: this.flags.prefix,
      limit: this.flags.limit,
    });
    return this.render(result, () => {
      for (const b of result.blobs) this.log(`${b.sha256}  ${formatBytes(b.size).padStart(10)}  ${b.createdAt}`);
      const count = `${result.blobs.length} blob${result.blobs.length === 1 ? '' : 's'}`;
      const more = result.more ? ' (more: raise --limit to see them)' : '';
      this.logToStderr(this.colors.dim(`${count}, ${formatBytes(result.totalBytes)}${more}`));
    });
  }
}
