import { listServerTokens } from '@reyna/core';
import { Flags } from '../../../_oclif.js';
import { BaseCommand } from '../../../base-command.js';
import { flag } from '../../../flags.js';
import { studioFlags, studioOptions } from '../../../sync-flags.js';

export default class ServerTokenList extends BaseCommand<typeof ServerTokenList> {
  static override summary = 'List API tokens (never their values): yours, or as an admin anyone’s.';
  static override examples = [
    '<%= config.bin %> server token list',
    '<%= config.bin %> server token list --user alice',
    '<%= config.bin %> server token list --all --json',
  ];

  static override flags = {
    user: flag(
      'user',
      Flags.string({ description: 'Whose tokens (admins only, for others).', helpValue: '<name>', exclusive: ['all'] }),
    ),
    all: flag('all', Flags.boolean({ description: 'Every user’s tokens (admins only).', exclusive: ['user'] })),
    ...studioFlags,
  };

  async run() {
    const result = await listServerTokens({
      ...studioOptions(this.context(), this.flags),
      user: this.flags.user,
      all: this.flags.all,
    });
    return this.render(result, () => {
      if (result.tokens.length === 0) this.log(this.colors.dim('No tokens.'));
      for (const t of result.tokens) {
        const state = t.revokedAt ? this.colors.dim(`revoked ${t.revokedAt}`) : this.colors.green('live');
        this.log(`${t.id}  ${t.user.padEnd(16)}  ${t.name.padEnd(16)}  ${t.createdAt}  ${state}`);
      }
    });
  }
}
