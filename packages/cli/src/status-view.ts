import type { StatusResult } from '@reyna/core/sync';
import type { Colors } from './colors.js';
import { isCI, isTruthy } from './flags.js';

/** Trees this big, whose status took this long without the sync daemon, are told of it. */
const TIP_FILES = 5000;
const TIP_MS = 200;

/**
 * The line a person at a terminal is shown after a slow status of a big tree that no daemon answered (`aloneMs` is
 * how long it took, undefined when a daemon answered): what would
 * make it fast. Nothing on CI, with REYNA_NO_DAEMON (the daemon was turned off on purpose), or for small trees.
 */
export function daemonTip(
  files: number,
  aloneMs: number | undefined,
  env: Record<string, string | undefined>,
  terminal: boolean,
): string | undefined {
  if (aloneMs === undefined || aloneMs < TIP_MS || files < TIP_FILES) return undefined;
  if (!terminal || isCI(env) || isTruthy(env.REYNA_NO_DAEMON)) return undefined;
  return `Tip: this status took ${Math.round(aloneMs)} ms for ${files} files. \`reyna daemon start\` keeps a process that watches the tree and answers in a few ms.`;
}

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
