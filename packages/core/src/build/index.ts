import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import type { Message, Metafile } from 'esbuild';
import { run } from '../_exec.js';
import { pathExists } from '../_fs.js';
import { readConfig } from '../config.js';
import type { Context } from '../context.js';
import { workerBuildOptions } from '../dev/_worker.js';
import { ReynaError } from '../errors.js';
import type { ReynaConfig } from '../protocol/config.js';
import { buildClient } from './_client.js';
import { compileError, placeOf } from './_compile-error.js';
import { BuildLog } from './_log.js';
import { contentTypeOf } from './_mime.js';
import { loadEsbuild } from './_tools.js';
import { type Diagnostic, typecheck } from './_typecheck.js';
import { type BuildLimits, checkLimits, formatBytes, type Plan, resolveLimits, type SizedFile } from './limits.js';
import { type RecordResult, recordOutcome } from './record.js';

export { contentTypeOf } from './_mime.js';
export { type BuildLimits, checkLimits, formatBytes, PLAN_LIMITS, type Plan, resolveLimits } from './limits.js';
export { prepareClientBuild } from './prepare.js';
export { type BuildOutcome, type RecordResult, recordBuild } from './record.js';

export type BuildStep = 'install' | 'typecheck' | 'client' | 'worker' | 'check';
export type StepState = 'start' | 'done' | 'skip';

export interface BuildOptions {
  /** App directory, relative to ctx.cwd. */
  dir?: string;
  /** Run `tsc --noEmit` on the app's projects beside the bundling (default true). */
  typecheck?: boolean;
  /** Install dependencies when they are missing (default true); otherwise a missing one is an error. */
  install?: boolean;
  /** Plan whose limits apply; default reyna.json's `build.plan`, else free. */
  plan?: Plan;
  onStep?: (step: BuildStep, state: StepState, detail?: string) => void;
  /** Every line of build output, as it comes (it also goes to the build's log file). */
  onLog?: (line: string) => void;
  /** Send the build record to the linked studio server (default true; a Docker build's host sends it instead). */
  record?: boolean;
  /**
   * Run Vite on a thread of its own (default true), beside the Worker's bundling and the type check. The Docker
   * build's runner, bundled into one file without the thread's module, runs it on its own thread.
   */
  thread?: boolean;
}

export interface BuildFile {
  /** POSIX path relative to the output dir: `client/index.html`, `worker/index.js`. */
  path: string;
  sha256: string;
  size: number;
  contentType: string;
}

/** `dist/reyna-build.json`: what was built, from what, how big and how long it took. Holds no APP_ID. */
export interface BuildReport {
  version: 1;
  app: string;
  files: BuildFile[];
  worker: {
    main: string;
    rawBytes: number;
    gzipBytes: number;
    largestModules: SizedFile[];
  };
  plan: Plan;
  limits: BuildLimits;
  tools: Record<string, string>;
  steps: Partial<Record<BuildStep, number>>;
  durationMs: number;
}

export interface BuildResult {
  id: string;
  dir: string;
  name: string;
  /** Absolute output dir. */
  outDir: string;
  report: BuildReport;
  logFile: string;
  /** Whether a build record went to the linked studio server, and if not, why. */
  record?: RecordResult;
}

export const BUILD_REPORT = 'reyna-build.json';

function buildId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Dependencies the app declares that no node_modules up the tree holds. */
async function missingDependencies(dir: string): Promise<string[]> {
  let pkg: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  try {
    pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  } catch {
    return [];
  }
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
  const missing: string[] = [];
  for (const name of names) {
    let found = false;
    for (let at = dir; ; at = dirname(at)) {
      if (await pathExists(join(at, 'node_modules', name, 'package.json'))) {
        found = true;
        break;
      }
      if (dirname(at) === at) break;
    }
    if (!found) missing.push(name);
  }
  return missing;
}

