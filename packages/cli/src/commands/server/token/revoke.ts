import { revokeServerToken } from '@reyna/core';
import { Args } from '../../../_oclif.js';
import { BaseCommand } from '../../../base-command.js';
import { studioFlags, studioOptions } from '../../../sync-flags.js';

export default class ServerTokenRevoke extends BaseCommand<typeof ServerTokenRevoke> {
  static override summary = 'Revoke an API token: your own, or anyone’s as an admin.';
  static override description =
    'Requests with a revoked token answer 401 E_TOKEN_REVOKED. Find the id with `reyna server token list`.';
  static override examples = ['<%= config.bin %> server token revoke tok-4k1z0example00'];
  static override args = { tokenId: Args.string({ description: 'The token id (tok-…).', required: true }) };
  static override flags = { ...studioFlags };

  async run() {
    const result = await revokeServerToken({
      ...studioOptions(this.context(), this.flags),
      tokenId: this.args.tokenId,
    });
    return this.render(result, () =>
      this.log(
        `${this.colors.green('✔')} Revoked ${result.token.id} (${result.token.name}) at ${result.token.revokedAt}`,
      ),
    );
  }
}
