import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Context } from '../../context.js';
import { ReynaError } from '../../errors.js';
import { appIdBinding } from '../../inject/index.js';
import { API_PREFIX } from '../../protocol/api.js';
import { EdgeDeployment, EdgeDeploymentList, type EdgeDeployRequest } from '../../protocol/edge.js';
// The same client and uploader as push: a timeout per request, retries with backoff on 429/5xx (Retry-After).
import { Api } from '../../sync/_api.js';
import { uploadBlobs } from '../../sync/_transfer.js';
import { buildDirs, listFiles, readBytes, readClientFiles } from '../_build-files.js';
import type { DeploymentRecordBase, DeployPlanBase, DeployResultBase, DeployTarget } from '../target.js';

const DEFAULT_COMPATIBILITY_DATE = '2026-04-01';
/** Bytes per `POST /v1/blobs/batch` (the server takes up to 64 MiB by default). */
const BATCH_BYTES = 8 * 1024 * 1024;
const BATCH_BLOBS = 250;

/** Where the studio server is and who we are on it (`resolveStudio`), and how patiently to talk to it. */
export interface LocalConnection {
  server: string;
  token: string;
  fetch?: typeof globalThis.fetch;
  /** Per request, in ms (default 60 s). */
  timeoutMs?: number;
  /** Tries per request, the first included (default 4). */
  attempts?: number;
  /** First pause before a retry in ms, doubled each time (default 250); Retry-After wins. */
  backoffMs?: number;
}

export interface LocalDeployInput {
  /** The build output directory (`reyna build`), relative to ctx.cwd: `client/**` and `worker/*.js`. */
  dir: string;
  appId: string;
  /** The app's name in reyna.json (for messages; the server names the URL after its own app record). */
  appName: string;
  compatibilityDate?: string;
  /** Serve index.html for paths with no file (default true: Reyna's templates are single-page apps). */
  spa?: boolean;
  /** Paths the Worker answers before static files are looked up (default `["/api/*"]`). */
  runWorkerFirst?: string[];
  message?: string;
}

export interface LocalPlannedFile {
  /** The path it is served at, e.g. `/assets/app.js`. */
  path: string;
  sha256: string;
  size: number;
  contentType: string;
  /** True for HTML files, which carry the APP_ID. */
  injected: boolean;
  /** True when the server lacks these bytes. */
  upload: boolean;
}

export interface LocalPlannedModule {
  name: string;
  sha256: string;
  size: number;
  upload: boolean;
}

/** What a deploy to the studio server's local edge will do; plain JSON, printed by `reyna deploy --dry-run`. */
export interface LocalPlan extends DeployPlanBase {
  target: 'local';
  /** Absolute build directory the plan was made from. */
  dir: string;
  server: string;
  appId: string;
  appName: string;
  mainModule: string;
  compatibilityDate: string;
  files: LocalPlannedFile[];
  modules: LocalPlannedModule[];
  bindings: { type: string; name: string; text?: string }[];
  assetsConfig: { not_found_handling: 'single-page-application' | 'none'; run_worker_first: string[] };
  bytes: { files: number; worker: number };
  /** Distinct blobs (files and modules) the server lacks, and those it has. */
  upload: { files: number; bytes: number };
  skip: { files: number; bytes: number };
  message?: string;
  warnings: string[];
}

export type LocalDeployEvent =
  | { type: 'uploading'; files: number; bytes: number }
  | { type: 'uploaded'; files: number; bytes: number }
  | { type: 'deployed'; versionId: string };

export interface LocalDeployResult extends DeployResultBase {
  target: 'local';
  /** `http://<app>.localhost:<edge-port>/` */
  url: string;
  versionId: string;
  deploymentId: string;
  durationMs: number;
}

export interface LocalDeploymentRecord extends DeploymentRecordBase {
  url: string;
  status: string;
  rollbackOf?: string;
  bytesUploaded: number;
  createdBy: string;
}

interface Blob {
  sha256: string;
  size: number;
  bytes: Uint8Array;
}