async function walk(root: string, rel = ''): Promise<string[]> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  const out: string[] = [];
  for (const entry of entries) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await walk(root, path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Every file of a build output with its hash, size and type, sorted so the report itself is reproducible. */
export async function describeFiles(outDir: string): Promise<BuildFile[]> {
  const paths = (await walk(outDir)).filter((path) => path !== BUILD_REPORT).sort();
  return Promise.all(
    paths.map(async (path) => {
      const data = await readFile(join(outDir, path));
      return {
        path,
        sha256: createHash('sha256').update(data).digest('hex'),
        size: data.length,
        contentType: contentTypeOf(path),
      };
    }),
  );
}

interface WorkerOutput {
  rawBytes: number;
  gzipBytes: number;
  largestModules: SizedFile[];
  esbuild: string;
}

async function buildWorker(dir: string, entry: string, finalOutDir: string, stageDir: string): Promise<WorkerOutput> {
  if (!(await pathExists(join(dir, entry)))) {
    throw new ReynaError('E_WORKER_ENTRY_MISSING', `The Worker entry ${entry} does not exist`, {
      hint: 'Create it, or point "build.worker" in reyna.json at your Worker module.',
    });
  }
  const esbuild = await loadEsbuild(dir);
  // Paths inside the output (source map `sources`) are relative to the final place, not to the staging dir,
  // so the same sources give the same bytes wherever they are built.
  const outfile = join(finalOutDir, 'worker', 'index.js');
  let result: Awaited<ReturnType<typeof esbuild.build>>;
  try {
    result = await esbuild.build({
      ...workerBuildOptions(join(dir, entry), { minify: true, sourcemap: 'external' }),
      outfile,
      absWorkingDir: dir,
    });
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? [];
    const first = errors[0];
    if (!first) throw error;
    const loc = first.location;
    const where = loc ? placeOf(relative(dir, resolve(dir, loc.file)), loc.line, loc.column + 1) : '';
    throw compileError('worker', where, first.text, {
      errors: errors.map((m) => ({
        text: m.text,
        file: m.location?.file,
        line: m.location?.line,
        column: m.location?.column,
      })),
    });
  }
  let code: Uint8Array | undefined;
  for (const file of result.outputFiles ?? []) {
    const target = join(stageDir, 'worker', relative(join(finalOutDir, 'worker'), file.path));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.contents);
    if (file.path === outfile) code = file.contents;
  }
  if (!code) throw new Error('esbuild produced no Worker module');
  const meta = result.metafile as Metafile;
  const output = meta.outputs[relative(dir, outfile).split(sep).join('/')];
  const largestModules = Object.entries(output?.inputs ?? {})
    .map(([path, input]) => ({ path, size: input.bytesInOutput }))
    .sort((a, b) => b.size - a.size || (a.path < b.path ? -1 : 1))
    .slice(0, 10);
  return { rawBytes: code.length, gzipBytes: gzipSync(code).length, largestModules, esbuild: esbuild.version };
}

function typeError(diagnostics: Diagnostic[]): ReynaError {
  const shown = diagnostics.slice(0, 5).map((d) => `${d.file}:${d.line}:${d.column} ${d.code}: ${d.message}`);
  const more = diagnostics.length > 5 ? `\n… and ${diagnostics.length - 5} more` : '';
  return new ReynaError(
    'E_TYPECHECK',
    `${diagnostics.length} type error${diagnostics.length === 1 ? '' : 's'}:\n${shown.join('\n')}${more}`,
    {
      hint: 'Fix the errors above, or build without type checking: `reyna build --no-typecheck`.',
      details: { diagnostics },
    },
  );
}

export async function coreVersion(env: Record<string, string | undefined>): Promise<string> {
  // Inside a Docker build the runner is one bundled file, and the host says which Reyna it is.
  if (env.REYNA_CORE_VERSION) return env.REYNA_CORE_VERSION;
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
  return pkg.version as string;
}

/**
 * Builds an app: the client with Vite into `<outDir>/client`, the Worker with esbuild into `<outDir>/worker`,
 * and `<outDir>/reyna-build.json`. Type-checks beside the bundling, checks the platform's limits before anything
 * could be uploaded, and swaps the new output in whole: a failed build leaves the previous one untouched.
 */
