import { formatBytes, listDeployments } from '@reyna/core';
import { Flags } from '../../_oclif.js';
import { BaseCommand } from '../../base-command.js';
import { flag } from '../../flags.js';
import { cloudflareSettings, studioSettings, targetFlags } from '../../shared-deploy-flags.js';

export default class DeploymentsList extends BaseCommand<typeof DeploymentsList> {
  static override summary = "List the app's deployments on its target, the one serving first.";
  static override description = `For Cloudflare, a linked app lists the studio server's records (target, version, \
URL, status, bytes uploaded, duration, who, when), the one Cloudflare serves marked; otherwise Cloudflare's own list.`;
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
        const mark = d.active ? c.green('●') : ' ';
        if ('origin' in d && d.origin === 'studio') {
          const status = d.status === 'success' ? d.status : c.red(d.status);
          this.log(`${mark} ${d.createdOn}  ${d.id}  ${d.target}  ${status}  ${versions || '-'}`);
          this.log(
            c.dim(
              `    ${d.url ?? '-'}  uploaded ${formatBytes(d.bytesUploaded)} in ${d.durationMs} ms  by ${d.createdBy}`,
            ),
          );
          continue;
        }
        this.log(`${mark} ${d.createdOn}  ${d.id}  ${versions}${d.message ? c.dim(`  ${d.message}`) : ''}`);
      }
    });
  }
}
