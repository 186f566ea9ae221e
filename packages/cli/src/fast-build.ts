// `reyna build` of the app in this directory without oclif. bin/run.js hands the plain forms here (the flags of a
// local build of one app, and the global --json/--yes) and everything else — --docker, --all, --help, anything
// this parser does not know, a value it would have to refuse — to oclif, which then also says what is wrong.
// The build, its output, its JSON and its errors are those of commands/build.ts (build-local.ts, session.ts).
//
// Why: without oclif (~0.1 s to load and set up) Vite can load and build on this thread, which on two cores is
// faster than the thread of its own the oclif path starts for it before oclif loads (a thread's start and the
// two competing for the cores cost more than they overlap).
import { readFileSync } from 'node:fs';
import type { Plan } from '@reyna/core/build';
import { isTruthy } from './flags.js';
import { Session } from './session.js';

export interface BuildArgs {
  json: boolean;
  typecheck: boolean;
  install: boolean;
  plan?: Plan;
}

const PLANS: readonly string[] = ['free', 'paid'];
/** The flags handled here, by their env twins; any other flag of the command set in the environment goes to oclif. */
const HANDLED = new Set(['REYNA_JSON', 'REYNA_YES', 'REYNA_TYPECHECK', 'REYNA_INSTALL', 'REYNA_PLAN']);

/** The env twins of every flag `reyna build` has, from the manifest oclif reads too. */
function envTwins(): string[] {
  const manifest = JSON.parse(readFileSync(new URL('../oclif.manifest.json', import.meta.url), 'utf8')) as {
    commands: Record<string, { flags: Record<string, { env?: string }> }>;
  };
  const flags = manifest.commands.build?.flags ?? {};
  return Object.values(flags).flatMap((f) => (f.env ? [f.env] : []));
}

/** The flags of a plain `build` command line (after the word `build`), or undefined for oclif to parse. */
export function parseBuildArgs(argv: readonly string[], env: Record<string, string | undefined>) {
  // oclif reads a boolean's env twin when it is set and not empty, as true only for 1/true/y/yes.
  const set = (name: string) => env[name] !== undefined && env[name] !== '';
  if (envTwins().some((name) => !HANDLED.has(name) && set(name))) return undefined;
  if (set('DEBUG')) return undefined; // oclif's own debug output
  const fromEnv = (name: string, fallback: boolean) => (set(name) ? isTruthy(env[name]) : fallback);
  const args: BuildArgs = {
    json: fromEnv('REYNA_JSON', false),
    typecheck: fromEnv('REYNA_TYPECHECK', true),
    install: fromEnv('REYNA_INSTALL', true),
  };
  if (set('REYNA_PLAN')) {
    if (!PLANS.includes(env.REYNA_PLAN as string)) return undefined;
    args.plan = env.REYNA_PLAN as Plan;
  }
  const seen = new Set<string>();
  const once = (name: string) => !seen.has(name) && seen.add(name);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json' && once('json')) args.json = true;
    else if ((arg === '--yes' || arg === '-y') && once('yes')) continue;
    else if ((arg === '--typecheck' || arg === '--no-typecheck') && once('typecheck'))
      args.typecheck = arg === '--typecheck';
    else if ((arg === '--install' || arg === '--no-install') && once('install')) args.install = arg === '--install';
    else if ((arg === '--plan' || arg.startsWith('--plan=')) && once('plan')) {
      const value = arg === '--plan' ? argv[++i] : arg.slice('--plan='.length);
      if (value === undefined || !PLANS.includes(value)) return undefined;
      args.plan = value as Plan;
    } else return undefined;
  }
  return args;
}

/** Builds as `reyna build` does, Vite on this thread; errors as the base command renders them. */
export async function runBuild(args: BuildArgs): Promise<void> {
  const session = new Session(() => args.json);
  try {
    const { buildLocally } = await import('./build-local.js');
    await buildLocally(session, args, { thread: false });
  } catch (error) {
    // Only a failing build pays for the error module (it knows oclif's errors too).
    const { reportError } = await import('./errors.js');
    reportError(error, {
      json: args.json,
      rendered: session.hasRendered,
      command: 'build',
      bin: 'reyna',
      signal: session.interruptedBy,
    });
  } finally {
    session.end();
  }
}
