// `reyna status` answered by a running sync daemon, for bin/reyna.cjs, which loads this as one CommonJS file
// (dist/daemon/fast.cjs, bundled by scripts/bundle-fast.mjs) before Node's ESM loader has loaded anything: that
// loader and the modules of bin/run.js cost more than the daemon takes to answer. Anything but an answer (another
// form of the command, no daemon, an error) is left to bin/run.js, which runs the command as it always does.
import type { StatusResult } from '@reyna/core/sync';
import { parseStatusArgs, writeStatus } from '../fast-status.js';
import { askDaemon, callFor } from './client.js';

/** Prints the daemon's answer to `status` (the words after it in `argv`); false when there is none to print. */
export async function statusThroughDaemon(argv: readonly string[], env: Record<string, string | undefined>) {
  const args = parseStatusArgs(argv, env);
  if (!args) return false;
  const call = callFor('status', { cwd: process.cwd(), env, server: args.server, token: args.token });
  const result = (await askDaemon(call)) as StatusResult | undefined;
  if (result === undefined) return false;
  await writeStatus(result, args.json);
  return true;
}
