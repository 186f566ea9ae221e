import type { ListrTask } from 'listr2';
import type { Colors } from './colors.js';

type State = 'start' | 'done' | 'skip' | 'failed';

interface Deferred {
  promise: Promise<string | undefined>;
  resolve: (detail: string | undefined) => void;
  reject: (error: unknown) => void;
  skipped: boolean;
  settled: boolean;
}

/**
 * Turns a core function's `onStep(step, state, detail)` reports into listr2 tasks that finish as the steps do,
 * so core stays free of any terminal library and the command still shows live progress. Each step's outcome is
 * held from the start, so a report that comes before listr2 runs the task (a step that fails at once) is kept,
 * not lost: a task waiting on a promise nobody settles would leave Node to exit 13 with nothing printed.
 */
export function stepTasks<S extends string>(
  steps: { id: S; title: string }[],
): {
  onStep: (step: S, state: State, detail?: string) => void;
  /** The work ended: a step it never reported (it did not apply) shows as skipped instead of waiting forever. */
  finish: () => void;
  fail: (error: unknown) => void;
  tasks: ListrTask[];
} {
  const deferred = new Map<S, Deferred>();
  for (const { id } of steps) {
    let resolve!: Deferred['resolve'];
    let reject!: Deferred['reject'];
    const promise = new Promise<string | undefined>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A step that never runs because an earlier one failed must not count as an unhandled rejection.
    promise.catch(() => {});
    deferred.set(id, { promise, resolve, reject, skipped: false, settled: false });
  }
  return {
    onStep(step, state, detail) {
      const d = deferred.get(step);
      if (!d || state === 'start') return;
      d.settled = true;
      if (state === 'skip') d.skipped = true;
      if (state === 'failed') d.reject(new Error(detail ?? 'failed'));
      else d.resolve(detail);
    },
    finish() {
      for (const d of deferred.values()) {
        if (d.settled) continue;
        d.skipped = true;
        d.resolve(undefined);
      }
    },
    fail(error) {
      for (const d of deferred.values()) d.reject(error);
    },
    tasks: steps.map(({ id, title }) => ({
      title,
      task: async (_ctx, task) => {
        const d = deferred.get(id) as Deferred;
        const detail = await d.promise;
        if (d.skipped) task.skip();
        else if (detail) task.title = `${title}: ${detail}`;
      },
    })),
  };
}

/**
 * Runs listr2-shaped tasks where nobody watches them live (not a terminal, CI, `--json`): one line as each task
 * ends, or none with `write` absent. listr2's own plain renderer costs ~50 ms to load on every `reyna build`.
 * Like listr2: in order unless `concurrent`; with `exitOnError` (the default) the first failure stops the rest
 * and is thrown, otherwise every task runs and the failures are thrown together at the end.
 */
export async function runPlainTasks<Ctx extends object>(
  list: ListrTask<Ctx>[],
  ctx: Ctx,
  options: { concurrent?: boolean; exitOnError?: boolean; write?: (line: string) => void; colors: Colors },
): Promise<Ctx> {
  const c = options.colors;
  const exitOnError = options.exitOnError ?? true;
  const failures: unknown[] = [];
  const runOne = async (item: ListrTask<Ctx>) => {
    let title = typeof item.title === 'string' ? item.title : '';
    let skipped: string | boolean = false;
    const wrapper = {
      get title() {
        return title;
      },
      set title(value: string) {
        title = value;
      },
      skip(message?: string) {
        skipped = message ?? true;
      },
      // Progress text: the end line says how it ended.
      output: '',
    };
    try {
      await item.task(ctx, wrapper as never);
    } catch (error) {
      options.write?.(`${c.red('✖')} ${title}`);
      if (exitOnError) throw error;
      failures.push(error);
      return;
    }
    if (skipped)
      options.write?.(
        `${c.yellow('↓')} ${title} ${c.dim(typeof skipped === 'string' ? `[skipped: ${skipped}]` : '[skipped]')}`,
      );
    else options.write?.(`${c.green('✔')} ${title}`);
  };
  if (options.concurrent) {
    const results = await Promise.allSettled(list.map(runOne));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
  } else {
    for (const item of list) await runOne(item);
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} tasks failed`);
  return ctx;
}
