import { BaseCommand } from '../base-command.js';

export default class Version extends BaseCommand<typeof Version> {
  static override summary = 'Print the version of reyna.';
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json'];

  async run() {
    const { arch, name, platform, userAgent, version } = this.config;
    const result = { name, version, platform, arch, node: process.version, userAgent };
    return this.render(result, () => this.log(userAgent));
  }
}
