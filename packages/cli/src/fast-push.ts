// `reyna push --json` without oclif. Loading oclif takes about 200 ms, near half of what a one-change push on a
// large tree may take; in scripts and CI, where push runs unattended, its answer is one JSON document, which
// needs no progress display. bin/run.js hands the plain JSON forms here (`--json` or REYNA_JSON, `-m/--message`,
// `--server`, `--token`, `--yes`); everything else (the listr2 progress on a terminal or the plain lines,
// --dry-run, the transfer tuning flags, --help) goes to commands/push.ts. The JSON, the errors, the exit codes
// and Ctrl-C are those of the command.
import { envName, isTruthy } from './flags.js';
import { Session } from './session.js';

export interface PushArgs {
  server?: string;
  token?: string;
  message?: string;
}

/** Flags of the command this path leaves to oclif when their env twins are set. */
const OCLIF_ONLY = ['dry-run', 'concurrency', 'timeout', 'batch-bytes', 'batch-files'];

/** The flags of a plain `push --json` command line (after the word `push`), or undefined for oclif to parse. */
export function parsePushArgs(argv: readonly string[], env: Record<string, string | undefined>) {
  if (OCLIF_ONLY.some((name) => env[envName(name)] !== undefined)) return undefined;
  let json = isTruthy(env.REYNA_JSON);
  const args: PushArgs = { server: env.REYNA_SERVER, token: env.REYNA_TOKEN, message: env.REYNA_MESSAGE };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (eq === -1 && (arg === '--json' || arg === '--yes' || arg === '-y')) {
      if (arg === '--json') json = true;
    } else if (name === '--server' || name === '--token' || name === '--message' || name === '-m') {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || (eq === -1 && value.startsWith('-'))) return undefined;
      if (name === '--server') args.server = value;
      else if (name === '--token') args.token = value;
      else args.message = value;
    } else return undefined;
  }
  return json ? args : undefined;
}

/** Runs `push` and prints its JSON document as the command does; errors as the base command renders them. */
export async function runPush(args: PushArgs): Promise<void> {
  const session = new Session(() => true);
  try {
    const { push } = await import('./daemon/client.js');
    const result = await push({ ...session.context(), server: args.server, token: args.token, message: args.message });
    const { files: _files, ...plan } = result.plan;
    session.render({ ...result, plan }, () => {});
  } catch (error) {
    const { reportError } = await import('./errors.js');
    reportError(error, {
      json: true,
      rendered: session.hasRendered,
      command: 'push',
      bin: 'reyna',
      signal: session.interruptedBy,
    });
  } finally {
    session.end();
  }
}
