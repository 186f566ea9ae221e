import { inspect } from 'node:util';
import { ExitCode, isReynaError } from '@reyna/core/errors';
import { Errors } from './_oclif.js';
import { type Colors, createColors, shouldColor } from './colors.js';
import { EXIT_INTERRUPTED, EXIT_TERMINATED } from './exit-codes.js';

export const REPORT_URL = 'https://github.com/reyna-dev/reyna/issues';
export const BUG_HINT = `This is a bug in reyna; please report it at ${REPORT_URL}`;

export { EXIT_INTERRUPTED, EXIT_TERMINATED } from './exit-codes.js';

/** The wire shape of an error, the same the studio server answers with. */
export interface ErrorPayload {
  code: string;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
}

/** What the binary does about an error: its exit code, what to print, and whether it is a bug (print the stack). */
export interface DescribedError {
  exitCode: number;
  error: ErrorPayload;
  /** Set for bugs: the whole error, stack and causes, for the report. */
  stack?: string;
  /** Nothing to print: the process was asked to exit with this code. */
  quiet?: boolean;
}

export interface DescribeOptions {
  /** The command the error came from (`doctor`), for the usage hint. */
  command?: string;
  bin?: string;
  /** Set when a signal aborted the command: whatever it threw, it was interrupted. */
  signal?: NodeJS.Signals;
}

function isPromptCancel(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError');
}

/** Sorts anything thrown into a ReynaError (user), a usage error, an interruption or a bug. */
export function describeError(error: unknown, options: DescribeOptions = {}): DescribedError {
  const bin = options.bin ?? 'reyna';
  if (options.signal !== undefined || isPromptCancel(error)) {
    const exitCode = options.signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
    return { exitCode, error: { code: 'E_INTERRUPTED', message: 'Interrupted' } };
  }
  if (isReynaError(error)) return { exitCode: error.exitCode, error: error.toJSON().error };
  if (error instanceof Errors.ExitError) {
    return { exitCode: error.oclif.exit ?? ExitCode.ok, quiet: true, error: { code: 'E_EXIT', message: '' } };
  }
  if (error instanceof Errors.CLIError) {
    // oclif's own errors are about the command line: unknown flags, missing arguments, bad flag values.
    const message = error.message
      .replace(/\n*See more help with --help\s*$/, '')
      .replace(/^Error: /, '')
      .trim();
    const command = options.command ? `${bin} ${options.command.replaceAll(':', ' ')}` : bin;
    return {
      exitCode: ExitCode.usage,
      error: { code: 'E_USAGE', message, hint: `Run \`${command} --help\`.` },
    };
  }
  return describeBug(error);
}

/**
 * A bug: exit 70 with the whole error for the report. Also what a promise rejected with no handler is, whatever
 * it was rejected with: nothing in reyna was there to turn it into a message for the user.
 */
export function describeBug(error: unknown): DescribedError {
  const message = error instanceof Error ? error.message : String(error);
  return {
    exitCode: ExitCode.internal,
    error: { code: 'E_INTERNAL', message, hint: BUG_HINT },
    stack: error instanceof Error ? inspect(error, { colors: false, depth: 4 }) : inspect(error),
  };
}

/** The human form, for stderr: `Error: …` and `Hint: …`; a bug gets its stack and where to report it. */
export function formatError(described: DescribedError, colors: Colors): string {
  if (described.quiet) return '';
  const { error } = described;
  if (described.stack !== undefined) {
    return `${described.stack}\n\n${colors.red(colors.bold(BUG_HINT))}\n`;
  }
  if (error.code === 'E_INTERRUPTED') return `${colors.yellow('Interrupted')}\n`;
  const lines = [`${colors.red(colors.bold('Error:'))} ${error.message}`];
  if (error.hint) lines.push(`${colors.dim('Hint:')} ${error.hint}`);
  return `${lines.join('\n')}\n`;
}

/**
 * What a command does with an error it ends on: sets the exit code and prints it, as one JSON document on stdout
 * with `--json` (unless the result was printed already), else as Error/Hint lines on stderr, and a bug's stack
 * either way.
 */
export function reportError(
  error: unknown,
  run: { json: boolean; rendered: boolean; command?: string; bin?: string; signal?: NodeJS.Signals },
): void {
  const described = describeError(error, { command: run.command, bin: run.bin, signal: run.signal });
  process.exitCode = described.exitCode;
  if (described.quiet) return;
  const jsonOut = run.json && !run.rendered;
  if (jsonOut) process.stdout.write(`${JSON.stringify({ error: described.error })}\n`);
  if (!jsonOut || described.stack !== undefined) {
    process.stderr.write(formatError(described, createColors(shouldColor(process.stderr, process.env))));
  }
}
