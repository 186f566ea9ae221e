import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { run } from '../_exec.js';
import { type FileTree, isEmptyDir, writeTree } from '../_fs.js';
import { assertGitAvailable } from '../_git.js';
import { serializeConfig } from '../config.js';
import type { Context } from '../context.js';
import { ReynaError } from '../errors.js';
import {
  AppName,
  type Placeholder,
  type ReynaConfig,
  SCHEMA_FILE,
  SCHEMA_REF,
  serializeSchema,
  type TemplateRecord,
} from '../protocol/config.js';
import { instantiate } from '../templates/instantiate.js';
import { listBuiltinTemplates, sourceFor, templateCacheDir } from '../templates/registry.js';
import { parseTemplateSpec } from '../templates/spec.js';

export type InitStep = 'template' | 'files' | 'git' | 'install' | 'finish';

export interface InitOptions {
  /** Target directory, relative to ctx.cwd. */
  dir: string;
  /** A template spec: built-in name, directory or git URL with optional `#ref`. */
  template: string;
  /** App name; defaults to the target directory's name. */
  name?: string;
  /** Values of the template's other placeholders. */
  values?: Record<string, string>;
  /**
   * Asks for a placeholder `values` does not give (a prompt, in the CLI), once the template is fetched. Without
   * it a placeholder's default is taken, and one with no default is an E_MISSING_INPUT error.
   */
  ask?: (placeholder: Placeholder) => Promise<string>;
  force?: boolean;
  install?: boolean;
  git?: boolean;
  offline?: boolean;
  preferOffline?: boolean;
  /** Where the built-in templates shipped with the CLI live. */
  builtinRoot: string;
  cacheDir?: string;
  installTimeoutMs?: number;
  /** Where `npm install` streams its output. */
  output?: Writable;
  onStep?: (step: InitStep, state: 'start' | 'done' | 'skip', detail?: string) => void;
}

export interface InitResult {
  dir: string;
  name: string;
  template: TemplateRecord;
  files: number;
  installed: boolean;
  git: boolean;
}

const DEFAULT_INSTALL_TIMEOUT = 10 * 60_000;

/** Validates what init was given before anything is fetched or written. */
export function checkAppName(name: string): string {
  const parsed = AppName.safeParse(name);
  if (!parsed.success) {
    throw new ReynaError('E_INVALID_NAME', `"${name}" is not a valid app name: ${parsed.error.issues[0]?.message}`, {
      hint: 'Pass --name with lowercase letters, digits and dashes, e.g. --name my-app.',
      exitCode: 2,
    });
  }
  return name;
}

function interrupted(): ReynaError {
  return new ReynaError('E_INTERRUPTED', 'reyna init was interrupted; nothing was written', { exitCode: 130 });
}

/**
 * Creates an app from a template. Everything is assembled in a hidden sibling directory (files, git, npm
 * install) and moved into place at the end, so an interrupted init leaves no half-written app behind.
 */
