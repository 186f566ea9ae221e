import { Worker } from 'node:worker_threads';

// Node built-ins only: the binary loads this before anything else (see bin/run.js).

const THREAD = new URL('./_client-thread.js', import.meta.url);
const started = new Map<string, Worker>();

function startThread(dir: string): Worker {
  const worker = new Worker(THREAD, { workerData: { dir } });
  // One nobody asks to build (the command failed before it got there) must not keep the process alive.
  worker.unref();
  return worker;
}

/**
 * Starts loading Vite for a build of the app in `dir` on a thread of its own, so that the ~0.25 s it takes
 * overlaps what comes before the build: `reyna build` calls this before it loads oclif. buildApp builds the
 * client on that thread.
 */
export function prepareClientBuild(dir: string): void {
  if (!started.has(dir)) started.set(dir, startThread(dir));
}

/** The thread prepared for `dir`, or a new one: each is used for one build. */
export function takeClientThread(dir: string): Worker {
  const worker = started.get(dir) ?? startThread(dir);
  started.delete(dir);
  return worker;
}
