import { join, relative } from 'node:path';
import { ReynaError } from '../errors.js';
import { viteError } from './_compile-error.js';
import type { BuildLog } from './_log.js';
import { loadVite } from './_tools.js';
import { takeClientThread } from './prepare.js';

type Vite = typeof import('vite');

/** Vite's production build of the app in `dir` into `outDir`; every line Vite logs goes to `write`. */
export async function viteBuild(vite: Vite, dir: string, outDir: string, write: (msg: string) => void): Promise<void> {
  const logger = {
    hasWarned: false,
    info: write,
    warn: (msg: string) => {
      logger.hasWarned = true;
      write(msg);
    },
    warnOnce: write,
    error: write,
    clearScreen: () => {},
    hasErrorLogged: () => false,
  };
  try {
    await vite.build({
      root: dir,
      mode: 'production',
      // At 'info' Rolldown's reporter writes progress straight to stdout, which `--json` must keep clean;
      // the files written go to the log from the build report instead.
      logLevel: 'warn',
      clearScreen: false,
      customLogger: logger,
      build: { outDir, emptyOutDir: true, reportCompressedSize: false },
    });
  } catch (error) {
    throw viteError(error, dir);
  }
}

/** An error as it crosses from the build thread: a ReynaError stays one, anything else keeps its stack. */
export type ThreadError =
  | { reyna: true; code: string; message: string; hint?: string; details?: Record<string, unknown> }
  | { reyna: false; name: string; message: string; stack?: string };

export function toThreadError(error: unknown): ThreadError {
  if (error instanceof ReynaError) {
    return { reyna: true, code: error.code, message: error.message, hint: error.hint, details: error.details };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { reyna: false, name: e.name, message: e.message, stack: e.stack };
}

function fromThreadError(error: ThreadError): Error {
  if (error.reyna) return new ReynaError(error.code, error.message, { hint: error.hint, details: error.details });
  const revived = new Error(error.message);
  revived.name = error.name;
  if (error.stack) revived.stack = error.stack;
  return revived;
}

export type FromThread =
  | { type: 'log'; text: string }
  | { type: 'done'; version: string }
  | { type: 'failed'; error: ThreadError };

/**
 * Builds the client of the app in `dir` into `outDir` with the Vite the app resolves: on a thread of its own
 * (started by prepareClientBuild, or now), where loading Vite and its JavaScript work run beside the Worker's
 * bundling and the type check; or, with `thread: false`, on this one.
 */
export async function buildClient(
  dir: string,
  outDir: string,
  finalOutDir: string,
  log: BuildLog,
  options: { thread?: boolean } = {},
): Promise<string> {
  // Vite names the files it writes; name them where they will be, not in the staging dir.
  const staged = relative(dir, outDir);
  const final = relative(dir, join(finalOutDir, 'client'));
  const write = (msg: string) => log.write(msg.split(staged).join(final));
  if (options.thread === false) {
    const vite = await loadVite(dir);
    await viteBuild(vite, dir, outDir, write);
    return vite.version;
  }
  const worker = takeClientThread(dir);
  worker.ref();
  try {
    return await new Promise<string>((resolve, reject) => {
      worker.on('message', (message: FromThread) => {
        if (message.type === 'log') write(message.text);
        else if (message.type === 'done') resolve(message.version);
        else reject(fromThreadError(message.error));
      });
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`Vite's build thread ended (exit code ${code}) before the build did`)),
      );
      worker.postMessage({ outDir });
    });
  } finally {
    worker.unref();
    void worker.terminate();
  }
}
