// `reyna status` without oclif. It is the command run most often, on every tree, and loading oclif takes a good
// part of what the whole answer may: bin/run.js hands the plain forms here (the command's own flags and the
// global --json/--yes, nothing else) and everything else, `--help` included, to oclif. The output, the JSON and
// the errors are those of commands/status.ts.
import type { StatusResult } from '@reyna/core/sync';
import { isTruthy } from './flags.js';

export interface StatusArgs {
  json: boolean;
  server?: string;
  token?: string;
}

/** The flags of a plain `status` command line (after the word `status`), or undefined for oclif to parse. */
export function parseStatusArgs(argv: readonly string[], env: Record<string, string | undefined>) {
  const args: StatusArgs = { json: isTruthy(env.REYNA_JSON), server: env.REYNA_SERVER, token: env.REYNA_TOKEN };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (eq === -1 && (arg === '--json' || arg === '--yes' || arg === '-y')) {
      if (arg === '--json') args.json = true;
    } else if (name === '--server' || name === '--token') {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || (eq === -1 && value.startsWith('-'))) return undefined;
      args[name === '--server' ? 'server' : 'token'] = value;
    } else return undefined;
  }
  return args;
}

/**
 * Prints a status as the command does: one JSON document, or the lines of status-view and, after a slow one no
 * daemon answered (`aloneMs`), its tip on stderr.
 */
export async function writeStatus(result: StatusResult, json: boolean, aloneMs?: number): Promise<void> {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  // Loaded for the human form only: a script's `--json` needs neither.
  const [{ createColors, shouldColor }, { daemonTip, printStatus }] = await Promise.all([
    import('./colors.js'),
    import('./status-view.js'),
  ]);
  printStatus(result, createColors(shouldColor(process.stdout, process.env)), (line) =>
    process.stdout.write(`${line}\n`),
  );
  const tip = daemonTip(result.files, aloneMs, process.env, process.stderr.isTTY === true);
  if (tip) process.stderr.write(`${tip}\n`);
}

/** Runs `status` and prints it as the command does; errors as the base command renders them. */
export async function runStatus(args: StatusArgs): Promise<void> {
  try {
    const { status } = await import('./daemon/client.js');
    const { result, aloneMs } = await status({
      cwd: process.cwd(),
      env: process.env,
      server: args.server,
      token: args.token,
    });
    await writeStatus(result, args.json, aloneMs);
  } catch (error) {
    // Only a failing status pays for the error module (it knows oclif's errors too).
    const { reportError } = await import('./errors.js');
    reportError(error, { json: args.json, rendered: false, command: 'status', bin: 'reyna' });
  }
}
