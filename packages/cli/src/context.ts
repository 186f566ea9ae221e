// What a command hands core besides its flags: a logger on stderr, the CI test, and Ctrl-C turned into an abort.
// Kept free of oclif, so the binary's fast paths (fast-status.ts, fast-push.ts) share them with BaseCommand.
import type { Logger } from '@reyna/core';
import { ReynaError } from '@reyna/core/errors';
import type { Colors } from './colors.js';
import { isTruthy } from './flags.js';

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

/** CI=true (or any value but false/0) means nobody is there to answer a prompt. */
export function isCI(env: Env): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
}

/** Exit codes beyond core's: the shell's 128 + signal number. */
export const EXIT_INTERRUPTED = 130;
export const EXIT_TERMINATED = 143;

export interface Interruptible {
  signal: AbortSignal;
  interruptedBy(): NodeJS.Signals | undefined;
  dispose(): void;
}

/**
 * Aborts `signal` on the first SIGINT/SIGTERM so core can clean up; a second one exits at once. `interruptedBy`
 * says which came; `dispose` removes the handlers.
 */
export function interruptible(logger: Logger): Interruptible {
  const abort = new AbortController();
  let interruptedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED);
    interruptedBy = signal;
    logger.warn('Interrupted: cleaning up (press Ctrl-C again to quit at once)');
    abort.abort(new ReynaError('E_INTERRUPTED', 'Interrupted', { exitCode: EXIT_INTERRUPTED }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: abort.signal,
    interruptedBy: () => interruptedBy,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
