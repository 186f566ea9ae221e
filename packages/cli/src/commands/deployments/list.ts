import { Flags } from '@oclif/core';
import { listDeployments } from '@reyna/core';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { cloudflareSettings, studioSettings, targetFlags } from '../../shared-deploy-flags.js';

export default class DeploymentsList extends BaseCommand<typeof DeploymentsList> {
  static override summary = "List the app's deployments on its target, the one serving first.";
  static override examples = ['<%= config.bin %> deployments list --target cloudflare'];
  static override flags = {
    ...targetFlags,
    app: flag('app', Flags.string({ description: "APP_ID whose deployments to list (default: reyna.json's appId)." })),
  };

  async run() {
    const deployments = await listDeployments(this.context(), {
      target: this.flags.target,
      appId: this.flags.app,
      cloudflare: cloudflareSettings(this.flags, process.env),
      studio: studioSettings(this.flags),
    });
    return this.render({ deployments }, () => {
      const c = this.colors;
      if (deployments.length === 0) this.log('No deployments yet.');
      for (const d of deployments) {
        const versions = d.versions
          .map((v) => `${v.versionId}${v.percentage === 100 ? '' : ` ${v.percentage}%`}`)
          .join(', ');
        this.log(
          `${d.active ? c.green('●') : ' '} ${d.createdOn}  ${d.id}  ${versions}${d.message ? c.dim(`  ${d.message}`) : ''}`,
        );
      }
    });
  }
}
