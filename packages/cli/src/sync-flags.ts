import type { SyncOptions, SyncStep, TransferProgress, TransferSummary } from '@reyna/core/sync';
import type { ListrTask } from 'listr2';
import { Flags } from './_oclif.js';
import { flag } from './flags.js';

/** Flags of every command that talks to the studio server. */
export const studioFlags = {
  server: flag('server', Flags.string({ description: 'Studio server URL.', helpValue: '<url>' })),
  token: flag('token', Flags.string({ description: 'API token.', helpValue: '<token>' })),
};

/** Flags of commands that move files: patience and parallelism. */
export const transferFlags = {
  ...studioFlags,
  concurrency: flag(
    'concurrency',
    Flags.integer({ description: 'Requests in flight at once (default 4 up, 8 down).', min: 1, max: 64 }),
  ),
  timeout: flag('timeout', Flags.integer({ description: 'Seconds per request before it is retried.', min: 1 })),
  'batch-bytes': flag(
    'batch-bytes',
    Flags.integer({ description: 'Bytes per upload batch (default 8 MiB).', min: 1, hidden: true }),
  ),
  'batch-files': flag(
    'batch-files',
    Flags.integer({ description: 'Blobs per upload batch (default 1000).', min: 1, hidden: true }),
  ),
};

type Ctx = { cwd: string; env: Record<string, string | undefined>; signal?: AbortSignal };

/** What a core studio function needs to find the server and token: the environment, --server and --token. */
export function studioOptions(ctx: Ctx, flags: { server?: string; token?: string }) {
  return { env: ctx.env, signal: ctx.signal, server: flags.server, token: flags.token };
}

/** SyncOptions from the parsed flags and the command's context. */
export function syncOptions(
  ctx: Ctx & { logger?: SyncOptions['logger'] },
  flags: {
    server?: string;
    token?: string;
    concurrency?: number;
    timeout?: number;
    'batch-bytes'?: number;
    'batch-files'?: number;
  },
): SyncOptions {
  return {
    cwd: ctx.cwd,
    env: ctx.env,
    signal: ctx.signal,
    logger: ctx.logger,
    server: flags.server,
    token: flags.token,
    concurrency: flags.concurrency,
    timeoutMs: flags.timeout === undefined ? undefined : flags.timeout * 1000,
    batchBytes: flags['batch-bytes'],
    batchFiles: flags['batch-files'],
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "12 files · 1 sent (3.0 KiB) · 4.1 MiB skipped · 85 ms" */
export function summaryLine(s: TransferSummary): string {
  const moved =
    s.bytesReceived > 0 || (s.bytesSent === 0 && s.transferred > 0)
      ? `${s.transferred} received (${formatBytes(s.bytesReceived)})`
      : `${s.transferred} sent (${formatBytes(s.bytesSent)})`;
  return `${s.files} files · ${moved} · ${formatBytes(s.bytesSkipped)} skipped · ${s.durationMs} ms`;
}

/**
 * Runs a sync function with its steps shown as listr2 tasks (by `show`, the command's `tasks`), and answers its
 * result: the function reports through `onStep`/`onProgress`, the tasks follow.
 */
export async function withSteps<R>(
  show: (tasks: ListrTask[]) => Promise<unknown>,
  steps: { id: SyncStep; title: string }[],
  run: (hooks: Pick<SyncOptions, 'onStep' | 'onProgress'>) => Promise<R>,
): Promise<R> {
  const tasks = syncTasks(steps);
  const running = run({ onStep: tasks.onStep, onProgress: tasks.onProgress });
  running.then(tasks.finish, tasks.fail);
  await Promise.allSettled([show(tasks.tasks)]);
  return running;
}

interface Waiting {
  promise: Promise<string | undefined>;
  resolve: (detail: string | undefined) => void;
  reject: (error: unknown) => void;
  skipped: boolean;
  done: boolean;
  task?: { title: string };
}

/**
 * listr2 tasks that follow a sync function's `onStep` reports, with the transfer step's title counting files
 * and bytes as `onProgress` reports them.
 */
export function syncTasks(steps: { id: SyncStep; title: string }[]) {
  const waiting = new Map<SyncStep, Waiting>();
  for (const { id } of steps) {
    let resolve!: Waiting['resolve'];
    let reject!: Waiting['reject'];
    const promise = new Promise<string | undefined>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {});
    waiting.set(id, { promise, resolve, reject, skipped: false, done: false });
  }
  const titles = new Map(steps.map((s) => [s.id, s.title]));
  const tasks: ListrTask[] = steps.map(({ id, title }) => ({
    title,
    task: async (_ctx, task) => {
      const w = waiting.get(id) as Waiting;
      w.task = task;
      const detail = await w.promise;
      if (w.skipped) task.skip();
      else task.title = detail ? `${title}: ${detail}` : title;
    },
  }));
  return {
    tasks,
    onStep(step: SyncStep, state: 'start' | 'done' | 'skip', detail?: string) {
      const w = waiting.get(step);
      if (!w) return;
      if (state === 'skip') w.skipped = true;
      if (state !== 'start') {
        w.done = true;
        w.resolve(detail);
      }
    },
    onProgress(p: TransferProgress) {
      const w = waiting.get(p.direction === 'up' ? 'upload' : 'download');
      if (w?.task)
        w.task.title = `${titles.get(p.direction === 'up' ? 'upload' : 'download')}: ${p.files}/${p.totalFiles} files, ${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)}`;
    },
    fail(error: unknown) {
      for (const w of waiting.values()) w.reject(error);
    },
    /** Resolves every step not yet reported (a dry run, or a step the function had no need of). */
    finish() {
      for (const w of waiting.values()) {
        if (w.done) continue;
        w.skipped = true;
        w.resolve(undefined);
      }
    },
  };
}
