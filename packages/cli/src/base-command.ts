import { format } from 'node:util';
import type { Context, Logger } from '@reyna/core';
// The errors module alone: the package root loads every feature, and each command needs only its own.
import { ExitCode, ReynaError } from '@reyna/core/errors';
import type { ListrTask } from 'listr2';
import { Command, Flags, type Interfaces } from './_oclif.js';
import type { Colors } from './colors.js';
import { reportError } from './errors.js';
import { flag, isCI, jsonRequested } from './flags.js';
import { Session } from './session.js';

export { isCI } from './flags.js';
export { createLogger } from './session.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>;
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

type Validate = (value: string) => boolean | string | Promise<boolean | string>;
export type Choice<T extends string> = T | { value: T; name?: string; description?: string };

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
  /** Output, logger, signal and progress: the part of a command that runs without oclif too (session.ts). */
  protected readonly session = new Session(() => this.json);

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
    return this.session.colors;
  }

  protected get logger(): Logger {
    return this.session.logger;
  }

  /** Aborts on the first SIGINT/SIGTERM so core can clean up; a second one exits at once. */
  protected get signal(): AbortSignal {
    return this.session.signal;
  }

  /** The IO core functions run against. */
  protected context(): Context {
    return this.session.context();
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
    return this.session.render(result, human);
  }

  /** A line on stdout (straight to the stream: oclif's goes through console.log, which test runners capture). */
  override log(message = '', ...args: unknown[]): void {
    this.session.log(message, ...args);
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
  protected tasks<Ctx extends object>(
    list: ListrTask<Ctx>[],
    ctx: Ctx = {} as Ctx,
    options: { concurrent?: boolean; exitOnError?: boolean; liveOnly?: boolean } = {},
  ): Promise<Ctx> {
    return this.session.tasks(list, ctx, options);
  }

  protected override async catch(error: Error & { exitCode?: number }): Promise<void> {
    reportError(error, {
      json: this.json,
      rendered: this.session.hasRendered,
      command: this.id,
      bin: this.config?.bin,
      signal: this.session.interruptedBy,
    });
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    this.session.end();
    await super.finally(error);
  }
}
