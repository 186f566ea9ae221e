import { Args } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { summaryLine, syncOptions, transferFlags, withSteps } from '../../sync-flags.js';

export default class BlobPut extends BaseCommand<typeof BlobPut> {
  static override summary = 'Upload files as blobs and print their SHA-256 hashes.';
  static override description =
    'Only the blobs the server lacks are sent. On a terminal the upload shows its progress; the summary goes to stderr.';
  static override examples = ['<%= config.bin %> blob put logo.png data.csv'];
  static override strict = false;
  static override args = { file: Args.string({ description: 'Files to upload.', required: true }) };
  static override flags = { ...transferFlags };

  async run() {
    const { argv } = await this.parse(BlobPut);
    const { putBlobs } = await import('@reyna/core/buckets');
    const result = await withSteps(
      // stdout carries the hashes: progress only where it is live.
      (tasks) => this.tasks(tasks, {}, { liveOnly: true }),
      [
        { id: 'scan', title: 'Hash files' },
        { id: 'compare', title: 'Compare with the server' },
        { id: 'upload', title: 'Upload' },
      ],
      (hooks) => putBlobs({ ...syncOptions(this.context(), this.flags), files: argv as string[], ...hooks }),
    );
    return this.render(result, () => {
      for (const b of result.blobs) this.log(`${b.sha256}  ${b.file}`);
      this.logToStderr(this.colors.dim(summaryLine(result.summary)));
    });
  }
}
