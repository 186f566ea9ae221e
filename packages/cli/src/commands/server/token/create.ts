import { createServerToken } from '@reyna/core';
import { Flags } from '../../../_oclif.js';
import { BaseCommand } from '../../../base-command.js';
import { flag } from '../../../flags.js';
import { studioOptions } from '../../../sync-flags.js';

export default class ServerTokenCreate extends BaseCommand<typeof ServerTokenCreate> {
  static override summary = 'Create an API token for a user (admins only); the user is created when new.';
  static override description = 'The token is printed once; the server keeps only its hash.';
  static override examples = [
    '<%= config.bin %> server token create --user alice',
    '<%= config.bin %> server token create --user ci-bot --name github --json',
  ];

  static override flags = {
    user: flag('user', Flags.string({ description: 'Whose token.', required: true, helpValue: '<name>' })),
    name: flag('name', Flags.string({ description: 'A label for the token.', default: 'cli' })),
    admin: flag('admin', Flags.boolean({ description: 'Make a new user an admin.' })),
    server: flag('server', Flags.string({ description: 'Studio server URL.', helpValue: '<url>' })),
    token: flag('token', Flags.string({ description: "An admin's API token.", helpValue: '<token>' })),
  };

  async run() {
    const made = await createServerToken({
      ...studioOptions(this.context(), this.flags),
      user: this.flags.user,
      name: this.flags.name,
      admin: this.flags.admin,
    });
    return this.render(made, () => {
      this.log(`Token for ${this.colors.bold(made.user.name)} (${made.info.id}), shown only this once:`);
      this.log(`  ${this.colors.bold(made.token)}`);
    });
  }
}
