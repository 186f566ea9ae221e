import { format } from 'node:util';
import type { Context, Logger } from '@reyna/core';
// The errors module alone: the package root loads every feature, and each command needs only its own.
import { ExitCode, ReynaError } from '@reyna/core/errors';
import type { ListrTask } from 'listr2';
import { Command, Flags, type Interfaces } from './_oclif.js';
import { type Colors, createColors, shouldColor } from './colors.js';
import { describeError, EXIT_INTERRUPTED, EXIT_TERMINATED, formatError } from './errors.js';
import { flag, isTruthy, jsonRequested } from './flags.js';
import { runPlainTasks } from './progress.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>;
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

type Env = Record<string, string | undefined>;
type Validate = (value: string) => boolean | string | Promise<boolean | string>;
export type Choice<T extends string> = T | { value: T; name?: string; description?: string };

/** Plain lines on stderr, so that stdout carries only the result (and only JSON with `--json`). */
export function createLogger(stream: NodeJS.WritableStream, colors: Colors, env: Env): Logger {
  const debug = isTruthy(env.REYNA_DEBUG);
  return {
    info: (message) => void stream.write(`${message}\n`),
    warn: (message) => void stream.write(`${colors.yellow('Warning:')} ${message}\n`),
    debug: (message) => void (debug && stream.write(`${colors.dim(message)}\n`)),
  };
}

/** CI=true (or any value but false/0) means nobody is there to answer a prompt. */
export function isCI(env: Env): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
}