export async function buildApp(ctx: Context, options: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const dir = resolve(ctx.cwd, options.dir ?? '.');
  const config: ReynaConfig = await readConfig(dir);
  const id = buildId();
  await mkdir(join(dir, '.reyna', 'builds'), { recursive: true });
  const log = new BuildLog(join(dir, '.reyna', 'builds', `${id}.log`), options.onLog);
  const steps: BuildReport['steps'] = {};
  const step = async <T>(name: BuildStep, work: () => Promise<T>, detail?: (value: T) => string): Promise<T> => {
    const at = performance.now();
    options.onStep?.(name, 'start');
    const value = await work();
    steps[name] = Math.round(performance.now() - at);
    options.onStep?.(name, 'done', detail?.(value));
    return value;
  };
  const skip = (name: BuildStep, why: string) => options.onStep?.(name, 'skip', why);
  const outDir = resolve(dir, config.build?.outDir ?? 'dist');
  const entry = config.build?.worker ?? 'worker/index.ts';
  const plan = options.plan ?? config.build?.plan ?? 'free';
  const limits = resolveLimits(plan, config.build?.limits);
  const stage = join(dir, '.reyna', `build-${id}`);
  log.write(`reyna build ${config.name} (${id})`);
  // Inside a Docker build there is no network: the host records it.
  const recording = options.record === false ? { ...config, appId: undefined } : config;
  try {
    const missing = await missingDependencies(dir);
    if (missing.length === 0) skip('install', 'up to date');
    else if (options.install === false) {
      throw new ReynaError('E_DEPS_MISSING', `Dependencies are not installed: ${missing.slice(0, 5).join(', ')}`, {
        hint: 'Run `npm install` in the app, or drop `--no-install`.',
      });
    } else {
      await step('install', async () => {
        const result = await run('npm', ['install', '--no-audit', '--no-fund'], {
          cwd: dir,
          signal: ctx.signal,
          timeout: 10 * 60_000,
          env: { ...ctx.env, npm_config_yes: 'true' },
          onLine: log.write,
        });
        if (result.exitCode !== 0) {
          const tail = (result.stderr || result.stdout).trim().split('\n').slice(-8).join('\n');
          throw new ReynaError(
            'E_INSTALL_FAILED',
            result.timedOut ? 'npm install timed out after 10 minutes' : `npm install failed:\n${tail}`,
            {
              hint: `Fix the dependency problem above (see ${relative(ctx.cwd, log.file)}), then run \`reyna build\` again.`,
            },
          );
        }
      });
    }

    let tools: Record<string, string> = { node: process.version, reyna: await coreVersion(ctx.env) };
    let worker: WorkerOutput;
    if (config.build?.command) {
      const command = config.build.command;
      await step('client', async () => {
        const result = await run('sh', ['-c', command], {
          cwd: dir,
          signal: ctx.signal,
          env: ctx.env,
          onLine: log.write,
        });
        if (result.exitCode !== 0) {
          throw new ReynaError(
            'E_BUILD_COMMAND_FAILED',
            `The build command \`${command}\` exited with ${result.exitCode}`,
            {
              hint: `See its output in ${relative(ctx.cwd, log.file)}.`,
            },
          );
        }
      });
      skip('typecheck', 'custom build command');
      const code = await readFile(join(outDir, 'worker', 'index.js')).catch(() => {
        throw new ReynaError(
          'E_BUILD_OUTPUT_MISSING',
          `The build command made no ${relative(dir, outDir)}/worker/index.js`,
          {
            hint: `A custom "build.command" must write the client to ${relative(dir, outDir)}/client and the Worker to ${relative(dir, outDir)}/worker/index.js.`,
          },
        );
      });
      worker = { rawBytes: code.length, gzipBytes: gzipSync(code).length, largestModules: [], esbuild: '' };
      // Every step is reported, run or not: a progress display waits for each one.
      skip('worker', 'custom build command');
      steps.worker = 0;
      await mkdir(stage, { recursive: true });
    } else {
      await mkdir(stage, { recursive: true });
      // Type checking runs beside the bundling: on two cores it costs little wall time.
      if (options.typecheck === false) skip('typecheck', 'skipped');
      const checking =
        options.typecheck === false
          ? Promise.resolve({ ran: false, upToDate: 0, diagnostics: [] as Diagnostic[] })
          : step(
              'typecheck',
              () => typecheck(dir, entry, { signal: ctx.signal, log: (text) => log.write(text) }),
              (r) => (!r.ran ? 'no TypeScript project' : r.upToDate > 0 ? `${r.upToDate} project(s) up to date` : ''),
            );
      checking.catch(() => {});
      const bundling = Promise.all([
        step('client', () => buildClient(dir, join(stage, 'client'), outDir, log, { thread: options.thread })),
        step(
          'worker',
          () => buildWorker(dir, entry, outDir, stage),
          (w) => `${formatBytes(w.gzipBytes)} gzip`,
        ),
      ]);
      bundling.catch(() => {});
      const [checked, bundled] = await Promise.allSettled([checking, bundling]);
      if (checked.status === 'fulfilled' && checked.value.diagnostics.length > 0)
        throw typeError(checked.value.diagnostics);
      if (bundled.status === 'rejected') throw bundled.reason;
      if (checked.status === 'rejected') throw checked.reason;
      const [viteVersion, w] = bundled.value;
      worker = w;
      tools = { ...tools, vite: viteVersion, esbuild: w.esbuild };
    }

    const root = config.build?.command ? outDir : stage;
    const report = await step('check', async () => {
      const files = await describeFiles(root);
      const assets = files
        .filter((f) => f.path.startsWith('client/'))
        .map((f) => ({ path: f.path.slice(7), size: f.size }));
      checkLimits({ workerGzipBytes: worker.gzipBytes, largestModules: worker.largestModules, assets }, limits, plan);
      const built: BuildReport = {
        version: 1,
        app: config.name,
        files,
        worker: {
          main: 'worker/index.js',
          rawBytes: worker.rawBytes,
          gzipBytes: worker.gzipBytes,
          largestModules: worker.largestModules,
        },
        plan,
        limits,
        tools,
        steps,
        durationMs: 0,
      };
      return built;
    });
    report.durationMs = Math.round(performance.now() - started);
    for (const file of report.files) log.write(`${relative(dir, outDir)}/${file.path}  ${formatBytes(file.size)}`);
    await writeFile(join(root, BUILD_REPORT), `${JSON.stringify(report, null, 2)}\n`);
    if (root === stage) await swapInto(stage, outDir, join(dir, '.reyna', `old-${id}`));
    log.write(`built in ${report.durationMs} ms`);
    const record = await recordOutcome(ctx, recording, log, { report });
    return { id, dir, name: config.name, outDir, report, logFile: log.file, ...(record ? { record } : {}) };
  } catch (error) {
    await recordOutcome(ctx, recording, log, { error, durationMs: performance.now() - started });
    throw error;
  } finally {
    await rm(stage, { recursive: true, force: true });
    await log.close();
  }
}

