import { login } from '@reyna/core';
import { Flags } from '../_oclif.js';
import { BaseCommand } from '../base-command.js';
import { flag } from '../flags.js';

export default class Login extends BaseCommand<typeof Login> {
  static override summary = 'Save a studio server token in your credentials file.';
  static override description = `Checks the token against the server (GET /v1/whoami), then saves it in \
$XDG_CONFIG_HOME/reyna/credentials.json (mode 0600) and makes that server the default. On CI, set REYNA_SERVER \
and REYNA_TOKEN instead.`;

  static override examples = [
    '<%= config.bin %> login --server http://127.0.0.1:8787',
    '<%= config.bin %> login --server https://studio.example.com --token "$TOKEN"',
  ];

  static override flags = {
    server: flag('server', Flags.string({ description: 'Studio server URL.', helpValue: '<url>' })),
    token: flag('token', Flags.string({ description: 'API token (asked for when missing).', helpValue: '<token>' })),
  };

  async run() {
    const ctx = this.context();
    const server =
      this.flags.server ?? (await this.ask({ flag: '--server', message: 'Studio server URL', default: undefined }));
    const token = this.flags.token ?? (await this.ask({ flag: '--token', message: 'API token' }));
    const result = await login({ env: ctx.env, server, token, signal: ctx.signal });
    return this.render(result, () => {
      this.log(
        `${this.colors.green('✔')} Logged in to ${this.colors.bold(result.server)} as ${this.colors.bold(result.user.name)}`,
      );
      this.log(this.colors.dim(`token saved in ${result.credentialsPath}`));
    });
  }
}