interface Loaded {
  files: (Omit<LocalPlannedFile, 'upload'> & { bytes: Uint8Array })[];
  modules: (Omit<LocalPlannedModule, 'upload'> & { bytes: Uint8Array })[];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function load(dir: string, appId: string): Promise<Loaded> {
  const { clientDir, workerDir } = await buildDirs(dir);
  const files: Loaded['files'] = (await readClientFiles(clientDir, appId)).map((f) => ({
    ...f,
    sha256: sha256(f.bytes),
    size: f.bytes.byteLength,
  }));
  const modules: Loaded['modules'] = [];
  for (const rel of await listFiles(workerDir)) {
    if (!/\.(?:m?js|wasm)$/.test(rel)) continue;
    const bytes = await readBytes(join(workerDir, rel));
    modules.push({ name: rel, sha256: sha256(bytes), size: bytes.byteLength, bytes });
  }
  return { files, modules };
}

function client(connection: LocalConnection, ctx: Context): Api {
  return new Api({
    server: connection.server,
    token: connection.token,
    ...(connection.fetch ? { fetch: connection.fetch } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(connection.timeoutMs === undefined ? {} : { timeoutMs: connection.timeoutMs }),
    ...(connection.attempts === undefined ? {} : { attempts: connection.attempts }),
    ...(connection.backoffMs === undefined ? {} : { backoffMs: connection.backoffMs }),
  });
}

function distinct(loaded: Loaded): Blob[] {
  const byHash = new Map<string, Blob>();
  for (const f of [...loaded.files, ...loaded.modules]) byHash.set(f.sha256, f);
  return [...byHash.values()];
}

/**
 * Reads a build and says what a deploy to the studio server's local edge would do: every static file with its
 * SHA-256 and size (HTML with the APP_ID injected), the Worker's modules, which of them the server lacks, and
 * the bindings. Asks the server only which hashes it lacks; uploads nothing.
 */
export async function planLocalDeploy(
  ctx: Context,
  input: LocalDeployInput,
  connection: LocalConnection,
): Promise<LocalPlan> {
  const dir = resolve(ctx.cwd, input.dir);
  const loaded = await load(dir, input.appId);
  const blobs = distinct(loaded);
  const missing = new Set(await client(connection, ctx).missing(blobs.map((b) => b.sha256)));
  const toUpload = blobs.filter((b) => missing.has(b.sha256));
  const sum = (list: { size: number }[]) => list.reduce((n, b) => n + b.size, 0);
  const spa = input.spa ?? true;
  return {
    target: 'local',
    dir,
    server: connection.server,
    appId: input.appId,
    appName: input.appName,
    mainModule: 'index.js',
    compatibilityDate: input.compatibilityDate ?? DEFAULT_COMPATIBILITY_DATE,
    files: loaded.files.map(({ bytes: _b, ...f }) => ({ ...f, upload: missing.has(f.sha256) })),
    modules: loaded.modules.map(({ bytes: _b, ...m }) => ({ ...m, upload: missing.has(m.sha256) })),
    bindings: [appIdBinding(input.appId), { type: 'assets', name: 'ASSETS' }],
    assetsConfig: {
      not_found_handling: spa ? 'single-page-application' : 'none',
      run_worker_first: input.runWorkerFirst ?? ['/api/*'],
    },
    bytes: { files: sum(loaded.files), worker: sum(loaded.modules) },
    upload: { files: toUpload.length, bytes: sum(toUpload) },
    skip: { files: blobs.length - toUpload.length, bytes: sum(blobs) - sum(toUpload) },
    ...(input.message === undefined ? {} : { message: input.message }),
    warnings: [],
  };
}

/** Sends blobs as `application/vnd.reyna.blobs` batches, a few at a time, as push does. */
async function upload(api: Api, blobs: Blob[], onProgress?: (event: LocalDeployEvent) => void): Promise<void> {
  let sent = { files: 0, bytes: 0 };
  await uploadBlobs(
    api,
    blobs.map((b) => ({
      sha256: b.sha256,
      size: b.size,
      name: b.sha256,
      read: async () => Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength),
    })),
    {
      batchBytes: BATCH_BYTES,
      batchFiles: BATCH_BLOBS,
      concurrency: 3,
      onProgress: (p) => {
        if (p.files === sent.files) return;
        onProgress?.({ type: 'uploaded', files: p.files - sent.files, bytes: p.bytes - sent.bytes });
        sent = { files: p.files, bytes: p.bytes };
      },
    },
  );
}

/**
 * Runs a plan: uploads the blobs the server still lacks (batched), then commits the deployment, which the edge
 * serves once it is fully in place. Safe to run again: uploaded blobs are not re-sent.
 */
export async function applyLocalDeploy(
  ctx: Context,
  plan: LocalPlan,
  connection: LocalConnection,
  options: { onProgress?: (event: LocalDeployEvent) => void } = {},
): Promise<LocalDeployResult> {
  const started = performance.now();
  const loaded = await load(plan.dir, plan.appId);
  const now = [
    ...loaded.files.map((f) => `${f.path} ${f.sha256}`),
    ...loaded.modules.map((m) => `${m.name} ${m.sha256}`),
  ];
  const planned = [
    ...plan.files.map((f) => `${f.path} ${f.sha256}`),
    ...plan.modules.map((m) => `${m.name} ${m.sha256}`),
  ];
  if (now.join('\n') !== planned.join('\n')) {
    throw new ReynaError('E_PLAN_STALE', `The build in ${plan.dir} changed after the deploy was planned`, {
      hint: 'Run `reyna deploy` again to plan from the current build.',
    });
  }
  const api = client(connection, ctx);
  const blobs = distinct(loaded);
  // Asked again: another deploy may have uploaded some since the plan.
  const missing = new Set(await api.missing(blobs.map((b) => b.sha256)));
  const toUpload = blobs.filter((b) => missing.has(b.sha256));
  const uploadedBytes = toUpload.reduce((n, b) => n + b.size, 0);
  if (toUpload.length) {
    options.onProgress?.({ type: 'uploading', files: toUpload.length, bytes: uploadedBytes });
    await upload(api, toUpload, options.onProgress);
  }
  const entry = (f: { sha256: string; size: number }) => ({ sha256: f.sha256, size: f.size });
  const request: EdgeDeployRequest = {
    files: Object.fromEntries(plan.files.map((f) => [f.path, entry(f)])),
    modules: Object.fromEntries(plan.modules.map((m) => [m.name, entry(m)])),
    mainModule: plan.mainModule,
    spa: plan.assetsConfig.not_found_handling === 'single-page-application',
    runWorkerFirst: plan.assetsConfig.run_worker_first,
    compatibilityDate: plan.compatibilityDate,
    ...(plan.message === undefined ? {} : { message: plan.message }),
    bytesUploaded: uploadedBytes,
    durationMs: Math.round(performance.now() - started),
  };
  // Not retried: a deployment that reached the server and lost its answer would be recorded twice.
  const deployment = await api.json(
    {
      method: 'POST',
      path: `${API_PREFIX}/apps/${encodeURIComponent(plan.appId)}/edge/deployments`,
      json: request,
      retry: false,
    },
    EdgeDeployment,
  );
  options.onProgress?.({ type: 'deployed', versionId: deployment.versionId });
  return {
    target: 'local',
    url: deployment.url,
    versionId: deployment.versionId,
    deploymentId: deployment.id,
    durationMs: Math.round(performance.now() - started),
    uploaded: { files: toUpload.length, bytes: uploadedBytes },
    skipped: { files: blobs.length - toUpload.length, bytes: blobs.reduce((n, b) => n + b.size, 0) - uploadedBytes },
  };
}

function toRecord(d: EdgeDeployment): LocalDeploymentRecord {
  return {
    id: d.id,
    createdOn: d.createdAt,
    versions: [{ versionId: d.versionId, percentage: 100 }],
    active: d.active,
    url: d.url,
    status: d.status,
    bytesUploaded: d.bytesUploaded,
    createdBy: d.createdBy,
    ...(d.message === undefined ? {} : { message: d.message }),
    ...(d.rollbackOf === undefined ? {} : { rollbackOf: d.rollbackOf }),
  };
}

/** The app's deployments on the local edge, newest (the one serving, unless a deploy failed) first. */
export async function listLocalDeployments(
  ctx: Context,
  options: LocalConnection & { appId: string },
): Promise<LocalDeploymentRecord[]> {
  const { deployments } = await client(options, ctx).json(
    { method: 'GET', path: `${API_PREFIX}/apps/${encodeURIComponent(options.appId)}/edge/deployments` },
    EdgeDeploymentList,
  );
  return deployments.map(toRecord);
}

/** Serves an earlier deployment again: `deployment` (an id or version id), or the one before the current. */
export async function rollbackLocal(
  ctx: Context,
  options: LocalConnection & { appId: string; deployment?: string; message?: string },
): Promise<LocalDeploymentRecord> {
  const deployment = await client(options, ctx).json(
    {
      method: 'POST',
      path: `${API_PREFIX}/apps/${encodeURIComponent(options.appId)}/edge/rollback`,
      json: {
        ...(options.deployment === undefined ? {} : { deployment: options.deployment }),
        ...(options.message === undefined ? {} : { message: options.message }),
      },
      retry: false,
    },
    EdgeDeployment,
  );
  return toRecord(deployment);
}

/** The local target behind the `DeployTarget` interface, for callers that pick a target by name. */
export function localTarget(
  connection: LocalConnection & { appId: string },
): DeployTarget<LocalDeployInput, LocalPlan, LocalDeployResult, LocalDeploymentRecord> {
  return {
    name: 'local',
    plan: (ctx, input) => planLocalDeploy(ctx, input, connection),
    apply: (ctx, plan) => applyLocalDeploy(ctx, plan, connection),
    listDeployments: (ctx) => listLocalDeployments(ctx, connection),
    rollback: (ctx, versionId) =>
      rollbackLocal(ctx, { ...connection, ...(versionId === undefined ? {} : { deployment: versionId }) }),
  };
}
