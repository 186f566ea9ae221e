import { whoami } from '@reyna/core';
import { Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';
import { studioOptions } from '../sync-flags.js';

export default class Whoami extends BaseCommand<typeof Whoami> {
  static override summary = 'Show who your token belongs to on the studio server.';
  static override description = 'Uses --server/REYNA_SERVER and --token/REYNA_TOKEN, else the credentials file.';
  static override examples = [
    '<%= config.bin %> whoami',
    'REYNA_SERVER=http://127.0.0.1:8787 REYNA_TOKEN=… <%= config.bin %> whoami --json',
  ];

  static override flags = {
    server: flag('server', Flags.string({ description: 'Studio server URL.', helpValue: '<url>' })),
    token: flag('token', Flags.string({ description: 'API token.', helpValue: '<token>' })),
  };

  async run() {
    const result = await whoami(studioOptions(this.context(), this.flags));
    return this.render(result, () => {
      const role = result.user.admin ? ' (admin)' : '';
      this.log(`${this.colors.bold(result.user.name)}${role} on ${result.server}`);
      this.log(this.colors.dim(`token ${result.token.name} (${result.token.id}) from ${result.tokenSource}`));
    });
  }
}
