import { applyDeploy, formatBytes, planDeploy } from '@reyna/core';
import { Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';
import { cloudflareSettings, studioSettings, targetFlags } from '../shared-deploy-flags.js';

export default class Deploy extends BaseCommand<typeof Deploy> {
  static override summary = 'Deploy the built app, with its APP_ID injected, uploading only what the target lacks.';
  static override description = `Plans, then applies: the plan lists the files to upload (HTML with \
window.ENV.APP_ID injected), bytes, bindings and target; --dry-run prints it and stops. The build itself stays \
APP_ID-free, so the same build deploys to any app. Local (the default): the studio server's edge serves the app \
at http://<app>.localhost:<edge-port>/; the server and token come from --server/--token (REYNA_SERVER, REYNA_TOKEN) \
or the credentials file (\`reyna login\`). Cloudflare: CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID \
come from the environment; an interrupted deploy, run again, uploads only what is still missing; when a studio \
server is configured the deployment is recorded there (else a warning says it was not).`;

  static override examples = [
    '<%= config.bin %> deploy',
    '<%= config.bin %> deploy --target cloudflare',
    '<%= config.bin %> deploy --dry-run --json',
    '<%= config.bin %> deploy --app staging-app-id --message "try the new header"',
  ];

  static override flags = {
    ...targetFlags,
    app: flag('app', Flags.string({ description: "APP_ID to deploy as (default: reyna.json's appId)." })),
    'dry-run': flag('dry-run', Flags.boolean({ description: 'Print the plan and stop.' })),
    message: flag('message', Flags.string({ char: 'm', description: 'A note kept with the deployment.' })),
    timeout: flag(
      'timeout',
      Flags.integer({ description: 'Seconds per request to the studio server before it is retried.', min: 1 }),
    ),
  };

  async run() {
    const ctx = this.context();
    const options = {
      target: this.flags.target,
      appId: this.flags.app,
      message: this.flags.message,
      cloudflare: cloudflareSettings(this.flags, process.env),
      studio: {
        ...studioSettings(this.flags),
        ...(this.flags.timeout === undefined ? {} : { timeoutMs: this.flags.timeout * 1000 }),
      },
    };
    const plan = await planDeploy(ctx, options);
    const c = this.colors;
    const name = plan.target === 'cloudflare' ? plan.workerName : plan.appName;
    if (this.flags['dry-run']) {
      return this.render({ plan }, () => {
        this.log(`Plan: deploy ${c.bold(name)} to ${plan.target} as APP_ID ${c.bold(plan.appId)}`);
        this.log(
          `  ${plan.files.length} files, ${formatBytes(plan.bytes.files)}; Worker ${formatBytes(plan.bytes.worker)}`,
        );
        if (plan.target === 'local') {
          this.log(
            `  to upload: ${plan.upload.files} (${formatBytes(plan.upload.bytes)}); the server has ${plan.skip.files} (${formatBytes(plan.skip.bytes)})`,
          );
        }
        this.log(`  bindings: ${plan.bindings.map((b) => b.name).join(', ')}`);
        for (const warning of plan.warnings) this.log(c.yellow(`  ! ${warning}`));
        this.log(c.dim('Nothing was uploaded (--dry-run).'));
      });
    }
    const result = await applyDeploy(ctx, plan, {
      ...options,
      onProgress: (event) => {
        if (this.json) return;
        if (event.type === 'uploading')
          this.logger.info(c.dim(`Uploading ${event.files} files (${formatBytes(event.bytes)}) the server lacks…`));
        if (event.type === 'session') this.logger.info(c.dim(`Uploading ${event.files} files the target lacks…`));
        if (event.type === 'session-expired')
          this.logger.info(c.dim('Upload token expired: continuing in a new session'));
        if (event.type === 'version' && event.reused)
          this.logger.info(c.dim('This content is already a version: reusing it'));
      },
    });
    return this.render({ plan, result }, () => {
      this.log(`${c.green('✔')} Deployed ${c.bold(name)} (APP_ID ${plan.appId}) to ${result.target}`);
      this.log(
        `  uploaded ${result.uploaded.files} files (${formatBytes(result.uploaded.bytes)}), skipped ${result.skipped.files} (${formatBytes(result.skipped.bytes)})`,
      );
      this.log(`  version ${result.versionId}`);
      if (result.target === 'cloudflare' && result.record.recorded) {
        this.log(c.dim(`  recorded on the studio server as ${result.record.deploymentId}`));
      }
      this.log(`  ${c.bold(result.url)}`);
    });
  }
}
