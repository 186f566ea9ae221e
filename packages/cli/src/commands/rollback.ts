import { rollbackDeploy } from '@reyna/core';
import { Args, Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';
import { cloudflareSettings, studioSettings, targetFlags } from '../shared-deploy-flags.js';

export default class Rollback extends BaseCommand<typeof Rollback> {
  static override summary = 'Serve an earlier version again: the one given, or the one before the current.';
  static override description = `A rollback is a new deployment that points at an older, immutable version, so \
it restores that content exactly. Pass a deployment id or a version id from \`reyna deployments list\`; a \
Cloudflare rollback is recorded on the studio server like a deploy.`;
  static override examples = [
    '<%= config.bin %> rollback',
    '<%= config.bin %> rollback dep-4k1z…',
    '<%= config.bin %> rollback 0c2f…-version-id --target cloudflare',
  ];
  static override args = {
    deployment: Args.string({
      description: 'Deployment id or version id to serve again (default: the one before the current).',
    }),
  };
  static override flags = {
    ...targetFlags,
    app: flag('app', Flags.string({ description: "APP_ID to roll back (default: reyna.json's appId)." })),
    message: flag('message', Flags.string({ char: 'm', description: 'A note kept with the deployment.' })),
  };

  async run() {
    const deployment = await rollbackDeploy(this.context(), {
      target: this.flags.target,
      appId: this.flags.app,
      message: this.flags.message,
      cloudflare: cloudflareSettings(this.flags, process.env),
      studio: studioSettings(this.flags),
      ...(this.args.deployment ? { version: this.args.deployment } : {}),
    });
    return this.render({ deployment }, () => {
      const serving = deployment.versions.map((v) => v.versionId).join(', ');
      this.log(`${this.colors.green('✔')} Rolled back: now serving ${this.colors.bold(serving)}`);
    });
  }
}
