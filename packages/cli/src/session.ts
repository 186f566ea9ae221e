// What a command run needs that is not oclif's: the logger, the Ctrl-C handling, progress, the result's output.
// The oclif base command (base-command.ts) runs on it, and so do bin/run.js's paths that answer without oclif
// (fast-build.ts), so that both behave alike. Node built-ins and Reyna's own modules only: loading oclif here
// would undo those paths.
import { format } from 'node:util';
import type { Context, Logger } from '@reyna/core';
import { ReynaError } from '@reyna/core/errors';
import type { ListrTask } from 'listr2';
import { type Colors, createColors, shouldColor } from './colors.js';
import { EXIT_INTERRUPTED, EXIT_TERMINATED } from './exit-codes.js';
import { isCI, isTruthy } from './flags.js';
import { runPlainTasks } from './progress.js';

type Env = Record<string, string | undefined>;

/** Plain lines on stderr, so that stdout carries only the result (and only JSON with `--json`). */
export function createLogger(stream: NodeJS.WritableStream, colors: Colors, env: Env): Logger {
  const debug = isTruthy(env.REYNA_DEBUG);
  return {
    info: (message) => void stream.write(`${message}\n`),
    warn: (message) => void stream.write(`${colors.yellow('Warning:')} ${message}\n`),
    debug: (message) => void (debug && stream.write(`${colors.dim(message)}\n`)),
  };
}

/** The run of one command: its output mode, its logger, its abort signal, and whether it printed its result. */
export class Session {
  private rendered = false;
  private abort?: AbortController;
  private removeSignalHandlers?: () => void;
  private _logger?: Logger;
  /** The signal that interrupted the run, if one did. */
  interruptedBy?: NodeJS.Signals;

  constructor(readonly json: () => boolean) {}

  /** Whether the result was printed: after that, an error is not printed as a JSON document. */
  get hasRendered(): boolean {
    return this.rendered;
  }

  /** Colours for stdout: none with `--json`, NO_COLOR, or when stdout is not a terminal. */
  get colors(): Colors {
    return createColors(!this.json() && shouldColor(process.stdout, process.env));
  }

  get logger(): Logger {
    this._logger ??= createLogger(process.stderr, createColors(shouldColor(process.stderr, process.env)), process.env);
    return this._logger;
  }

  /** Aborts on the first SIGINT/SIGTERM so core can clean up; a second one exits at once. */
  get signal(): AbortSignal {
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
  context(): Context {
    return { cwd: process.cwd(), env: process.env, logger: this.logger, signal: this.signal };
  }

  /** Prints the result: one JSON document with `--json`, else whatever `human` prints. */
  render<R>(result: R, human: () => void): R {
    if (this.rendered) throw new Error('render() was called twice in one command');
    this.rendered = true;
    if (this.json()) process.stdout.write(`${JSON.stringify(result)}\n`);
    else human();
    return result;
  }

  /** A line on stdout (straight to the stream: oclif's goes through console.log, which test runners capture). */
  log(message = '', ...args: unknown[]): void {
    process.stdout.write(`${format(message, ...args)}\n`);
  }

  /**
   * Runs listr2 tasks: live on a terminal (listr2), plain lines otherwise (none with `liveOnly`, for commands whose
   * stdout is their result), nothing with `--json`. Only the live display loads listr2.
   */
  async tasks<Ctx extends object>(
    list: ListrTask<Ctx>[],
    ctx: Ctx = {} as Ctx,
    options: { concurrent?: boolean; exitOnError?: boolean; liveOnly?: boolean } = {},
  ): Promise<Ctx> {
    const json = this.json();
    const live = process.stdout.isTTY === true && !isCI(process.env) && !json;
    if (!live) {
      const quiet = json || options.liveOnly === true;
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

  /** The run is over: Ctrl-C is the shell's again. */
  end(): void {
    this.removeSignalHandlers?.();
  }
}
