import { readdir, rm, rmdir } from 'node:fs/promises';
import { homedir as osHomedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isEmptyDir, readJsonSync, writeFileAtomic } from '../_fs.js';
import { CONFIG_FILE, readConfig, writeConfig } from '../config.js';
import type { Logger } from '../context.js';
import { ReynaError } from '../errors.js';
import type { App, CommitRequest } from '../protocol/api.js';
import {
  diffManifests,
  type Manifest,
  type ManifestDiff,
  manifestDigest,
  manifestProblems,
} from '../protocol/paths.js';
import { resolveStudio } from '../studio/credentials.js';
import { Api, type ApiOptions, followEvents } from './_api.js';
import { askedHeads, type Heads } from './_heads.js';
import {
  IGNORE_FILE,
  type LocalFile,
  type Scanner,
  type ScanResult,
  STATE_DIR,
  scanApp,
  sha256Of,
  toManifest,
} from './_scan.js';
import { downloadBlobs, type TransferOptions, uploadBlobs } from './_transfer.js';

export { memoizeJsonReads } from '../_fs.js';
export { Api, type ApiOptions, followEvents } from './_api.js';
export { FollowedHeads, type FollowedHeadsOptions, type Heads } from './_heads.js';
export {
  DEFAULT_IGNORES,
  HASH_CACHE_FILE,
  hashFile,
  IGNORE_FILE,
  type IgnoreTest,
  type LocalFile,
  loadIgnore,
  type Scanner,
  type ScanResult,
  scanTree,
  sha256Of,
  toManifest,
} from './_scan.js';
export {
  batches,
  downloadBlobs,
  inParallel,
  type Outgoing,
  type TransferOptions,
  type TransferProgress,
  uploadBlobs,
} from './_transfer.js';

export const STATE_FILE = `${STATE_DIR}/state.json`;

/** What sync and bucket functions need: where, which server as whom, and the IO to use. */
export interface SyncOptions extends TransferOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  /** From --server / REYNA_SERVER; else reyna.json's `server`, else the credentials file's default. */
  server?: string;
  /** From --token / REYNA_TOKEN. */
  token?: string;
  homedir?: string;
  fetch?: typeof globalThis.fetch;
  signal?: AbortSignal;
  logger?: Logger;
  /** Per request, in ms. */
  timeoutMs?: number;
  /** Tries per request. */
  attempts?: number;
  /** First retry pause in ms, doubled each time. */
  backoffMs?: number;
  /** `onStep('upload', 'start')` … `onStep('upload', 'done', '3 files')`, for a progress display. */
  onStep?: (step: SyncStep, state: 'start' | 'done' | 'skip', detail?: string) => void;
  /** How status and push walk the tree; the sync daemon passes one that remembers what it saw. */
  scanner?: Scanner;
  /** How status learns the app's head (default: it asks); the sync daemon passes FollowedHeads. */
  heads?: Heads;
}

export type SyncStep = 'scan' | 'compare' | 'upload' | 'commit' | 'download' | 'write';

/** What this working copy last synced: the revision and its manifest, so `status` needs no download. */
export interface SyncState {
  version: 1;
  appId: string;
  server: string;
  revision: string | null;
  files: Manifest;
  syncedAt: string;
}

/** Opens the transfer client for `options`, with `fallbackServer` (reyna.json's) before the credentials default. */
export async function openApi(options: SyncOptions, fallbackServer?: string): Promise<Api> {
  const target = await resolveStudio({
    env: options.env,
    server: options.server || fallbackServer,
    token: options.token,
    homedir: options.homedir ?? osHomedir(),
  });
  const apiOptions: ApiOptions = {
    server: target.server,
    token: target.token,
    fetch: options.fetch,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    attempts: options.attempts,
    backoffMs: options.backoffMs,
  };
  return new Api(apiOptions);
}

