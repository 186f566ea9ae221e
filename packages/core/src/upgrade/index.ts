import { mkdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type FileEntry, type FileTree, isText, pathExists, writeFileAtomic } from '../_fs.js';
import { CONFIG_FILE, readConfig, writeConfig } from '../config.js';
import type { Context } from '../context.js';
import { ReynaError } from '../errors.js';
import {
  LEGACY_SCHEMA_URL,
  type ReynaConfig,
  SCHEMA_FILE,
  SCHEMA_REF,
  serializeSchema,
  type TemplateRecord,
} from '../protocol/config.js';
import { instantiate } from '../templates/instantiate.js';
import { sourceFor, templateCacheDir } from '../templates/registry.js';
import type { TemplateSnapshot } from '../templates/source.js';
import { specFromRecord } from '../templates/spec.js';
import { hasConflictMarkers, mergeText, similarity } from './merge.js';

export type UpgradeAction =
  | { path: string; action: 'add' | 'update' | 'merge' | 'delete' | 'mode' }
  | { path: string; action: 'rename'; from: string; merged: boolean }
  | {
      path: string;
      action: 'conflict';
      kind: 'content' | 'binary' | 'deleted-here' | 'deleted-upstream';
      from?: string;
    };

/** What an upgrade will do, as plain data: `--dry-run` and `--json` print it. */
export interface UpgradePlan {
  dir: string;
  from: { version?: string; commit?: string };
  to: { ref?: string; version?: string; commit?: string };
  upToDate: boolean;
  actions: UpgradeAction[];
  conflicts: string[];
}

export interface UpgradeOptions {
  /** App directory, relative to ctx.cwd. */
  dir?: string;
  /** Tag, branch, commit (git templates) or version (built-in templates); default: the newest. */
  to?: string;
  dryRun?: boolean;
  builtinRoot: string;
  cacheDir?: string;
  offline?: boolean;
  preferOffline?: boolean;
}

const STATE_DIR = '.reyna/upgrade';
const STATE_FILE = `${STATE_DIR}/state.json`;
const BACKUP_DIR = `${STATE_DIR}/backup`;

interface UpgradeState {
  to: TemplateRecord;
  conflicts: { path: string; kind: string }[];
  /** Paths the upgrade touched, and whether they existed before: what --abort restores. */
  touched: { path: string; existed: boolean }[];
}

const THEIRS_SUFFIX = '.template-new';

async function readOurs(root: string, paths: Iterable<string>): Promise<FileTree> {
  const tree: FileTree = new Map();
  for (const path of paths) {
    const full = join(root, path);
    const info = await stat(full).catch(() => undefined);
    if (info?.isFile()) tree.set(path, { data: await readFile(full), mode: info.mode & 0o111 ? 0o755 : 0o644 });
  }
  return tree;
}

function same(a: FileEntry | undefined, b: FileEntry | undefined): boolean {
  return a !== undefined && b !== undefined && a.data.equals(b.data);
}

/** Pairs files the template deleted with files it added that carry (nearly) the same content. */
function detectRenames(base: FileTree, theirs: FileTree): Map<string, string> {
  const deleted = [...base.keys()].filter((path) => !theirs.has(path));
  const added = [...theirs.keys()].filter((path) => !base.has(path));
  const renames = new Map<string, string>();
  const taken = new Set<string>();
  for (const from of deleted) {
    let best: [string, number] | undefined;
    for (const to of added) {
      if (taken.has(to)) continue;
      const score = similarity(base.get(from)?.data as Buffer, theirs.get(to)?.data as Buffer);
      if (score >= 0.5 && (!best || score > best[1])) best = [to, score];
    }
    if (best) {
      renames.set(best[0], from);
      taken.add(best[0]);
    }
  }
  return renames;
}

interface Computed {
  plan: UpgradePlan;
  writes: Map<string, FileEntry | null>;
  record: TemplateRecord;
  conflictKinds: { path: string; kind: string }[];
}

async function mergeOne(
  path: string,
  ours: FileEntry,
  base: FileEntry | undefined,
  theirs: FileEntry,
  labels: { base: string; theirs: string },
): Promise<{ entry: FileEntry; conflict?: 'content' | 'binary'; extra?: [string, FileEntry] }> {
  const mode = ours.mode;
  if (!isText(ours.data) || !isText(theirs.data) || (base && !isText(base.data))) {
    return { entry: ours, conflict: 'binary', extra: [`${path}${THEIRS_SUFFIX}`, theirs] };
  }
  const merged = await mergeText(ours.data, base?.data ?? Buffer.alloc(0), theirs.data, {
    ours: `your ${path}`,
    base: labels.base,
    theirs: labels.theirs,
  });
  return { entry: { data: merged.data, mode }, ...(merged.conflicts > 0 ? { conflict: 'content' as const } : {}) };
}