/**
 * What every reyna command shares: `--json` and `--yes`, prompts that turn into usage errors when nobody can
 * answer, progress lists, the core Context, and the one place where errors become exit codes.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    json: flag('json', Flags.boolean({ description: 'Print one JSON document on stdout.', helpGroup: 'GLOBAL' })),
    yes: flag(
      'yes',
      Flags.boolean({
        char: 'y',
        description: 'Do not ask: accept defaults (also when not on a terminal or CI=true).',
        helpGroup: 'GLOBAL',
      }),
    ),
  };

  protected flags!: BaseFlags<T>;
  protected args!: BaseArgs<T>;
  private rendered = false;
  private abort?: AbortController;
  private interruptedBy?: NodeJS.Signals;
  private removeSignalHandlers?: () => void;
  private _logger?: Logger;

  override async init(): Promise<void> {
    await super.init();
    const { args, flags } = await this.parse(this.ctor);
    this.flags = flags as BaseFlags<T>;
    this.args = args as BaseArgs<T>;
  }

  /** `--json` (or REYNA_JSON), known even when parsing the command line failed. */
  protected get json(): boolean {
    return (this.flags as { json?: boolean } | undefined)?.json ?? jsonRequested(this.argv, process.env);
  }

  /** Prompts only when a person can answer: a terminal on stdin and stderr, no `--yes`, not CI. */
  protected get interactive(): boolean {
    const yes = (this.flags as { yes?: boolean } | undefined)?.yes ?? false;
    return !yes && process.stdin.isTTY === true && process.stderr.isTTY === true && !isCI(process.env);
  }

  /** Colours for stdout: none with `--json`, NO_COLOR, or when stdout is not a terminal. */
  protected get colors(): Colors {
    return createColors(!this.json && shouldColor(process.stdout, process.env));
  }

  protected get logger(): Logger {
    this._logger ??= createLogger(process.stderr, createColors(shouldColor(process.stderr, process.env)), process.env);
    return this._logger;
  }

  /** Aborts on the first SIGINT/SIGTERM so core can clean up; a second one exits at once. */
  protected get signal(): AbortSignal {
    if (!this.abort) {
      const abort = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        if (abort.signal.aborted) process.exit(signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED);
        this.interruptedBy = signal;
        this.logger.warn('Interrupted: cleaning up (press Ctrl-C again to quit at once)');
        abort.abort(new ReynaError('E_INTERRUPTED', 'Interrupted', { exitCode: EXIT_INTERRUPTED }));
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      this.removeSignalHandlers = () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      };
      this.abort = abort;
    }
    return this.abort.signal;
  }

  /** The IO core functions run against. */
  protected context(): Context {
    return { cwd: process.cwd(), env: process.env, logger: this.logger, signal: this.signal };
  }

  /** Asks for a value a flag did not give; without a person to ask, the default or a usage error naming the flag. */
  protected async ask(question: {
    flag: string;
    /** How to pass the value, for the hint when nobody can answer (default: `<flag> <value>`). */
    usage?: string;
    message: string;
    default?: string;
    validate?: Validate;
  }): Promise<string> {
    if (this.interactive) {
      const { input } = await import('@inquirer/prompts');
      const { flag: _flag, usage: _usage, ...config } = question;
      return input(config, this.promptContext());
    }
    const value = this.nonInteractive(question.flag, question.default, '', question.usage);
    const verdict = question.validate ? await question.validate(value) : true;
    if (verdict !== true) {
      const why = typeof verdict === 'string' ? verdict : 'is not valid';
      throw new ReynaError('E_INVALID_INPUT', `${question.flag} "${value}": ${why}`, {
        hint: `Pass ${question.flag} <value>`,
        exitCode: ExitCode.usage,
        details: { flag: question.flag },
      });
    }
    return value;
  }

  /** Picks one of `choices`, the same way as `ask`. */
  protected async choose<V extends string>(question: {
    flag: string;
    message: string;
    choices: readonly Choice<V>[];
    default?: V;
  }): Promise<V> {
    const choices = question.choices.map((c) => (typeof c === 'string' ? { value: c } : c));
    if (this.interactive) {
      const { select } = await import('@inquirer/prompts');
      return select<V>({ message: question.message, choices, default: question.default }, this.promptContext());
    }
    const values = choices.map((c) => c.value).join(', ');
    return this.nonInteractive(question.flag, question.default, ` (one of: ${values})`);
  }

  private nonInteractive<V extends string>(
    flagName: string,
    fallback: V | undefined,
    more = '',
    usage = `${flagName} <value>`,
  ): V {
    if (fallback !== undefined) return fallback;
    const yes = (this.flags as { yes?: boolean } | undefined)?.yes;
    const why = yes ? 'with --yes' : isCI(process.env) ? 'on CI' : 'when not run from a terminal';
    throw new ReynaError('E_MISSING_INPUT', `${flagName} is required ${why}`, {
      hint: `Pass ${usage}${more}`,
      exitCode: ExitCode.usage,
      details: { flag: flagName },
    });
  }

  private promptContext() {
    return { output: process.stderr, signal: this.signal, clearPromptOnDone: false };
  }

  /** Prints the result: one JSON document with `--json`, else whatever `human` prints. */
  protected render<R>(result: R, human: () => void): R {
    if (this.rendered) throw new Error('render() was called twice in one command');
    this.rendered = true;
    if (this.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else human();
    return result;
  }

  /** A line on stdout (straight to the stream: oclif's goes through console.log, which test runners capture). */
  override log(message = '', ...args: unknown[]): void {
    process.stdout.write(`${format(message, ...args)}\n`);
  }

  override logToStderr(message = '', ...args: unknown[]): void {
    process.stderr.write(`${format(message, ...args)}\n`);
  }

  /** Ends with this exit code once the command returns (a failed check is not an exception). */
  protected setExitCode(code: number): void {
    process.exitCode = code;
  }

  /**
   * Runs listr2 tasks: live on a terminal (listr2), plain lines otherwise (none with `liveOnly`, for commands whose
   * stdout is their result), nothing with `--json`. Only the live display loads listr2.
   */
  protected async tasks<Ctx extends object>(
    list: ListrTask<Ctx>[],
    ctx: Ctx = {} as Ctx,
    options: { concurrent?: boolean; exitOnError?: boolean; liveOnly?: boolean } = {},
  ): Promise<Ctx> {
    const live = process.stdout.isTTY === true && !isCI(process.env) && !this.json;
    if (!live) {
      const quiet = this.json || options.liveOnly === true;
      const write = quiet ? undefined : (line: string) => this.log(line);
      return runPlainTasks(list, ctx, { ...options, write, colors: this.colors });
    }
    const { Listr } = await import('listr2');
    const listr = new Listr<Ctx, 'default' | 'simple', 'simple'>(list, {
      ctx,
      renderer: 'default',
      fallbackRenderer: 'simple',
      concurrent: options.concurrent ?? false,
      exitOnError: options.exitOnError ?? true,
      registerSignalListeners: false,
    });
    return listr.run();
  }

  protected override async catch(error: Error & { exitCode?: number }): Promise<void> {
    const described = describeError(error, {
      command: this.id,
      bin: this.config?.bin,
      signal: this.interruptedBy,
    });
    process.exitCode = described.exitCode;
    if (described.quiet) return;
    const jsonOut = this.json && !this.rendered;
    if (jsonOut) process.stdout.write(`${JSON.stringify({ error: described.error })}\n`);
    if (!jsonOut || described.stack !== undefined) {
      process.stderr.write(formatError(described, createColors(shouldColor(process.stderr, process.env))));
    }
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    this.removeSignalHandlers?.();
    await super.finally(error);
  }
}
