import { abortUpgrade, continueUpgrade, type UpgradeAction, type UpgradePlan, upgradeApp } from '@reyna/core';
import { Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';
import { builtinTemplatesDir } from '../paths.js';

const LABEL: Record<UpgradeAction['action'], string> = {
  add: 'added',
  update: 'updated',
  merge: 'merged',
  delete: 'deleted',
  mode: 'mode changed',
  rename: 'renamed',
  conflict: 'CONFLICT',
};

export default class Upgrade extends BaseCommand<typeof Upgrade> {
  static override summary = 'Move the app to a newer version of its template, keeping your changes.';
  static override description = `A three-way merge per file: the template at the commit the app was made from \
(recorded in reyna.json), the template at --to (default: its newest tag, or the newest built-in version), and your \
working tree. Conflicts are written with <<<<<<< markers and listed; resolve them and run --continue, or undo \
everything with --abort. reyna.json records the new template commit only once the merge is clean.`;

  static override examples = [
    '<%= config.bin %> upgrade --dry-run',
    '<%= config.bin %> upgrade --to v2.0.0',
    '<%= config.bin %> upgrade --continue',
  ];

  static override flags = {
    to: flag('to', Flags.string({ description: 'Tag, branch or commit (or built-in version) to move to.' })),
    'dry-run': flag(
      'dry-run',
      Flags.boolean({ description: 'Print the plan (also of --continue or --abort); change nothing.' }),
    ),
    continue: flag(
      'continue',
      Flags.boolean({ description: 'Finish after resolving conflicts.', exclusive: ['abort', 'to'] }),
    ),
    abort: flag(
      'abort',
      Flags.boolean({ description: 'Undo an upgrade that stopped on conflicts.', exclusive: ['to'] }),
    ),
    offline: flag('offline', Flags.boolean({ description: 'Use only cached git templates.' })),
    'prefer-offline': flag('prefer-offline', Flags.boolean({ description: 'Use the cache when it has the ref.' })),
  };

  async run() {
    const { flags } = this;
    const ctx = this.context();
    const dryRun = flags['dry-run'] === true;
    if (flags.continue) {
      const done = await continueUpgrade(ctx, { dryRun });
      return this.render(done, () => {
        if (!dryRun) this.log(`${this.colors.green('✔')} Upgrade finished: now on ${describe(done.template)}`);
        else if (done.remaining.length === 0)
          this.log(`Would finish the upgrade and record ${describe(done.template)}`);
        else this.log(`Cannot finish yet: ${done.remaining.length} conflict(s) left in ${done.remaining.join(', ')}`);
      });
    }
    if (flags.abort) {
      const undone = await abortUpgrade(ctx, { dryRun });
      return this.render(undone, () => {
        if (!dryRun) this.log(`Upgrade aborted: ${undone.restored} files put back as they were.`);
        else {
          this.log(`Would abort the upgrade and put back ${undone.restored} files:`);
          for (const file of undone.files) this.log(`  ${file.action.padEnd(8)} ${file.path}`);
        }
      });
    }
    const plan = await upgradeApp(ctx, {
      to: flags.to,
      dryRun,
      offline: flags.offline,
      preferOffline: flags['prefer-offline'],
      builtinRoot: builtinTemplatesDir,
    });
    return this.render(plan, () => this.printPlan(plan, dryRun));
  }

  private printPlan(plan: UpgradePlan, dryRun: boolean): void {
    const c = this.colors;
    if (plan.upToDate) {
      this.log(`Already on ${describe(plan.to)}: nothing to do.`);
      return;
    }
    this.log(`${dryRun ? 'Would upgrade' : 'Upgraded'} from ${describe(plan.from)} to ${describe(plan.to)}`);
    for (const action of plan.actions) {
      const from = 'from' in action && action.from ? ` (from ${action.from})` : '';
      const label = action.action === 'conflict' ? c.red(`${LABEL.conflict} (${action.kind})`) : LABEL[action.action];
      this.log(`  ${label.padEnd(14)} ${action.path}${from}`);
    }
    if (plan.actions.length === 0) this.log('  (no file changes)');
    if (dryRun && plan.conflicts.length) this.log(c.yellow(`\n${plan.conflicts.length} file(s) would conflict.`));
  }
}

function describe(at: { version?: string; commit?: string; ref?: string }): string {
  const short = at.commit ? ` (${at.commit.slice(0, 7)})` : '';
  return `${at.version ?? at.ref ?? 'unknown'}${short}`;
}