/** Computes the three-way merge of base (template then), theirs (template now) and ours (the app). */
export async function planUpgrade(ctx: Context, options: UpgradeOptions): Promise<Computed> {
  const dir = resolve(ctx.cwd, options.dir ?? '.');
  const config = await readConfig(dir);
  if (await pathExists(join(dir, STATE_FILE))) {
    throw new ReynaError('E_UPGRADE_IN_PROGRESS', 'An upgrade is in progress with unresolved conflicts', {
      hint: 'Resolve the conflicts and run `reyna upgrade --continue`, or undo it with `reyna upgrade --abort`.',
    });
  }
  const recorded = config.template;
  if (!recorded) {
    throw new ReynaError('E_UPGRADE_NO_TEMPLATE', `${CONFIG_FILE} does not say which template the app came from`, {
      hint: 'Only apps made with `reyna init` (which records `template` in reyna.json) can be upgraded.',
    });
  }
  const spec = specFromRecord(recorded.source, recorded.subdir, recorded.ref);
  const source = sourceFor(spec, {
    builtinRoot: options.builtinRoot,
    cacheDir: options.cacheDir ?? templateCacheDir(ctx.env),
    env: ctx.env,
    logger: ctx.logger,
  });
  const fetchOptions = { offline: options.offline, preferOffline: options.preferOffline, signal: ctx.signal };
  const baseSnap = await source.fetchExact(spec, { commit: recorded.commit, version: recorded.version }, fetchOptions);
  let theirsSnap: TemplateSnapshot;
  if (spec.kind === 'builtin') {
    theirsSnap = await source.fetch({ ...spec, version: options.to }, fetchOptions);
  } else {
    const ref = options.to ?? (await source.latestRef(spec, fetchOptions)) ?? recorded.ref ?? 'HEAD';
    theirsSnap = await source.fetch({ ...spec, ref } as typeof spec, fetchOptions);
    theirsSnap.ref = ref;
  }
  const values = { name: config.name, ...recorded.values };
  const base = instantiate(baseSnap.files, baseSnap.manifest, values);
  const theirs = instantiate(theirsSnap.files, theirsSnap.manifest, values);
  // reyna's own files, not the template's: recordTemplate writes them.
  for (const own of [CONFIG_FILE, SCHEMA_FILE]) {
    base.delete(own);
    theirs.delete(own);
  }
  const record: TemplateRecord = {
    ...recorded,
    ...(theirsSnap.ref ? { ref: theirsSnap.ref } : {}),
    ...(theirsSnap.commit ? { commit: theirsSnap.commit } : {}),
    ...(theirsSnap.version ? { version: theirsSnap.version } : {}),
  };
  const plan: UpgradePlan = {
    dir,
    from: { version: baseSnap.version, commit: baseSnap.commit },
    to: { ref: theirsSnap.ref, version: theirsSnap.version, commit: theirsSnap.commit },
    upToDate: false,
    actions: [],
    conflicts: [],
  };
  const writes = new Map<string, FileEntry | null>();
  const conflictKinds: { path: string; kind: string }[] = [];
  if (baseSnap.commit !== undefined && baseSnap.commit === theirsSnap.commit) {
    plan.upToDate = true;
    return { plan, writes, record, conflictKinds };
  }

  const renames = detectRenames(base, theirs);
  const renamedFrom = new Set(renames.values());
  const ours = await readOurs(dir, new Set([...base.keys(), ...theirs.keys()]));
  const labels = {
    base: `template ${baseSnap.version ?? baseSnap.commit?.slice(0, 7) ?? 'before'}`,
    theirs: `template ${theirsSnap.version ?? theirsSnap.ref ?? 'now'}`,
  };
  const conflict = (path: string, kind: 'content' | 'binary' | 'deleted-here' | 'deleted-upstream', from?: string) => {
    plan.actions.push({ path, action: 'conflict', kind, ...(from ? { from } : {}) });
    plan.conflicts.push(path);
    conflictKinds.push({ path, kind });
  };

  for (const path of [...new Set([...base.keys(), ...theirs.keys()])].sort()) {
    if (renamedFrom.has(path)) continue;
    const b = base.get(path);
    const t = theirs.get(path);
    const renamedSource = renames.get(path);
    if (renamedSource !== undefined) {
      const oldBase = base.get(renamedSource) as FileEntry;
      const oldOurs = ours.get(renamedSource);
      if (!oldOurs) continue; // the app deleted the file; the rename changes nothing for it
      const here = ours.get(path);
      if (here && !same(here, t)) {
        conflict(path, 'content', renamedSource);
        const merged = await mergeOne(path, here, undefined, t as FileEntry, labels);
        writes.set(path, merged.entry);
        continue;
      }
      const merged = same(oldOurs, oldBase)
        ? { entry: t as FileEntry }
        : await mergeOne(path, oldOurs, oldBase, t as FileEntry, labels);
      writes.set(path, merged.entry);
      writes.set(renamedSource, null);
      if (merged.conflict) conflict(path, merged.conflict, renamedSource);
      else plan.actions.push({ path, action: 'rename', from: renamedSource, merged: !same(oldOurs, oldBase) });
      if (merged.extra) writes.set(...merged.extra);
      continue;
    }
    const o = ours.get(path);
    if (b && t) {
      if (same(b, t)) {
        if (b.mode !== t.mode && o && o.mode === b.mode) {
          writes.set(path, { data: o.data, mode: t.mode });
          plan.actions.push({ path, action: 'mode' });
        }
        continue;
      }
      if (!o) {
        conflict(path, 'deleted-here');
        continue;
      }
      if (same(o, b)) {
        writes.set(path, t);
        plan.actions.push({ path, action: 'update' });
      } else if (same(o, t)) {
      } else {
        const merged = await mergeOne(path, o, b, t, labels);
        writes.set(path, merged.entry);
        if (merged.extra) writes.set(...merged.extra);
        if (merged.conflict) conflict(path, merged.conflict);
        else plan.actions.push({ path, action: 'merge' });
      }
    } else if (b && !t) {
      if (!o) continue;
      if (same(o, b)) {
        writes.set(path, null);
        plan.actions.push({ path, action: 'delete' });
      } else conflict(path, 'deleted-upstream');
    } else if (t) {
      if (!o) {
        writes.set(path, t);
        plan.actions.push({ path, action: 'add' });
      } else if (!same(o, t)) {
        const merged = await mergeOne(path, o, undefined, t, labels);
        writes.set(path, merged.entry);
        if (merged.extra) writes.set(...merged.extra);
        if (merged.conflict) conflict(path, merged.conflict);
        else plan.actions.push({ path, action: 'merge' });
      }
    }
  }
  return { plan, writes, record, conflictKinds };
}

