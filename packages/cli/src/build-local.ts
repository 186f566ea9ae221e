// `reyna build` of the app in this directory, on the machine: what commands/build.ts runs, and what bin/run.js
// runs without oclif for the plain command line (fast-build.ts), so that the two print the same.
import { relative } from 'node:path';
import { type BuildResult, type BuildStep, buildApp, formatBytes, type Plan } from '@reyna/core/build';
import { stepTasks } from './progress.js';
import type { Session } from './session.js';

export interface LocalBuildFlags {
  typecheck: boolean;
  install: boolean;
  plan?: Plan;
}

/**
 * Builds with live progress and renders the result. `thread`: whether Vite runs on a thread of its own (the one
 * bin/run.js starts before oclif loads), or on this one.
 */
export async function buildLocally(
  session: Session,
  flags: LocalBuildFlags,
  options: { thread?: boolean } = {},
): Promise<BuildResult> {
  const steps = stepTasks<BuildStep>([
    { id: 'install', title: 'Dependencies' },
    { id: 'typecheck', title: 'Type check' },
    { id: 'client', title: 'Client (Vite)' },
    { id: 'worker', title: 'Worker (esbuild)' },
    { id: 'check', title: 'Limits' },
  ]);
  const json = session.json();
  const live = process.stdout.isTTY === true && !json;
  const running = buildApp(session.context(), {
    typecheck: flags.typecheck,
    install: flags.install,
    plan: flags.plan,
    thread: options.thread,
    onStep: steps.onStep,
    // Off a terminal the log streams as it comes; on one the progress display owns the screen.
    onLog: live || json ? undefined : (line) => process.stderr.write(`${session.colors.dim(line)}\n`),
  });
  running.then(steps.finish, steps.fail);
  await Promise.allSettled([session.tasks(steps.tasks)]);
  return summarise(session, await running);
}

/** The result of a build of one app: its JSON document, or the summary lines. */
export function summarise(session: Session, result: BuildResult): BuildResult {
  const { report } = result;
  session.render(
    {
      id: result.id,
      app: result.name,
      outDir: result.outDir,
      logFile: result.logFile,
      report,
      record: result.record,
    },
    () => {
      const c = session.colors;
      const out = relative(process.cwd(), result.outDir) || '.';
      const assets = report.files.filter((f) => f.path.startsWith('client/'));
      const assetBytes = assets.reduce((sum, f) => sum + f.size, 0);
      session.log(`${c.green('✔')} Built ${c.bold(result.name)} into ${out}/ in ${report.durationMs} ms`);
      session.log(`  client  ${assets.length} files, ${formatBytes(assetBytes)}`);
      session.log(
        `  worker  ${formatBytes(report.worker.rawBytes)} (${formatBytes(report.worker.gzipBytes)} gzip, limit ${formatBytes(report.limits.workerGzipBytes)} on ${report.plan})`,
      );
      session.log(c.dim(`  log     ${relative(process.cwd(), result.logFile)}`));
      if (result.record?.recorded) session.log(c.dim(`  record  build ${result.record.buildId} on the studio server`));
    },
  );
  return result;
}
