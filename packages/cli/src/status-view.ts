import type { StatusResult } from '@reyna/core/sync';
import type { Colors } from './colors.js';

/** The human form of `reyna status`, line by line (shared by the command and the binary's fast path). */
export function printStatus(result: StatusResult, c: Colors, log: (line: string) => void): void {
  const list = (changes: { added: string[]; modified: string[]; deleted: string[] }) => {
    for (const p of changes.added) log(`  ${c.green('added')}     ${p}`);
    for (const p of changes.modified) log(`  ${c.yellow('modified')}  ${p}`);
    for (const p of changes.deleted) log(`  ${c.red('deleted')}   ${p}`);
  };
  log(`App ${c.bold(result.appId)} on ${result.server}, at ${result.base ?? 'no revision yet'}`);
  if (result.serverMoved) {
    const { added, modified, deleted } = result.remote;
    const count = added.length + modified.length + deleted.length;
    log(
      c.yellow(
        `The server moved on to ${result.head ?? 'no revision'} (${count} file${count === 1 ? '' : 's'} changed there): run \`reyna pull\` before pushing.`,
      ),
    );
    list(result.remote);
    if (!result.clean) log('Changed here:');
  }
  list(result);
  if (result.conflicts.length > 0)
    log(
      c.red(
        `Changed on both sides: ${result.conflicts.join(', ')}. \`reyna pull\` stops on them; \`reyna pull --force\` takes the server's.`,
      ),
    );
  if (result.clean) log(c.dim(`No local changes (${result.files} files).`));
}
