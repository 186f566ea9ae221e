import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import type { execa as Execa } from 'execa';
import { ReynaError } from './errors.js';

export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Milliseconds before the process is killed. */
  timeout?: number;
  /** Where the child's output streams live; captured when absent. */
  output?: Writable;
  /** Each line of the child's output (stdout and stderr, each whole), as it comes; the output is captured too. */
  onLine?: (line: string) => void;
  input?: Buffer | string;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

let loaded: Promise<typeof Execa> | undefined;
/** execa loads on first use: most commands never start a process, and `reyna dev` should not wait for it. */
const load = () => {
  loaded ??= import('execa').then((m) => m.execa);
  return loaded;
};

/** Ends a child's whole process group: npm's scripts outlive npm otherwise and hold its pipes open. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  setTimeout(() => kill('SIGKILL'), 2000).unref();
}

/** Runs a process to completion and never throws for a non-zero exit: callers decide what a failure means. */
export async function run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  if (options.signal?.aborted) return { exitCode: -1, stdout: '', stderr: '', timedOut: false, aborted: true };
  const execa = await load();
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: options.env === undefined,
    // Its own process group, so that a cancel or a timeout can end every process it started.
    detached: true,
    reject: false,
    stripFinalNewline: false,
    input: options.input,
    stdout: options.output ? 'pipe' : undefined,
    stderr: options.output ? 'pipe' : undefined,
  });
  let aborted = false;
  let timedOut = false;
  const onAbort = () => {
    aborted = true;
    killGroup(child.pid);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    options.timeout === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          killGroup(child.pid);
        }, options.timeout);
  if (options.output) {
    child.stdout?.pipe(options.output, { end: false });
    child.stderr?.pipe(options.output, { end: false });
  }
  const reading: Promise<void>[] = [];
  if (options.onLine) {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', options.onLine);
      // A stream closes after its end, where readline gives the last line; a destroyed one closes too.
      reading.push(new Promise((done) => stream.once('close', done)));
    }
  }
  try {
    const result = await child;
    await Promise.all(reading);
    if (result.failed && result.exitCode === undefined && !aborted && !timedOut) {
      const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT') {
        throw new ReynaError('E_COMMAND_NOT_FOUND', `\`${file}\` is not installed or not on PATH`, {
          hint: `Install ${file} and run again (\`reyna doctor\` checks what is missing).`,
          details: { command: file },
        });
      }
    }
    return {
      exitCode: result.exitCode ?? -1,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      timedOut,
      aborted,
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Runs a process and returns its stdout as bytes (for git blobs). */
export async function runBuffer(file: string, args: readonly string[], options: RunOptions): Promise<Buffer> {
  const execa = await load();
  const result = await execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: options.env === undefined,
    cancelSignal: options.signal,
    encoding: 'buffer',
    reject: false,
    input: options.input,
    stripFinalNewline: false,
  });
  if (result.exitCode !== 0) {
    throw new Error(`${file} ${args.join(' ')} failed (${result.exitCode}): ${Buffer.from(result.stderr).toString()}`);
  }
  return Buffer.from(result.stdout);
}