export async function readState(root: string): Promise<SyncState | undefined> {
  try {
    const data = readJsonSync(join(root, STATE_FILE)) as SyncState;
    return data?.version === 1 ? data : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/**
 * Records that this copy is now at `revision` of the app, whose manifest is `files`: a SyncState, written whole.
 * `filesJson` is `JSON.stringify(files)`, passed in when made beforehand (a push makes it while the server commits).
 */
function writeSynced(
  root: string,
  appId: string,
  server: string,
  revision: string | null,
  files: Manifest,
  filesJson = JSON.stringify(files),
) {
  // SyncState's keys in order, `files` spliced in as it is.
  const head = JSON.stringify({ version: 1, appId, server, revision }).slice(0, -1);
  const syncedAt = new Date().toISOString();
  const state: SyncState = { version: 1, appId, server, revision, files, syncedAt };
  const text = `${head},"files":${filesJson},"syncedAt":${JSON.stringify(syncedAt)}}\n`;
  return writeFileAtomic(join(root, STATE_FILE), text, 0o644, { json: state });
}

interface Linked {
  root: string;
  appId: string;
  api: Api;
  state: SyncState | undefined;
  /** The manifest of the last-synced revision ({} when none). */
  base: Manifest;
  baseRevision: string | null;
}

async function openLinked(options: SyncOptions): Promise<Linked> {
  const root = resolve(options.cwd);
  const config = await readConfig(root);
  if (!config.appId) {
    throw new ReynaError('E_NOT_LINKED', `${config.name} is not linked to an app on a studio server`, {
      hint: 'Run `reyna apps create` to make one, or `reyna link <APP_ID>` to use an existing one.',
    });
  }
  const api = await openApi(options, config.server);
  let state = await readState(root);
  // A state of another app (re-linked) says nothing about this one.
  if (state && state.appId !== config.appId) state = undefined;
  return { root, appId: config.appId, api, state, base: state?.files ?? {}, baseRevision: state?.revision ?? null };
}

/** The scanner of a command on its own: a walk of the whole tree, every time. */
const walk: Scanner = (root, deferSave) => scanApp(root, { deferSave });

function sameEntry(a: Manifest[string] | undefined, b: Manifest[string] | undefined): boolean {
  if (!a || !b) return a === b;
  return a.sha256 === b.sha256 && a.mode === b.mode;
}

function timed<T>(options: SyncOptions, step: SyncStep, run: () => Promise<T>, detail?: (value: T) => string) {
  options.onStep?.(step, 'start');
  return run().then((value) => {
    options.onStep?.(step, 'done', detail?.(value));
    return value;
  });
}

// Apps

export interface AppResult {
  app: App;
  server: string;
  dir?: string;
}

/** Creates an app on the server and links the current app to it (writes `appId` to reyna.json). */
export async function createApp(options: SyncOptions & { name?: string }): Promise<AppResult> {
  const root = resolve(options.cwd);
  const config = await readConfig(root);
  if (config.appId) {
    throw new ReynaError('E_ALREADY_LINKED', `${CONFIG_FILE} is already linked to app ${config.appId}`, {
      hint: 'Use `reyna link <APP_ID>` to point it at another app, or remove "appId" from reyna.json first.',
      details: { appId: config.appId },
    });
  }
  const api = await openApi(options, config.server);
  const app = await api.createApp(options.name ?? config.name);
  await writeConfig(root, { ...config, appId: app.id });
  await writeSynced(root, app.id, api.server, null, {});
  return { app, server: api.server, dir: root };
}

/**
 * What `reyna link` does to a directory: the head becomes what this copy is compared to (as if it had been
 * pulled), the head's files the directory lacks are written (all of them in an empty directory, like a clone),
 * and whatever the directory holds already is kept: where it differs from the head it is a local change.
 */
export interface LinkPlan {
  appId: string;
  server: string;
  head: string | null;
  /** Files of the head with nothing at their path here: written. */
  write: { path: string; sha256: string; size: number; mode: number }[];
  /** The tree once they are written. */
  files: Manifest;
  /** How that tree differs from the head: what `status` shows and `push` sends. */
  changes: ManifestDiff;
  /** The directory was linked to this app already (with a synced state): nothing to do. */
  linked: boolean;
}

/**
 * The link plan from the head's manifest, the scanned tree, and which head paths are taken on disk by something
 * the scan left out (ignored files, or a file where the head has a directory): those are not written.
 */
export function planLinkFrom(input: {
  appId: string;
  server: string;
  head: string | null;
  remote: Manifest;
  local: Manifest;
  taken: ReadonlySet<string>;
}): LinkPlan {
  const after: Manifest = { ...input.local };
  const write: LinkPlan['write'] = [];
  for (const [path, r] of Object.entries(input.remote).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (Object.hasOwn(input.local, path) || input.taken.has(path)) continue;
    write.push({ path, sha256: r.sha256, size: r.size, mode: r.mode });
    after[path] = r;
  }
  return {
    appId: input.appId,
    server: input.server,
    head: input.head,
    write,
    files: after,
    changes: diffManifests(input.remote, after),
    linked: false,
  };
}

/**
 * `reyna link APP_ID`: makes this directory a working copy of an existing app (see LinkPlan). A directory linked
 * to another app is refused unless `force`; one linked to this app already is left as it is.
 */
export async function linkApp(
  options: SyncOptions & { appId: string; force?: boolean },
): Promise<AppResult & { head: string | null; plan: LinkPlan; summary: TransferSummary }> {
  const started = performance.now();
  const root = resolve(options.cwd);
  const config = await readConfigIfAny(root);
  const state = await readState(root);
  const api = await openApi(options, config?.server);
  const app = await api.getApp(options.appId);
  const current = config?.appId ?? state?.appId;
  if (current !== undefined && current !== app.id && !options.force) {
    throw new ReynaError('E_ALREADY_LINKED', `${root} is linked to app ${current}, not ${app.id}`, {
      hint: `Run \`reyna link ${app.id} --force\` to link it to ${app.name} instead (your files are kept), or link another directory.`,
      details: { appId: current },
    });
  }
  const remote = app.head === null ? {} : (await api.getRevision(app.id, app.head)).files;
  const summary = (bytesReceived: number, transferred: number): TransferSummary => ({
    files: Object.keys(remote).length,
    transferred,
    bytesSent: 0,
    bytesReceived,
    bytesSkipped: Object.values(remote).reduce((sum, f) => sum + f.size, 0) - bytesReceived,
    durationMs: Math.round(performance.now() - started),
  });
  // Linked before, and synced since (or nothing to sync): re-recording the head would hide the server's changes.
  if (config?.appId === app.id && state?.appId === app.id && (state.revision !== null || app.head === null)) {
    const plan: LinkPlan = {
      appId: app.id,
      server: api.server,
      head: app.head,
      write: [],
      files: {},
      changes: { added: [], changed: [], removed: [] },
      linked: true,
    };
    return { app, server: api.server, dir: root, head: app.head, plan, summary: summary(0, 0) };
  }
  const local = toManifest((await scanApp(root)).files);
  const taken = new Set<string>();
  for (const path of Object.keys(remote))
    if (!Object.hasOwn(local, path) && (await occupied(root, path))) taken.add(path);
  let plan = planLinkFrom({ appId: app.id, server: api.server, head: app.head, remote, local, taken });
  const bytesReceived = await writeFiles(api, root, plan.write, options);
  await writeSynced(root, app.id, api.server, app.head, remote);
  const renamed = await nameApp(root, app);
  if (renamed) {
    const files = { ...plan.files, [CONFIG_FILE]: renamed };
    plan = { ...plan, files, changes: diffManifests(remote, files) };
  }
  return {
    app,
    server: api.server,
    dir: root,
    head: app.head,
    plan,
    summary: summary(bytesReceived, new Set(plan.write.map((w) => w.sha256)).size),
  };
}

/** reyna.json, or undefined where there is none (an invalid one still throws). */
async function readConfigIfAny(root: string) {
  return readConfig(root).catch((error: unknown) => {
    if (error instanceof ReynaError && error.code === 'E_NOT_AN_APP') return undefined;
    throw error;
  });
}

/**
 * Makes the copy's reyna.json (its own, or the one that came with the app's files) name the app it is linked to;
 * answers its new manifest entry when it had to be written.
 */
async function nameApp(root: string, app: App): Promise<Manifest[string] | undefined> {
  const config = await readConfigIfAny(root);
  if (config?.appId === app.id) return undefined;
  await writeConfig(root, config ? { ...config, appId: app.id } : { name: app.name, appId: app.id });
  const { readFile } = await import('node:fs/promises');
  const data = await readFile(join(root, CONFIG_FILE));
  return { sha256: sha256Of(data), size: data.byteLength, mode: 0o644 };
}

/** Whether something (a file the scan ignored, or a file where a directory would go) is at `path` already. */
async function occupied(root: string, path: string): Promise<boolean> {
  const { lstat } = await import('node:fs/promises');
  try {
    await lstat(join(root, path));
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'ENOTDIR') return true;
    throw error;
  }
}

export async function listApps(options: SyncOptions): Promise<{ server: string; apps: App[] }> {
  const api = await openApi(options, await configServer(options.cwd));
  return { server: api.server, apps: (await api.listApps()).apps };
}

export async function deleteApp(options: SyncOptions & { appId: string }): Promise<{ server: string; app: App }> {
  const api = await openApi(options, await configServer(options.cwd));
  const app = await api.getApp(options.appId);
  await api.deleteApp(app.id);
  return { server: api.server, app };
}

async function configServer(cwd: string): Promise<string | undefined> {
  try {
    return (await readConfig(resolve(cwd))).server;
  } catch {
    return undefined;
  }
}

// Status

export interface StatusResult {
  appId: string;
  server: string;
  /** The revision this copy last synced (null before the first push or pull). */
  base: string | null;
  /** The server's newest revision. */
  head: string | null;
  /** True when the server has revisions this copy has not pulled. */
  serverMoved: boolean;
  /** Local changes since the last-synced revision. */
  added: string[];
  modified: string[];
  deleted: string[];
  clean: boolean;
  /** What changed on the server between the last-synced revision and the head (empty when it did not move). */
  remote: { added: string[]; modified: string[]; deleted: string[] };
  /** Paths changed here and on the server, differently: `reyna pull` stops on them unless --force. */
  conflicts: string[];
  files: number;
  hashed: number;
}

/**
 * diffManifests of the last-synced manifest and a scan's files, kept with the scan: in a process that serves many
 * commands (the sync daemon), an unchanged tree's status gets the same files and the same state again, and
 * comparing 10,000 entries would be most of its answer.
 */
const treeDiffs = new WeakMap<ReadonlyMap<string, LocalFile>, { base: Manifest; diff: ManifestDiff }>();
function treeDiff(base: Manifest, files: ReadonlyMap<string, LocalFile>): ManifestDiff {
  const kept = treeDiffs.get(files);
  if (kept?.base === base) return kept.diff;
  const diff = diffManifests(base, files);
  treeDiffs.set(files, { base, diff });
  return diff;
}

/** The working tree against the last-synced revision, and what changed on the server since. */
export async function status(options: SyncOptions): Promise<StatusResult> {
  const linked = await openLinked(options);
  // The request first, so it travels while the tree is walked.
  const asked = (options.heads ?? askedHeads).head(linked.api, linked.appId);
  const [local, head] = await Promise.all([(options.scanner ?? walk)(linked.root, false), asked]);
  const diff = treeDiff(linked.base, local.files);
  // The head's manifest is fetched (and compared) only when the server moved on: a current status is one small
  // request.
  const moved = head !== linked.baseRevision && head !== null;
  const remote = moved ? (await linked.api.getRevision(linked.appId, head)).files : linked.base;
  const server = moved ? diffManifests(linked.base, remote) : { added: [], changed: [], removed: [] };
  const conflicts = moved ? pullPlanOf(linked, head, remote, toManifest(local.files)).conflicts : [];
  return {
    appId: linked.appId,
    server: linked.api.server,
    base: linked.baseRevision,
    head,
    serverMoved: head !== linked.baseRevision,
    added: diff.added,
    modified: diff.changed,
    deleted: diff.removed,
    clean: diff.added.length + diff.changed.length + diff.removed.length === 0,
    remote: { added: server.added, modified: server.changed, deleted: server.removed },
    conflicts,
    files: local.files.size,
    hashed: local.hashed,
  };
}

// Push

/** What a push will do: plain data, printed by `--dry-run`. */
export interface PushPlan {
  appId: string;
  server: string;
  parent: string | null;
  files: Manifest;
  changes: ManifestDiff;
  /** Distinct blobs the server lacks, with a path that holds each. */
  upload: { path: string; sha256: string; size: number }[];
  totalBytes: number;
  /** False when the tree equals the last-synced revision and the server did not move: nothing to commit. */
  commit: boolean;
  message?: string;
}

export interface TransferSummary {
  files: number;
  /** Blobs sent or received. */
  transferred: number;
  bytesSent: number;
  bytesReceived: number;
  /** Bytes of the tree that did not travel because the other side had them. */
  bytesSkipped: number;
  durationMs: number;
}

export interface PushResult {
  plan: PushPlan;
  revision: string | null;
  summary: TransferSummary;
}

function conflict(appId: string, base: string | null, head: string | null): ReynaError {
  return new ReynaError(
    'E_PUSH_CONFLICT',
    `The server moved on: app ${appId} is at ${head ?? 'no revision'}, this copy is based on ${base ?? 'no revision'}. Nothing was changed.`,
    {
      hint: 'Run `reyna pull` to bring in the server’s changes (your edits are kept unless they collide), then `reyna push` again.',
      details: { appId, base, head },
    },
  );
}

/** Computes what a push sends: the tree's manifest, what changed since the last sync, and what the server lacks. */
export async function planPush(options: SyncOptions & { message?: string }): Promise<PushPlan & PushWork> {
  const linked = await openLinked(options);
  // The request first, so it travels while the tree is walked.
  const head = linked.api.getApp(linked.appId);
  head.catch(() => {}); // awaited below
  // The hash cache is written later, while the push waits on the server; now, when planning fails.
  const local = await timed(
    options,
    'scan',
    () => (options.scanner ?? walk)(linked.root, true),
    (s) => `${s.files.size} files, ${s.hashed} read`,
  );
  try {
    return await planFromScan(options, linked, local, await head);
  } catch (error) {
    await local.save();
    throw error;
  }
}

async function planFromScan(
  options: SyncOptions & { message?: string },
  linked: Linked,
  local: ScanResult,
  app: App,
): Promise<PushPlan & PushWork> {
  const files = toManifest(local.files);
  const changes = diffManifests(linked.base, files);
  // The last-synced revision's paths passed every rule on the server already: with no new path, nothing to check.
  if (changes.added.length > 0) {
    const added = new Set(changes.added);
    const problems = manifestProblems(Object.keys(files), { has: (path) => !added.has(path) });
    if (problems.length > 0) {
      const first = problems[0] as { path: string; problem: string };
      throw new ReynaError('E_INVALID_PATH', `"${first.path}" ${first.problem}`, {
        hint: `Rename it, or list it in ${IGNORE_FILE}.`,
        details: { problems },
      });
    }
  }
  if (app.head !== linked.baseRevision) throw conflict(linked.appId, linked.baseRevision, app.head);
  const changedCount = changes.added.length + changes.changed.length + changes.removed.length;
  const commit = changedCount > 0 || app.head === null;
  // Blobs of the last-synced revision are on the server already; ask only about the new ones.
  const candidates = new Map<string, { path: string; sha256: string; size: number }>();
  for (const path of [...changes.added, ...changes.changed]) {
    const f = files[path] as Manifest[string];
    if (!candidates.has(f.sha256)) candidates.set(f.sha256, { path, sha256: f.sha256, size: f.size });
  }
  const asking = timed(
    options,
    'compare',
    () => (candidates.size > 0 ? linked.api.missing([...candidates.keys()]) : Promise.resolve([])),
    (m) => `${changedCount} changed, ${m.length} to send`,
  );
  asking.catch(() => {}); // awaited below
  // The commit's digest of the tree, made while the question travels.
  await new Promise<void>((resolve) => setImmediate(resolve));
  const digest = commit && linked.baseRevision !== null ? manifestDigest(files) : undefined;
  const missing = await asking;
  const upload = missing.map((sha) => candidates.get(sha) as { path: string; sha256: string; size: number });
  upload.sort((a, b) => (a.path < b.path ? -1 : 1));
  return {
    linked,
    saveCache: local.save,
    digest,
    // Once committed, the state's manifest is `files`: the tree differs from it in nothing.
    synced: () => treeDiffs.set(local.files, { base: files, diff: { added: [], changed: [], removed: [] } }),
    appId: linked.appId,
    server: linked.api.server,
    parent: linked.baseRevision,
    files,
    changes,
    upload,
    totalBytes: Object.values(files).reduce((sum, f) => sum + f.size, 0),
    commit,
    ...(options.message === undefined ? {} : { message: options.message }),
  };
}

/** What a push plan carries for applyPush beyond the plain data. */
interface PushWork {
  linked: Linked;
  /** Writes the scan's hash cache (once); left until the push waits on the server. */
  saveCache: () => Promise<void>;
  /** manifestDigest of `files`, for a commit on a parent. */
  digest: string | undefined;
  /** Called once `files` is the synced state's manifest: the next status compares nothing. */
  synced: () => void;
}

/** The plan without its work: what a push answers. */
function plainPlan(plan: PushPlan & PushWork): PushPlan {
  const { linked: _linked, saveCache: _saveCache, digest: _digest, synced: _synced, ...plain } = plan;
  return plain;
}

/**
 * Sends what the plan says the server lacks, then commits the manifest on top of the last-synced revision. An
 * interrupted push leaves only uploaded blobs (no revision), and the next one sends only what is still missing.
 */
export async function applyPush(
  plan: PushPlan & PushWork,
  options: SyncOptions,
  started = performance.now(),
): Promise<PushResult> {
  const { linked, saveCache, digest } = plan;
  const outgoing = plan.upload.map((u) => ({
    ...u,
    name: u.path,
    read: async () => (await import('node:fs/promises')).readFile(join(linked.root, u.path)),
  }));
  options.onStep?.('upload', outgoing.length > 0 ? 'start' : 'skip');
  const uploading = outgoing.length > 0 ? uploadBlobs(linked.api, outgoing, options) : Promise.resolve(0);
  uploading.catch(() => {}); // awaited below
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
  let revision = plan.parent;
  let bytesSent = 0;
  try {
    // The hash cache is written while the upload travels (its requests go out first): a push killed during it
    // then hashes nothing again.
    if (outgoing.length > 0) {
      await nextTurn();
      await saveCache();
    }
    bytesSent = await uploading;
    if (outgoing.length > 0) options.onStep?.('upload', 'done', `${outgoing.length} files`);
    if (plan.commit) {
      options.onStep?.('commit', 'start');
      const committing = (options.heads ?? askedHeads).committed(linked.api, plan.appId, () =>
        commitPlan(linked, plan, digest),
      );
      committing.catch(() => {}); // awaited below
      // What is left to write is made while the server commits: the hash cache (if not yet), the state's manifest.
      await nextTurn();
      await saveCache();
      const filesJson = JSON.stringify(plan.files);
      try {
        revision = (await committing).id;
      } catch (error) {
        if (error instanceof ReynaError && error.code === 'E_HEAD_MOVED') {
          const head = (error.details?.head as string | undefined) ?? null;
          throw conflict(plan.appId, plan.parent, head);
        }
        throw error;
      }
      options.onStep?.('commit', 'done', revision ?? undefined);
      await writeSynced(linked.root, plan.appId, plan.server, revision, plan.files, filesJson);
      plan.synced();
    } else options.onStep?.('commit', 'skip');
  } finally {
    // Also when the push fails: the hashes are right whatever the server said, and the next push needs them.
    await saveCache();
  }
  return {
    plan: plainPlan(plan),
    revision,
    summary: {
      files: Object.keys(plan.files).length,
      transferred: outgoing.length,
      bytesSent,
      bytesReceived: 0,
      bytesSkipped: plan.totalBytes - bytesSent,
      durationMs: Math.round(performance.now() - started),
    },
  };
}

/**
 * Commits the plan's manifest: on top of a parent, as the changes to it (one entry for a one-file change, not the
 * whole tree) with the digest of the manifest they give. A server whose parent differs from this copy's record
 * (E_BASE_MISMATCH), or one that predates changes (E_BAD_REQUEST), gets the whole manifest instead.
 */
async function commitPlan(linked: Linked, plan: PushPlan, digest: string | undefined) {
  const message = plan.message === undefined ? {} : { message: plan.message };
  const whole = () => linked.api.commit(plan.appId, { parent: plan.parent, files: plan.files as Files, ...message });
  if (plan.parent === null || digest === undefined) return whole();
  const changes: Record<string, Files[string] | null> = {};
  for (const path of [...plan.changes.added, ...plan.changes.changed])
    changes[path] = plan.files[path] as Files[string];
  for (const path of plan.changes.removed) changes[path] = null;
  try {
    return await linked.api.commit(plan.appId, {
      parent: plan.parent,
      changes,
      digest,
      ...message,
    });
  } catch (error) {
    if (error instanceof ReynaError && (error.code === 'E_BASE_MISMATCH' || error.code === 'E_BAD_REQUEST'))
      return whole();
    throw error;
  }
}
type Files = NonNullable<CommitRequest['files']>;

/** Plan, then apply: `reyna push`. */
export async function push(options: SyncOptions & { message?: string; dryRun?: boolean }): Promise<PushResult> {
  const started = performance.now();
  const plan = await planPush(options);
  if (options.dryRun) {
    await plan.saveCache();
    const wouldSend = plan.upload.reduce((sum, u) => sum + u.size, 0);
    return {
      plan: plainPlan(plan),
      revision: plan.parent,
      summary: {
        files: Object.keys(plan.files).length,
        transferred: 0,
        bytesSent: 0,
        bytesReceived: 0,
        bytesSkipped: plan.totalBytes - wouldSend,
        durationMs: Math.round(performance.now() - started),
      },
    };
  }
  return applyPush(plan, options, started);
}

// Pull

export interface PullPlan {
  appId: string;
  server: string;
  /** The revision the tree is brought to (null when the app has none yet). */
  head: string | null;
  base: string | null;
  write: { path: string; sha256: string; size: number; mode: number }[];
  remove: string[];
  /** Local changes the pull would overwrite or delete; the pull stops on them unless forced. */
  conflicts: string[];
  /** Local changes to paths the server did not change; kept as they are. */
  keptLocal: string[];
  remote: Manifest;
}

export interface PullResult {
  plan: PullPlan;
  revision: string | null;
  upToDate: boolean;
  summary: TransferSummary;
}

/**
 * Three-way plan: for each path, the last-synced revision (base), the server's head (remote) and the tree
 * (local). The server's change is applied where the tree still matches base; where both changed it is a
 * conflict, unless they changed it the same way.
 */
export function planPullFrom(input: {
  appId: string;
  server: string;
  base: Manifest;
  baseRevision: string | null;
  remote: Manifest;
  head: string | null;
  local: Manifest;
}): PullPlan {
  const { base, remote, local } = input;
  const write: PullPlan['write'] = [];
  const remove: string[] = [];
  const conflicts: string[] = [];
  const keptLocal: string[] = [];
  const paths = new Set([...Object.keys(remote), ...Object.keys(base)]);
  const get = (m: Manifest, p: string) => (Object.hasOwn(m, p) ? m[p] : undefined);
  for (const path of [...paths].sort()) {
    const r = get(remote, path);
    const b = get(base, path);
    const l = get(local, path);
    if (sameEntry(r, l)) continue;
    if (sameEntry(r, b)) {
      keptLocal.push(path);
      continue;
    }
    if (!sameEntry(l, b)) conflicts.push(path);
    if (r) write.push({ path, sha256: r.sha256, size: r.size, mode: r.mode });
    else remove.push(path);
  }
  return {
    appId: input.appId,
    server: input.server,
    head: input.head,
    base: input.baseRevision,
    write,
    remove,
    conflicts,
    keptLocal,
    remote,
  };
}

/** The three-way plan of this linked copy, whose tree is `local`, against the server's `head` (manifest `remote`). */
function pullPlanOf(linked: Linked, head: string | null, remote: Manifest, local: Manifest): PullPlan {
  const { appId, base, baseRevision } = linked;
  return planPullFrom({ appId, server: linked.api.server, base, baseRevision, remote, head, local });
}

export async function planPull(options: SyncOptions): Promise<PullPlan & { linked: Linked }> {
  const linked = await openLinked(options);
  const [local, app] = await Promise.all([
    timed(
      options,
      'scan',
      () => scanApp(linked.root),
      (s) => `${s.files.size} files, ${s.hashed} read`,
    ),
    linked.api.getApp(linked.appId),
  ]);
  const remote = await timed(options, 'compare', async () =>
    app.head === null
      ? {}
      : app.head === linked.baseRevision
        ? linked.base
        : (await linked.api.getRevision(linked.appId, app.head)).files,
  );
  return { ...pullPlanOf(linked, app.head, remote, toManifest(local.files)), linked };
}

/** Writes what a pull plan says, atomically per file; refuses on conflicts unless `force`. */
export async function applyPull(
  plan: PullPlan & { linked: Linked },
  options: SyncOptions & { force?: boolean },
  started = performance.now(),
): Promise<PullResult> {
  const { linked, ...plain } = plan;
  if (plan.conflicts.length > 0 && !options.force) {
    const shown = plan.conflicts.slice(0, 20).join('\n  ');
    throw new ReynaError(
      'E_PULL_CONFLICT',
      `The pull would overwrite local changes to ${plan.conflicts.length} file${plan.conflicts.length === 1 ? '' : 's'}:\n  ${shown}${plan.conflicts.length > 20 ? '\n  …' : ''}\nNothing was changed.`,
      {
        hint: 'Push them first if they should win (`reyna push` tells you when it cannot), move them aside, or run `reyna pull --force` to take the server’s version.',
        details: { conflicts: plan.conflicts, head: plan.head },
      },
    );
  }
  const bytesReceived = await writeFiles(linked.api, linked.root, plan.write, options);
  options.onStep?.('write', plan.remove.length > 0 ? 'start' : 'skip');
  for (const path of plan.remove) await removeFile(linked.root, path);
  if (plan.remove.length > 0) options.onStep?.('write', 'done', `${plan.remove.length} removed`);
  const upToDate = plan.head === plan.base && plan.write.length === 0 && plan.remove.length === 0;
  if (!upToDate || !linked.state) {
    await writeSynced(linked.root, plan.appId, plan.server, plan.head, plan.remote);
  }
  const totalBytes = Object.values(plan.remote).reduce((sum, f) => sum + f.size, 0);
  return {
    plan: plain,
    revision: plan.head,
    upToDate,
    summary: {
      files: Object.keys(plan.remote).length,
      transferred: new Set(plan.write.map((w) => w.sha256)).size,
      bytesSent: 0,
      bytesReceived,
      bytesSkipped: totalBytes - bytesReceived,
      durationMs: Math.round(performance.now() - started),
    },
  };
}

/** Downloads each distinct blob once and writes every path that holds it (temp file + rename, mode kept). */
async function writeFiles(api: Api, root: string, write: PullPlan['write'], options: SyncOptions): Promise<number> {
  options.onStep?.('download', write.length > 0 ? 'start' : 'skip');
  if (write.length === 0) return 0;
  const byHash = new Map<string, PullPlan['write']>();
  for (const w of write) byHash.set(w.sha256, [...(byHash.get(w.sha256) ?? []), w]);
  const bytes = await downloadBlobs(
    api,
    [...byHash.keys()].map((sha256) => ({ sha256, size: (byHash.get(sha256) as PullPlan['write'])[0]?.size ?? 0 })),
    async (sha256, data) => {
      for (const w of byHash.get(sha256) ?? []) await writeFileAtomic(join(root, w.path), data, w.mode);
    },
    options,
  );
  options.onStep?.('download', 'done', `${write.length} files`);
  return bytes;
}

async function removeFile(root: string, path: string): Promise<void> {
  await rm(join(root, path), { force: true });
  // Leave no empty directories behind, up to the root.
  let dir = dirname(path);
  while (dir !== '.' && dir !== '') {
    const abs = join(root, dir);
    try {
      if ((await readdir(abs)).length > 0) break;
      await rmdir(abs);
    } catch {
      break;
    }
    dir = dirname(dir);
  }
}

/** Plan, then apply: `reyna pull`. */
export async function pull(options: SyncOptions & { force?: boolean; dryRun?: boolean }): Promise<PullResult> {
  const started = performance.now();
  const plan = await planPull(options);
  if (options.dryRun) {
    const { linked: _linked, ...plain } = plan;
    return {
      plan: plain,
      revision: plan.base,
      upToDate: plan.head === plan.base && plan.write.length === 0 && plan.remove.length === 0,
      summary: {
        files: Object.keys(plan.remote).length,
        transferred: 0,
        bytesSent: 0,
        bytesReceived: 0,
        bytesSkipped: 0,
        durationMs: Math.round(performance.now() - started),
      },
    };
  }
  return applyPull(plan, options, started);
}

/**
 * `reyna pull --watch`: pulls now and again whenever the server announces a new revision of the app
 * (`app.revision.created.<appId>` over SSE), until `signal` aborts. A pull that stops on a conflict is reported
 * through `onError` and the watch goes on.
 */
export async function watchPull(
  options: SyncOptions & {
    force?: boolean;
    onPull: (result: PullResult) => void;
    onError: (error: unknown) => void;
  },
): Promise<void> {
  const linked = await openLinked(options);
  let running: Promise<void> | undefined;
  let again = false;
  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          options.onPull(await pull(options));
        } catch (error) {
          if (options.signal?.aborted) return;
          options.onError(error);
        }
      } while (again && !options.signal?.aborted);
    })().finally(() => {
      running = undefined;
    });
  };
  await followEvents(linked.api, {
    subject: `app.revision.created.${linked.appId}`,
    // Pull on every (re)connect: revisions made while the stream was down are not missed.
    onOpen: run,
    onEvent: run,
  });
  await running;
}