export async function initApp(ctx: Context, options: InitOptions): Promise<InitResult> {
  const step = options.onStep ?? (() => {});
  const target = resolve(ctx.cwd, options.dir);
  const name = checkAppName(options.name ?? basename(target));
  const install = options.install ?? true;
  const useGit = options.git ?? true;

  const existing = await lstat(target).catch(() => undefined);
  if (existing && !existing.isDirectory()) {
    throw new ReynaError('E_TARGET_NOT_DIR', `${target} exists and is not a directory`, {
      hint: 'Choose another directory.',
    });
  }
  const empty = await isEmptyDir(target);
  if (!empty && !options.force) {
    throw new ReynaError('E_TARGET_NOT_EMPTY', `${target} is not empty`, {
      hint: 'Choose a new directory, or pass --force to write the template over it (files with other names are kept).',
    });
  }
  if (useGit) await assertGitAvailable(ctx.cwd, ctx.env);

  step('template', 'start', options.template);
  const builtinNames = (await listBuiltinTemplates(options.builtinRoot)).map((t) => t.name);
  const spec = parseTemplateSpec(options.template, ctx.cwd, builtinNames);
  const source = sourceFor(spec, {
    builtinRoot: options.builtinRoot,
    cacheDir: options.cacheDir ?? templateCacheDir(ctx.env),
    env: ctx.env,
    logger: ctx.logger,
  });
  const snapshot = await source.fetch(spec, {
    offline: options.offline,
    preferOffline: options.preferOffline,
    signal: ctx.signal,
  });
  const values: Record<string, string> = { ...options.values, name };
  const placeholders = snapshot.manifest?.placeholders ?? [];
  const unanswered = placeholders.filter((p) => values[p.name] === undefined);
  const missing = options.ask ? [] : unanswered.filter((p) => p.default === undefined);
  if (missing.length) {
    throw new ReynaError(
      'E_MISSING_INPUT',
      `The template needs a value for ${missing.map((p) => `{{${p.name}}}`).join(', ')}`,
      {
        hint: `Pass ${missing.map((p) => `--var ${p.name}=<value>`).join(' ')}.`,
        exitCode: 2,
        details: { missing: missing.map((p) => p.name) },
      },
    );
  }
  for (const placeholder of unanswered) {
    values[placeholder.name] = options.ask ? await options.ask(placeholder) : (placeholder.default as string);
  }
  const record: TemplateRecord = {
    source: snapshot.source,
    ...(snapshot.subdir ? { subdir: snapshot.subdir } : {}),
    ...(snapshot.ref ? { ref: snapshot.ref } : {}),
    ...(snapshot.commit ? { commit: snapshot.commit } : {}),
    ...(snapshot.version ? { version: snapshot.version } : {}),
    values: Object.fromEntries(placeholders.map((p) => [p.name, values[p.name] as string])),
  };
  step(
    'template',
    'done',
    `${snapshot.source}${snapshot.version ? `@${snapshot.version}` : ''}${snapshot.commit ? ` (${snapshot.commit.slice(0, 7)})` : ''}`,
  );
  if (ctx.signal?.aborted) throw interrupted();

  const files: FileTree = instantiate(snapshot.files, snapshot.manifest, values);
  const config: ReynaConfig = {
    $schema: SCHEMA_REF,
    name,
    template: record,
    build: { outDir: 'dist', worker: 'worker/index.ts' },
    deploy: { target: 'local' },
  };
  files.set('reyna.json', { data: Buffer.from(serializeConfig(config)), mode: 0o644 });
  files.set(SCHEMA_FILE, { data: Buffer.from(await serializeSchema()), mode: 0o644 });

  await mkdir(dirname(target), { recursive: true });
  const staging = join(dirname(target), `.reyna-init-${basename(target)}-${randomBytes(4).toString('hex')}`);
  let installed = false;
  let installError: ReynaError | undefined;
  try {
    step('files', 'start');
    await writeTree(staging, files);
    step('files', 'done', `${files.size} files`);
    if (ctx.signal?.aborted) throw interrupted();

    if (useGit) {
      step('git', 'start');
      await commitInitial(staging, record, ctx);
      step('git', 'done');
    } else step('git', 'skip');
    if (ctx.signal?.aborted) throw interrupted();

    if (install) {
      step('install', 'start', 'npm install');
      const result = await run('npm', ['install', '--no-audit', '--no-fund'], {
        cwd: staging,
        env: ctx.env,
        signal: ctx.signal,
        timeout: options.installTimeoutMs ?? DEFAULT_INSTALL_TIMEOUT,
        output: options.output,
      });
      if (result.aborted || ctx.signal?.aborted) throw interrupted();
      if (result.timedOut) {
        installError = new ReynaError(
          'E_INSTALL_TIMEOUT',
          `Created ${target}, but npm install did not finish in time`,
          {
            hint: `Check your network, then run \`npm install\` in ${target}.`,
          },
        );
      } else if (result.exitCode !== 0) {
        installError = new ReynaError(
          'E_INSTALL_FAILED',
          `Created ${target}, but npm install failed (exit ${result.exitCode})`,
          {
            hint: `Read npm's output above, fix the cause, then run \`npm install\` in ${target}.`,
            details: { output: (result.stderr || result.stdout).split('\n').slice(-20).join('\n') },
          },
        );
      } else installed = true;
      step('install', installed ? 'done' : 'skip');
    } else step('install', 'skip');
    if (ctx.signal?.aborted) throw interrupted();

    step('finish', 'start');
    await moveIntoPlace(staging, target);
    step('finish', 'done', target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  if (installError) throw installError;
  return { dir: target, name, template: record, files: files.size, installed, git: useGit };
}

async function commitInitial(dir: string, record: TemplateRecord, ctx: Context): Promise<void> {
  const git = async (...args: string[]) => {
    const result = await run('git', args, { cwd: dir, env: ctx.env, signal: ctx.signal });
    if (result.exitCode !== 0) throw new Error(`git ${args[0]} failed: ${result.stderr}`);
    return result.stdout.trim();
  };
  await git('init', '--quiet');
  await git('add', '--all');
  // A fresh machine (a CI runner) often has no git identity; the first commit must not fail for that.
  const identity = await run('git', ['config', 'user.email'], { cwd: dir, env: ctx.env });
  const who = identity.stdout.trim() ? [] : ['-c', 'user.name=Reyna', '-c', 'user.email=reyna@localhost'];
  const from = `${record.source}${record.version ? `@${record.version}` : ''}`;
  await git(...who, 'commit', '--quiet', '--no-verify', '-m', `Initial commit from reyna init (${from})`);
}

/** Moves the staged app to its place: one rename when the target is new, else file by file over it (--force). */
async function moveIntoPlace(staging: string, target: string): Promise<void> {
  if (await isEmptyDir(target)) {
    await rmdir(target).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(staging, target);
    return;
  }
  async function merge(from: string, to: string): Promise<void> {
    for (const entry of await readdir(from, { withFileTypes: true })) {
      const src = join(from, entry.name);
      const dest = join(to, entry.name);
      const there = await lstat(dest).catch(() => undefined);
      if (entry.isDirectory() && there?.isDirectory()) await merge(src, dest);
      else {
        if (there) await rm(dest, { recursive: true, force: true });
        await rename(src, dest);
      }
    }
  }
  await merge(staging, target);
  await rm(staging, { recursive: true, force: true });
}