/** Replaces `target` with `stage` by renames, so the output dir is never half old, half new. */
export async function swapInto(stage: string, target: string, trash: string): Promise<void> {
  const had = await pathExists(target);
  if (had) await rename(target, trash);
  try {
    await mkdir(dirname(target), { recursive: true });
    await rename(stage, target);
  } catch (error) {
    if (had) await rename(trash, target).catch(() => {});
    throw error;
  }
  if (had) await rm(trash, { recursive: true, force: true });
}

const SKIP = new Set(['node_modules', '.git', 'dist', '.reyna', '.turbo', '.tmp']);

/** Directories under `root` (to `depth` levels) that hold a reyna.json, sorted. */
export async function findApps(root: string, depth = 3): Promise<string[]> {
  const found: string[] = [];
  async function visit(dir: string, level: number): Promise<void> {
    if (await pathExists(join(dir, 'reyna.json'))) {
      found.push(dir);
      return;
    }
    if (level >= depth) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.isDirectory() && !SKIP.has(entry.name) && !entry.name.startsWith('.')) {
        await visit(join(dir, entry.name), level + 1);
      }
    }
  }
  await visit(root, 0);
  return found.sort();
}

export interface BuildAllOptions extends Omit<BuildOptions, 'dir' | 'onStep' | 'onLog'> {
  concurrency?: number;
  /** App directories to build (default: every app under ctx.cwd, see findApps). */
  apps?: string[];
  /** Build each app in Docker with these settings (see buildInDocker). */
  docker?: { baseImage?: string; memory?: string; cpus?: number };
  onApp?: (event: { dir: string; state: 'start' | 'done' | 'failed'; detail?: string }) => void;
}