// Clone

export interface CloneResult extends PullResult {
  app: App;
  dir: string;
}

/** A fresh working copy of an app's head in `dir` (default: the app's name), linked and synced. */
export async function cloneApp(options: SyncOptions & { appId: string; dir?: string }): Promise<CloneResult> {
  const started = performance.now();
  const api = await openApi(options);
  const app = await api.getApp(options.appId);
  const dir = resolve(options.cwd, options.dir ?? app.name);
  if (!(await isEmptyDir(dir))) {
    throw new ReynaError('E_DIR_NOT_EMPTY', `${dir} exists and is not empty`, {
      hint: 'Clone into a new directory: `reyna clone <APP_ID> <DIR>`.',
    });
  }
  const remote = app.head === null ? {} : (await api.getRevision(app.id, app.head)).files;
  const plan = planPullFrom({
    appId: app.id,
    server: api.server,
    base: {},
    baseRevision: null,
    remote,
    head: app.head,
    local: {},
  });
  const bytesReceived = await writeFiles(api, dir, plan.write, options);
  await writeSynced(dir, app.id, api.server, app.head, remote);
  await nameApp(dir, app);
  const totalBytes = Object.values(remote).reduce((sum, f) => sum + f.size, 0);
  return {
    app,
    dir,
    plan,
    revision: app.head,
    upToDate: false,
    summary: {
      files: Object.keys(remote).length,
      transferred: new Set(plan.write.map((w) => w.sha256)).size,
      bytesSent: 0,
      bytesReceived,
      bytesSkipped: totalBytes - bytesReceived,
      durationMs: Math.round(performance.now() - started),
    },
  };
}