/**
 * Moves an app to a newer version of its template. Clean: files written and reyna.json records the new
 * template commit. Conflicts: markers written, the previous content backed up under `.reyna/upgrade/`,
 * and an E_UPGRADE_CONFLICTS error; `--continue` or `--abort` finish the job.
 */
export async function upgradeApp(ctx: Context, options: UpgradeOptions): Promise<UpgradePlan> {
  const { plan, writes, record, conflictKinds } = await planUpgrade(ctx, options);
  if (options.dryRun || plan.upToDate) return plan;
  const dir = plan.dir;
  const touched: UpgradeState['touched'] = [];
  if (conflictKinds.length) {
    // Keep what the app had, so `--abort` can put it back exactly.
    for (const path of writes.keys()) {
      const full = join(dir, path);
      const existed = await pathExists(full);
      touched.push({ path, existed });
      if (existed) {
        const info = await stat(full);
        await writeFileAtomic(join(dir, BACKUP_DIR, path), await readFile(full), info.mode & 0o777);
      }
    }
    const state: UpgradeState = { to: record, conflicts: conflictKinds, touched };
    await mkdir(join(dir, STATE_DIR), { recursive: true });
    await writeFileAtomic(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  }
  for (const [path, entry] of writes) {
    const full = join(dir, path);
    if (entry === null) await unlink(full).catch(() => {});
    else await writeFileAtomic(full, entry.data, entry.mode);
  }
  if (conflictKinds.length) {
    throw conflictsError(conflictKinds, plan);
  }
  await recordTemplate(dir, record);
  return plan;
}

/** What each kind of conflict asks of the user, beside its path in the message. */
const CONFLICT_NOTE: Record<string, string> = {
  content: '',
  binary: ` (binary: the template's version is beside it as *${THEIRS_SUFFIX})`,
  'deleted-here': ' (you deleted it, the template changed it: restore it or leave it deleted)',
  'deleted-upstream': ' (the template deleted it, you changed it: keep it or delete it)',
};

function conflictsError(conflicts: { path: string; kind: string }[], plan?: UpgradePlan): ReynaError {
  const total = conflicts.length;
  const listed = conflicts.map(({ path, kind }) => `${path}${CONFLICT_NOTE[kind] ?? ''}`);
  return new ReynaError(
    'E_UPGRADE_CONFLICTS',
    `The upgrade left ${total} conflict${total === 1 ? '' : 's'}: ${listed.join(', ')}`,
    {
      hint: "Edit the files to resolve the <<<<<<< markers (a binary file has the template's version beside it as *.template-new: keep one and delete that file), then run `reyna upgrade --continue`. `reyna upgrade --abort` puts everything back.",
      details: { conflicts: conflicts.map((c) => c.path), ...(plan ? { plan } : {}) },
    },
  );
}

/** Records the new template in reyna.json, and refreshes the schema file beside it (this reyna's schema). */
async function recordTemplate(dir: string, record: TemplateRecord): Promise<void> {
  const config: ReynaConfig = await readConfig(dir);
  const localSchema = config.$schema === SCHEMA_REF || config.$schema === LEGACY_SCHEMA_URL;
  if (localSchema) await writeFileAtomic(join(dir, SCHEMA_FILE), await serializeSchema());
  await writeConfig(dir, { ...config, ...(localSchema ? { $schema: SCHEMA_REF } : {}), template: record });
}

async function readState(dir: string): Promise<UpgradeState> {
  await readConfig(dir);
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ReynaError('E_NO_UPGRADE_IN_PROGRESS', 'There is no upgrade in progress', {
        hint: 'Start one with `reyna upgrade`.',
      });
    }
    throw error;
  }
  try {
    const state = JSON.parse(text) as UpgradeState;
    if (Array.isArray(state.conflicts) && Array.isArray(state.touched) && typeof state.to?.source === 'string') {
      return state;
    }
  } catch {
    // said below
  }
  throw new ReynaError('E_UPGRADE_STATE_INVALID', `${join(dir, STATE_FILE)} is damaged: the upgrade cannot go on`, {
    hint: `Put the files back from git (\`git checkout -- .\`) and delete ${STATE_DIR}, then run \`reyna upgrade\` again.`,
  });
}