export interface BuildAllEntry {
  dir: string;
  ok: boolean;
  durationMs: number;
  result?: BuildResult;
  error?: { code: string; message: string; hint?: string };
}

/** Builds every app under ctx.cwd, `concurrency` at a time; never throws for one app's failure. */
export async function buildAll(ctx: Context, options: BuildAllOptions = {}): Promise<BuildAllEntry[]> {
  const apps = options.apps ?? (await findApps(ctx.cwd));
  if (apps.length === 0) {
    throw new ReynaError('E_NO_APPS', `No app (a directory with reyna.json) under ${ctx.cwd}`, {
      hint: 'Run `reyna build --all` at the root of a workspace of apps, e.g. examples/.',
    });
  }
  const limit = Math.max(1, options.concurrency ?? cpus().length);
  const results: BuildAllEntry[] = new Array(apps.length);
  let next = 0;
  const worker = async () => {
    while (next < apps.length && !ctx.signal?.aborted) {
      const index = next++;
      const dir = apps[index] as string;
      const at = performance.now();
      options.onApp?.({ dir, state: 'start' });
      try {
        const { apps: _apps, onApp: _onApp, concurrency: _concurrency, docker, ...buildOptions } = options;
        const result = docker
          ? await (await import('./docker.js')).buildInDocker({ ...ctx, cwd: dir }, { ...buildOptions, ...docker })
          : await buildApp({ ...ctx, cwd: dir }, buildOptions);
        results[index] = { dir, ok: true, durationMs: Math.round(performance.now() - at), result };
        options.onApp?.({ dir, state: 'done', detail: `${result.report.durationMs} ms` });
      } catch (error) {
        const e =
          error instanceof ReynaError
            ? { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) }
            : { code: 'E_INTERNAL', message: (error as Error).message };
        results[index] = { dir, ok: false, durationMs: Math.round(performance.now() - at), error: e };
        options.onApp?.({ dir, state: 'failed', detail: e.message.split('\n')[0] });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, apps.length) }, worker));
  return results.filter(Boolean);
}

/** An app of a `build --all` as the summary names it: its path under the workspace (`.` for the workspace). */
export function appLabel(cwd: string, dir: string): string {
  return relative(cwd, dir) || '.';
}

/** One app's line of a `build --all` summary. */
export interface BuildAllRow {
  app: string;
  ok: boolean;
  durationMs: number;
  workerGzipBytes?: number;
  files?: number;
  error?: BuildAllEntry['error'];
}

/** The summary of a `build --all` run in `cwd`, and the error it ends with when an app failed (rows in details). */
export function summariseBuildAll(
  cwd: string,
  results: readonly BuildAllEntry[],
): { rows: BuildAllRow[]; failure?: ReynaError } {
  const rows = results.map((r) => ({
    app: appLabel(cwd, r.dir),
    ok: r.ok,
    durationMs: r.durationMs,
    workerGzipBytes: r.result?.report.worker.gzipBytes,
    files: r.result?.report.files.length,
    error: r.error,
  }));
  const failed = rows.filter((r) => !r.ok);
  if (failed.length === 0) return { rows };
  const failure = new ReynaError('E_BUILD_FAILED', `${failed.length} of ${rows.length} apps failed to build`, {
    hint: `Fix them one at a time: cd ${failed[0]?.app} && reyna build`,
    details: { results: rows },
  });
  return { rows, failure };
}

/** Reads a build's `reyna-build.json`; a missing one means the app was not built. */
export async function readBuildReport(outDir: string): Promise<BuildReport> {
  const path = join(outDir, BUILD_REPORT);
  try {
    await stat(path);
  } catch {
    throw new ReynaError('E_NOT_BUILT', `${path} does not exist`, { hint: 'Run `reyna build` first.' });
  }
  return JSON.parse(await readFile(path, 'utf8')) as BuildReport;
}
