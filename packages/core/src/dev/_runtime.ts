import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from '../context.js';

/** workerd's own noise, which Miniflare's default output handler hides too. */
const INTERNAL = /stack:( (0|[a-f\d]{4,})){3,}|LLVM_SYMBOLIZER|took recursive isolate lock/;

/**
 * What workerd prints, read line by line: the Worker's console output goes to the logger (stderr, so that
 * `--json` keeps stdout for its one document). While a new Worker starts, its error output is held back: if the
 * start fails it is the reason (an exception at module top level), shown once as the error; if it succeeds it
 * is logged as usual.
 */
export function runtimeOutput(logger: Logger) {
  let held: string[] | undefined;
  let ended: Promise<unknown> = Promise.resolve();
  return {
    /** Called with the output streams of each workerd process dev starts. */
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      createInterface(stdout).on('line', (line) => logger.info(line));
      createInterface(stderr).on('line', (line) => {
        if (INTERNAL.test(line)) return;
        if (held) held.push(line);
        else logger.info(line);
      });
      ended = once(stderr, 'close');
    },
    /** A Worker is about to start: hold its error output. */
    starting() {
      held = [];
    },
    /** It started: what it said goes out as usual. */
    started() {
      const lines = held ?? [];
      held = undefined;
      for (const line of lines) logger.info(line);
    },
    /** It did not start: what workerd said about it, once its output has ended. */
    async failed(error: unknown): Promise<string> {
      await Promise.race([ended, new Promise((done) => setTimeout(done, 500))]);
      const lines = (held ?? []).map((line) => line.replace(/^service \S*?: /, ''));
      held = undefined;
      return lines.length > 0 ? lines.join('\n') : (error as Error).message;
    },
  };
}
