import type { PullResult } from '@reyna/core/sync';
import { Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';
import { summaryLine, syncOptions, transferFlags, withSteps } from '../sync-flags.js';

export default class Pull extends BaseCommand<typeof Pull> {
  static override summary = "Bring the working tree to the server's newest revision.";
  static override description = `Files are downloaded (only those that differ), checked against their hash and \
written whole (temp file + rename) with their executable bit. Local changes to files the server did not change are \
kept. If the pull would overwrite or delete a local change, it stops and lists the files, unless --force. With \
--watch it keeps pulling as new revisions arrive (server events), until Ctrl-C.`;

  static override examples = [
    '<%= config.bin %> pull',
    '<%= config.bin %> pull --force',
    '<%= config.bin %> pull --watch',
  ];

  static override flags = {
    ...transferFlags,
    force: flag('force', Flags.boolean({ description: "Overwrite local changes with the server's version." })),
    watch: flag('watch', Flags.boolean({ description: 'Keep pulling as revisions arrive.' })),
    'dry-run': flag('dry-run', Flags.boolean({ description: 'Print the plan; write nothing.' })),
  };

  async run() {
    const sync = await import('@reyna/core/sync');
    const options = { ...syncOptions(this.context(), this.flags), force: this.flags.force };
    if (this.flags.watch) {
      const pulls: PullResult[] = [];
      await sync.watchPull({
        ...options,
        onPull: (r) => {
          pulls.push(r);
          if (this.json) process.stdout.write(`${JSON.stringify({ event: 'pull', ...r })}\n`);
          else if (!r.upToDate) this.log(`${this.colors.green('✔')} Pulled ${r.revision} · ${summaryLine(r.summary)}`);
        },
        onError: (error) => this.logger.warn((error as Error).message),
      });
      if (!this.json) this.log(`Stopped watching after ${pulls.length} pulls.`);
      return;
    }
    const result = await withSteps(
      (tasks) => this.tasks(tasks),
      [
        { id: 'scan', title: 'Scan files' },
        { id: 'compare', title: 'Compare with the server' },
        { id: 'download', title: 'Download' },
        { id: 'write', title: 'Remove deleted files' },
      ],
      (hooks) => sync.pull({ ...options, dryRun: this.flags['dry-run'], ...hooks }),
    );
    const { remote: _remote, ...plan } = result.plan;
    return this.render({ ...result, plan, dryRun: this.flags['dry-run'] }, () => {
      const c = this.colors;
      if (this.flags['dry-run']) {
        for (const w of plan.write) this.log(`  ${c.green('write')}   ${w.path}`);
        for (const p of plan.remove) this.log(`  ${c.red('remove')}  ${p}`);
        for (const p of plan.conflicts) this.log(`  ${c.yellow('conflict')} ${p}`);
        return;
      }
      if (result.upToDate) this.log(`${c.green('✔')} Up to date with ${result.revision ?? 'no revision'}`);
      else this.log(`${c.green('✔')} Pulled ${c.bold(result.revision ?? '')}`);
      if (plan.keptLocal.length > 0) this.log(c.dim(`Kept ${plan.keptLocal.length} local changes.`));
      this.log(c.dim(summaryLine(result.summary)));
    });
  }
}