/** What `--continue` does: the record it writes, and the conflicts that still stop it. */
export interface ContinueResult {
  dir: string;
  template: TemplateRecord;
  /** Conflicts not yet resolved; with them, only a dry run returns (the real one throws). */
  remaining: string[];
  dryRun: boolean;
}

/** Finishes an upgrade once its conflicts are resolved: records the new template commit. */
export async function continueUpgrade(
  ctx: Context,
  options: { dir?: string; dryRun?: boolean },
): Promise<ContinueResult> {
  const dir = resolve(ctx.cwd, options.dir ?? '.');
  const state = await readState(dir);
  const remaining: { path: string; kind: string }[] = [];
  for (const conflict of state.conflicts) {
    const full = join(dir, conflict.path);
    if (conflict.kind === 'binary') {
      if (await pathExists(`${full}${THEIRS_SUFFIX}`)) remaining.push(conflict);
    } else if (conflict.kind === 'content') {
      const data = await readFile(full).catch(() => undefined);
      if (data && hasConflictMarkers(data)) remaining.push(conflict);
    }
  }
  const result = { dir, template: state.to, remaining: remaining.map((c) => c.path), dryRun: options.dryRun === true };
  if (options.dryRun) return result;
  if (remaining.length) throw conflictsError(remaining);
  await recordTemplate(dir, state.to);
  await rm(join(dir, STATE_DIR), { recursive: true, force: true });
  return result;
}

/** What `--abort` does: each file the upgrade touched goes back (`restore`) or away (`delete`, it was new). */
export interface AbortResult {
  dir: string;
  restored: number;
  files: { path: string; action: 'restore' | 'delete' }[];
  dryRun: boolean;
}

/** Undoes an upgrade that stopped on conflicts: every touched file back as it was. */
export async function abortUpgrade(ctx: Context, options: { dir?: string; dryRun?: boolean }): Promise<AbortResult> {
  const dir = resolve(ctx.cwd, options.dir ?? '.');
  const state = await readState(dir);
  const files = state.touched.map(({ path, existed }) => ({ path, action: existed ? 'restore' : 'delete' }) as const);
  const result = { dir, restored: files.length, files, dryRun: options.dryRun === true };
  if (options.dryRun) return result;
  for (const { path, action } of files) {
    const full = join(dir, path);
    if (action === 'restore') {
      const backup = join(dir, BACKUP_DIR, path);
      const info = await stat(backup);
      await mkdir(dirname(full), { recursive: true });
      await writeFileAtomic(full, await readFile(backup), info.mode & 0o777);
    } else await unlink(full).catch(() => {});
  }
  await rm(join(dir, STATE_DIR), { recursive: true, force: true });
  return result;
}
