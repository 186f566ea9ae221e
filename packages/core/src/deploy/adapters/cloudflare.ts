import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Context } from '../../context.js';
import { ReynaError } from '../../errors.js';
import { appIdBinding } from '../../inject/index.js';
import { buildDirs, listFiles, readBytes, readClientFiles } from '../_build-files.js';
import {
  type CallOptions,
  CloudflareApi,
  CloudflareApiError,
  type CloudflareConnection,
  RESUME_HINT,
} from '../_cf-api.js';
import { cloudflareAssetHash } from '../_cf-hash.js';
import {
  type AssetsConfig,
  MODULE_TYPE,
  scriptUploadForm,
  type WorkerBinding,
  type WorkerMetadata,
  type WorkerModule,
} from '../_cf-script.js';
import { encodeMultipart } from '../_multipart.js';
import type { DeploymentRecordBase, DeployPlanBase, DeployResultBase, DeployTarget } from '../target.js';

export type { CloudflareConnection } from '../_cf-api.js';
export type { AssetsConfig, WorkerBinding, WorkerMetadata } from '../_cf-script.js';

/** Cloudflare's limits (DESIGN.md, "Facts about the Workers API"). */
export const CLOUDFLARE_LIMITS = {
  assetBytes: 25 * 1024 * 1024,
  filesFree: 20_000,
  filesPaid: 100_000,
  scriptGzipBytesFree: 3 * 1024 * 1024,
  scriptGzipBytesPaid: 10 * 1024 * 1024,
} as const;

const DEFAULT_COMPATIBILITY_DATE = '2026-04-01';

export interface CloudflareDeployInput {
  /** The build output directory (`reyna build`), relative to ctx.cwd: `client/**` and `worker/index.js`. */
  dir: string;
  appId: string;
  /** `CLOUDFLARE_ACCOUNT_ID` or reyna.json's `deploy.accountId`. */
  accountId: string;
  workerName: string;
  compatibilityDate?: string;
  compatibilityFlags?: string[];
  /** Serve index.html for paths with no file (default true: Reyna's templates are single-page apps). */
  spa?: boolean;
  /** Paths the Worker answers before static files are looked up (default `["/api/*"]`). */
  runWorkerFirst?: string[];
  /** Attached to the version and the deployment (`reyna deploy --message`). */
  message?: string;
}

export interface CloudflarePlannedFile {
  /** The path it is served at, e.g. `/assets/app.js`. */
  path: string;
  /** Cloudflare's asset hash of the bytes as uploaded. */
  hash: string;
  size: number;
  contentType: string;
  /** True for HTML files, which carry the APP_ID. */
  injected: boolean;
}

export interface CloudflarePlannedModule {
  name: string;
  size: number;
  contentType: string;
}

/** What a Cloudflare deploy will do; plain JSON, printed by `reyna deploy --dry-run --json`. */
export interface CloudflarePlan extends DeployPlanBase {
  target: 'cloudflare';
  /** Absolute build directory the plan was made from. */
  dir: string;
  accountId: string;
  workerName: string;
  appId: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  mainModule: string;
  files: CloudflarePlannedFile[];
  modules: CloudflarePlannedModule[];
  bindings: WorkerBinding[];
  assetsConfig: AssetsConfig;
  /** Sizes in bytes; the Worker's gzip size is what Cloudflare's script limit counts. */
  bytes: { files: number; worker: number; workerGzip: number };
  message?: string;
  /**
   * A digest of everything the version will hold. The version carries it as its `workers/tag` annotation, so a
   * retried or re-run deploy finds the version it already made instead of making a second one.
   */
  tag: string;
  warnings: string[];
}

export interface CloudflareApplyOptions extends CloudflareConnection {
  /** Asset buckets uploaded at once (default 3). */
  concurrency?: number;
  /** Upload sessions to open when upload tokens expire before giving up (default 4). */
  maxSessions?: number;
  onProgress?: (event: CloudflareDeployEvent) => void;
}

export type CloudflareDeployEvent =
  | { type: 'session'; session: number; buckets: number; files: number }
  | { type: 'uploaded'; files: number; bytes: number }
  | { type: 'session-expired'; session: number }
  | { type: 'version'; versionId: string; reused: boolean }
  | { type: 'deployed'; versionId: string };

export interface CloudflareDeployResult extends DeployResultBase {
  target: 'cloudflare';
  /** `https://<worker>.<subdomain>.workers.dev` */
  url: string;
  versionId: string;
  /** False when the same content was already a version of this Worker (a re-run, or a no-change redeploy). */
  createdVersion: boolean;
  /** True on a Worker's first deploy. */
  createdWorker: boolean;
  /** Upload sessions opened: more than 1 when an upload token expired on the way. */
  sessions: number;
}

export interface CloudflareWorkerOptions extends CloudflareConnection {
  accountId: string;
  workerName: string;
}

export interface CloudflareDeploymentRecord extends DeploymentRecordBase {
  /** Cloudflare's version numbers, by version id. */
  versionNumbers: Record<string, number>;
  author?: string;
  source?: string;
}

interface VersionInfo {
  id: string;
  number?: number;
  metadata?: { created_on?: string };
  annotations?: Record<string, string>;
}

interface DeploymentInfo {
  id: string;
  created_on: string;
  source?: string;
  author_email?: string;
  strategy?: string;
  versions: { version_id: string; percentage: number }[];
  annotations?: Record<string, string>;
}

function checkWorkerName(name: string): void {
  // It becomes a DNS label on workers.dev.
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
    throw new ReynaError('E_CLOUDFLARE_WORKER_NAME', `"${name}" cannot be a Worker name`, {
      hint: 'Use lowercase letters, digits and dashes (at most 63), e.g. set `deploy.workerName` in reyna.json.',
    });
  }
}

interface Loaded {
  files: (CloudflarePlannedFile & { bytes: Uint8Array })[];
  modules: WorkerModule[];
}

async function load(dir: string, appId: string): Promise<Loaded> {
  const { clientDir, workerDir } = await buildDirs(dir);
  const files: Loaded['files'] = (await readClientFiles(clientDir, appId)).map((f) => ({
    ...f,
    hash: cloudflareAssetHash(f.bytes, f.path),
    size: f.bytes.byteLength,
  }));
  const modules: WorkerModule[] = [];
  for (const rel of await listFiles(workerDir)) {
    if (rel.endsWith('.map')) continue;
    const contentType = /\.m?js$/.test(rel) ? MODULE_TYPE : rel.endsWith('.wasm') ? 'application/wasm' : undefined;
    if (!contentType) continue;
    modules.push({ name: rel, contentType, bytes: await readBytes(join(workerDir, rel)) });
  }
  // The main module first, as wrangler sends it.
  modules.sort((a, b) => (a.name === 'index.js' ? -1 : b.name === 'index.js' ? 1 : a.name.localeCompare(b.name)));
  return { files, modules };
}

function digestOf(plan: Omit<CloudflarePlan, 'tag'>, modules: WorkerModule[]): string {
  const digest = createHash('sha256');
  const { dir: _dir, message: _message, warnings: _warnings, ...content } = plan;
  digest.update(JSON.stringify(content));
  for (const module of modules) digest.update(module.name).update('\0').update(module.bytes).update('\0');
  return `reyna:${digest.digest('hex').slice(0, 32)}`;
}

/**
 * Reads a build and says what a Cloudflare deploy of it would do: every static file with its Cloudflare hash,
 * size and type (HTML with the APP_ID injected), the Worker's modules and sizes, its bindings and assets config.
 * No network.
 */
export async function planCloudflareDeploy(ctx: Context, input: CloudflareDeployInput): Promise<CloudflarePlan> {
  checkWorkerName(input.workerName);
  if (!input.accountId) {
    throw new ReynaError('E_CLOUDFLARE_ACCOUNT_MISSING', 'No Cloudflare account id', {
      hint: 'Set CLOUDFLARE_ACCOUNT_ID, or `deploy.accountId` in reyna.json.',
    });
  }
  const dir = resolve(ctx.cwd, input.dir);
  const { files, modules } = await load(dir, input.appId);
  const warnings: string[] = [];
  const tooBig = files.filter((file) => file.size > CLOUDFLARE_LIMITS.assetBytes);
  if (tooBig.length) {
    throw new ReynaError(
      'E_CLOUDFLARE_ASSET_TOO_LARGE',
      `Cloudflare serves static files up to 25 MiB; too large: ${tooBig.map((f) => f.path).join(', ')}`,
      { hint: 'Move large files to a bucket (`reyna bucket`) and fetch them from there.' },
    );
  }
  if (files.length > CLOUDFLARE_LIMITS.filesPaid) {
    throw new ReynaError('E_CLOUDFLARE_TOO_MANY_FILES', `${files.length} static files; Cloudflare allows 100,000`, {
      hint: 'Bundle or move files to a bucket.',
    });
  }
  if (files.length > CLOUDFLARE_LIMITS.filesFree) {
    warnings.push(`${files.length} static files: more than the Free plan's 20,000 (the Paid plan allows 100,000)`);
  }
  const workerBytes = modules.reduce((sum, m) => sum + m.bytes.byteLength, 0);
  const workerGzip = modules.reduce((sum, m) => sum + gzipSync(m.bytes).byteLength, 0);
  if (workerGzip > CLOUDFLARE_LIMITS.scriptGzipBytesFree) {
    // The API decides (the limits are being raised); we only say it may refuse.
    warnings.push(`The Worker is ${workerGzip} bytes gzipped: over the Free plan's 3 MB (Paid: 10 MB)`);
  }
  const spa = input.spa ?? true;
  const withoutTag: Omit<CloudflarePlan, 'tag'> = {
    target: 'cloudflare',
    dir,
    accountId: input.accountId,
    workerName: input.workerName,
    appId: input.appId,
    compatibilityDate: input.compatibilityDate ?? DEFAULT_COMPATIBILITY_DATE,
    compatibilityFlags: input.compatibilityFlags ?? [],
    mainModule: 'index.js',
    files: files.map(({ bytes: _bytes, ...file }) => file),
    modules: modules.map((m) => ({ name: m.name, size: m.bytes.byteLength, contentType: m.contentType })),
    bindings: [appIdBinding(input.appId), { type: 'assets', name: 'ASSETS' }],
    assetsConfig: {
      html_handling: 'auto-trailing-slash',
      not_found_handling: spa ? 'single-page-application' : 'none',
      run_worker_first: input.runWorkerFirst ?? ['/api/*'],
    },
    bytes: { files: files.reduce((sum, f) => sum + f.size, 0), worker: workerBytes, workerGzip },
    ...(input.message === undefined ? {} : { message: input.message }),
    warnings,
  };
  return { ...withoutTag, tag: digestOf(withoutTag, modules) };
}

/** Cloudflare's files and modules as the plan saw them; a build changed since then is refused. */
async function reload(plan: CloudflarePlan): Promise<Loaded> {
  const loaded = await load(plan.dir, plan.appId);
  const now = loaded.files.map((f) => `${f.path} ${f.hash}`).join('\n');
  const planned = plan.files.map((f) => `${f.path} ${f.hash}`).join('\n');
  const modulesNow = loaded.modules.map((m) => `${m.name} ${m.bytes.byteLength}`).join('\n');
  const modulesPlanned = plan.modules.map((m) => `${m.name} ${m.size}`).join('\n');
  const { tag: _tag, ...rest } = plan;
  if (now !== planned || modulesNow !== modulesPlanned || digestOf(rest, loaded.modules) !== plan.tag) {
    throw new ReynaError('E_PLAN_STALE', `The build in ${plan.dir} changed after the deploy was planned`, {
      hint: 'Run `reyna deploy` again to plan from the current build.',
    });
  }
  return loaded;
}

function paths(accountId: string, workerName: string) {
  const account = `/accounts/${encodeURIComponent(accountId)}`;
  const script = `${account}/workers/scripts/${encodeURIComponent(workerName)}`;
  return {
    account,
    script,
    session: `${script}/assets-upload-session`,
    upload: `${account}/workers/assets/upload`,
    versions: `${script}/versions`,
    deployments: `${script}/deployments`,
    scriptSubdomain: `${script}/subdomain`,
    accountSubdomain: `${account}/workers/subdomain`,
  };
}

/** The versions of a Worker, newest first, or undefined when the Worker does not exist. */
async function listVersions(api: CloudflareApi, p: ReturnType<typeof paths>): Promise<VersionInfo[] | undefined> {
  try {
    const result = await api.call<{ items: VersionInfo[] }>('get', p.versions, {
      label: 'version list',
      passThrough: [404],
    });
    return result.items ?? [];
  } catch (error) {
    if (error instanceof CloudflareApiError && error.status === 404) return undefined;
    throw error;
  }
}

async function listDeploymentInfos(api: CloudflareApi, p: ReturnType<typeof paths>): Promise<DeploymentInfo[]> {
  const result = await api.call<{ deployments: DeploymentInfo[] }>('get', p.deployments, { label: 'deployment list' });
  return [...(result.deployments ?? [])].sort((a, b) => b.created_on.localeCompare(a.created_on));
}

const servesOnly = (deployment: DeploymentInfo | undefined, versionId: string) =>
  deployment?.versions.length === 1 &&
  deployment.versions[0]?.version_id === versionId &&
  deployment.versions[0]?.percentage === 100;

async function uploadAssets(
  ctx: Context,
  api: CloudflareApi,
  plan: CloudflarePlan,
  loaded: Loaded,
  options: CloudflareApplyOptions,
): Promise<{ jwt: string; uploadedHashes: Set<string>; bytes: number; sessions: number }> {
  const p = paths(plan.accountId, plan.workerName);
  const byHash = new Map(loaded.files.map((f) => [f.hash, f]));
  const manifest = Object.fromEntries(plan.files.map((f) => [f.path, { hash: f.hash, size: f.size }]));
  const uploadedHashes = new Set<string>();
  let bytes = 0;
  const maxSessions = options.maxSessions ?? 4;
  for (let session = 1; session <= maxSessions; session++) {
    const { jwt, buckets } = await api.call<{ jwt: string; buckets?: string[][] }>('post', p.session, {
      label: 'asset upload session',
      body: { manifest },
    });
    const queue = [...(buckets ?? [])];
    options.onProgress?.({
      type: 'session',
      session,
      buckets: queue.length,
      files: queue.reduce((n, b) => n + b.length, 0),
    });
    // No buckets: Cloudflare has every file, and the session token is already the completion token.
    if (queue.length === 0) return { jwt, uploadedHashes, bytes, sessions: session };
    let completion: string | undefined;
    let expired = false;
    let failed = false;
    const worker = async () => {
      while (!expired && !failed && queue.length) {
        const bucket = queue.shift() as string[];
        const form = encodeMultipart(
          bucket.map((hash) => {
            const file = byHash.get(hash);
            if (!file) throw new Error(`Cloudflare asked for an asset hash the plan does not have: ${hash}`);
            return {
              name: hash,
              filename: hash,
              contentType: file.contentType,
              body: Buffer.from(file.bytes).toString('base64'),
            };
          }),
        );
        try {
          const result = await api.call<{ jwt?: string | null } | null>('post', p.upload, {
            label: 'asset upload',
            query: { base64: 'true' },
            authorization: jwt,
            body: form.body,
            contentType: form.contentType,
            passThrough: [401],
          });
          let sent = 0;
          for (const hash of bucket) {
            if (!uploadedHashes.has(hash)) sent += byHash.get(hash)?.size ?? 0;
            uploadedHashes.add(hash);
          }
          bytes += sent;
          options.onProgress?.({ type: 'uploaded', files: bucket.length, bytes: sent });
          if (result?.jwt) completion = result.jwt;
        } catch (error) {
          if (error instanceof CloudflareApiError && error.status === 401) {
            // The upload token lasts a limited time: a new session asks only for what is still missing.
            expired = true;
            return;
          }
          failed = true;
          throw error;
        }
      }
    };
    const concurrency = Math.max(1, options.concurrency ?? 3);
    const results = await Promise.allSettled(Array.from({ length: concurrency }, worker));
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
    if (!expired) {
      if (!completion) {
        throw new ReynaError('E_CLOUDFLARE_REJECTED', 'Cloudflare took every asset but gave no completion token', {
          hint: RESUME_HINT,
          details: { resumable: true },
        });
      }
      return { jwt: completion, uploadedHashes, bytes, sessions: session };
    }
    ctx.logger.info(`The asset upload token expired; opening a new session for the files still missing`);
    options.onProgress?.({ type: 'session-expired', session });
  }
  throw new ReynaError(
    'E_CLOUDFLARE_UPLOAD_EXPIRED',
    `Asset upload tokens expired ${maxSessions} times before the upload finished`,
    { hint: RESUME_HINT, details: { resumable: true } },
  );
}

/**
 * Runs a plan against the Workers API: uploads the static files Cloudflare lacks, uploads the Worker as a new
 * version with its `APP_ID` and `ASSETS` bindings, sends 100% of traffic to it, enables workers.dev and returns
 * the URL. Safe to run again after any failure: uploaded files are not re-sent, and a version that already
 * landed is found by its tag rather than made twice.
 */
export async function applyCloudflareDeploy(
  ctx: Context,
  plan: CloudflarePlan,
  options: CloudflareApplyOptions,
): Promise<CloudflareDeployResult> {
  const loaded = await reload(plan);
  const api = await CloudflareApi.connect(options, ctx.logger, ctx.signal);
  const p = paths(plan.accountId, plan.workerName);
  const findOurs = async () => (await listVersions(api, p))?.find((v) => v.annotations?.['workers/tag'] === plan.tag);

  const versions = await listVersions(api, p);
  const createdWorker = versions === undefined;
  let version = versions?.find((v) => v.annotations?.['workers/tag'] === plan.tag);
  let sessions = 0;
  let uploaded = { hashes: new Set<string>(), bytes: 0 };
  let deployedByUpload = false;
  const createdVersion = !version;
  if (!version) {
    const assets = await uploadAssets(ctx, api, plan, loaded, options);
    sessions = assets.sessions;
    uploaded = { hashes: assets.uploadedHashes, bytes: assets.bytes };
    const metadata: WorkerMetadata = {
      main_module: plan.mainModule,
      compatibility_date: plan.compatibilityDate,
      compatibility_flags: plan.compatibilityFlags,
      bindings: plan.bindings,
      assets: { jwt: assets.jwt, config: plan.assetsConfig },
      annotations: {
        ...(plan.message === undefined ? {} : { 'workers/message': plan.message }),
        'workers/tag': plan.tag,
      },
    };
    const form = scriptUploadForm(metadata, loaded.modules);
    const timeoutMs = options.timeoutMs ?? 60_000;
    // Before sending a version upload again, make sure the first one did not land. After a timeout the first
    // may still be on its way: watch for it a while, and if it is still unknown, stop rather than risk a second.
    const landed: CallOptions<VersionInfo>['landed'] = async (failure) => {
      const deadline = Date.now() + (failure === 'timeout' ? Math.min(timeoutMs, 10_000) : 0);
      for (;;) {
        const found = await findOurs();
        if (found || Date.now() >= deadline) {
          if (found || failure !== 'timeout') return found;
          throw new ReynaError(
            'E_CLOUDFLARE_UNCERTAIN',
            `Cloudflare did not answer the script upload in time, and it may still land`,
            {
              hint: `${RESUME_HINT} A version that landed meanwhile is used, not uploaded twice.`,
              details: { resumable: true },
            },
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(250, timeoutMs / 4)));
      }
    };
    const upload = { label: 'script upload', body: form.body, contentType: form.contentType, landed };
    if (createdWorker) {
      // A new Worker: PUT makes its first version and deploys it.
      const result = await api.call<{ id?: string; deployment_id?: string } & Partial<VersionInfo>>('put', p.script, {
        ...upload,
        landed: async (failure) => {
          const found = await landed(failure);
          return found && { id: plan.workerName, deployment_id: found.id };
        },
      });
      deployedByUpload = true;
      version = result.deployment_id ? { id: result.deployment_id } : await findOurs();
      if (!version) throw new Error('Cloudflare made the Worker but it has no version with our tag');
    } else {
      version = await api.call<VersionInfo>('post', p.versions, upload);
    }
    options.onProgress?.({ type: 'version', versionId: version.id, reused: false });
  } else {
    options.onProgress?.({ type: 'version', versionId: version.id, reused: true });
  }
  const versionId = version.id;

  if (!deployedByUpload) {
    const current = (await listDeploymentInfos(api, p))[0];
    if (!servesOnly(current, versionId)) {
      await api.call<DeploymentInfo>('post', p.deployments, {
        label: 'deployment',
        body: {
          strategy: 'percentage',
          versions: [{ version_id: versionId, percentage: 100 }],
          ...(plan.message === undefined ? {} : { annotations: { 'workers/message': plan.message } }),
        },
        landed: async () => {
          const latest = (await listDeploymentInfos(api, p))[0];
          return latest && servesOnly(latest, versionId) ? latest : undefined;
        },
      });
    }
  }
  options.onProgress?.({ type: 'deployed', versionId });

  const url = await enableWorkersDev(api, p, plan.workerName);
  const uploadedFiles = plan.files.filter((f) => uploaded.hashes.has(f.hash));
  return {
    target: 'cloudflare',
    url,
    versionId,
    createdVersion,
    createdWorker,
    sessions,
    uploaded: { files: uploaded.hashes.size, bytes: uploaded.bytes },
    skipped: {
      files: plan.files.length - uploadedFiles.length,
      bytes: plan.bytes.files - uploadedFiles.reduce((n, f) => n + f.size, 0),
    },
  };
}

async function enableWorkersDev(api: CloudflareApi, p: ReturnType<typeof paths>, workerName: string): Promise<string> {
  let subdomain: string;
  try {
    ({ subdomain } = await api.call<{ subdomain: string }>('get', p.accountSubdomain, {
      label: 'workers.dev subdomain lookup',
      passThrough: [404],
    }));
  } catch (error) {
    if (error instanceof CloudflareApiError && error.status === 404) {
      throw new ReynaError('E_CLOUDFLARE_NO_SUBDOMAIN', 'This account has no workers.dev subdomain yet', {
        hint: 'Open Workers & Pages in the Cloudflare dashboard once to choose one, then run `reyna deploy` again.',
      });
    }
    throw error;
  }
  await api.call('post', p.scriptSubdomain, {
    label: 'workers.dev enable',
    body: { enabled: true, previews_enabled: false },
  });
  return `https://${workerName}.${subdomain}.workers.dev`;
}

function toRecord(d: DeploymentInfo, active: boolean, numbers: Map<string, number>): CloudflareDeploymentRecord {
  const versionNumbers: Record<string, number> = {};
  for (const v of d.versions) {
    const n = numbers.get(v.version_id);
    if (n !== undefined) versionNumbers[v.version_id] = n;
  }
  const message = d.annotations?.['workers/message'];
  return {
    id: d.id,
    createdOn: d.created_on,
    versions: d.versions.map((v) => ({ versionId: v.version_id, percentage: v.percentage })),
    versionNumbers,
    active,
    ...(message === undefined ? {} : { message }),
    ...(d.author_email === undefined ? {} : { author: d.author_email }),
    ...(d.source === undefined ? {} : { source: d.source }),
  };
}

/** A Worker's deployments, newest (the one serving) first. */
export async function listCloudflareDeployments(
  ctx: Context,
  options: CloudflareWorkerOptions,
): Promise<CloudflareDeploymentRecord[]> {
  checkWorkerName(options.workerName);
  const api = await CloudflareApi.connect(options, ctx.logger, ctx.signal);
  const p = paths(options.accountId, options.workerName);
  const versions = await listVersions(api, p);
  if (versions === undefined) {
    throw new ReynaError('E_CLOUDFLARE_NO_WORKER', `No Worker "${options.workerName}" on this account`, {
      hint: 'Run `reyna deploy --target cloudflare` first.',
    });
  }
  const numbers = new Map(versions.filter((v) => v.number !== undefined).map((v) => [v.id, v.number as number]));
  const deployments = await listDeploymentInfos(api, p);
  return deployments.map((d, i) => toRecord(d, i === 0, numbers));
}

/**
 * Serves an older version again: a new deployment sending 100% of traffic to `versionId` (or to the version a
 * deployment id sent most traffic to), or, without one, to the version that served before the current one. Versions are immutable, so this restores that content exactly.
 */
export async function rollbackCloudflare(
  ctx: Context,
  options: CloudflareWorkerOptions & { versionId?: string; message?: string },
): Promise<CloudflareDeploymentRecord> {
  checkWorkerName(options.workerName);
  const api = await CloudflareApi.connect(options, ctx.logger, ctx.signal);
  const p = paths(options.accountId, options.workerName);
  const versions = await listVersions(api, p);
  if (versions === undefined) {
    throw new ReynaError('E_CLOUDFLARE_NO_WORKER', `No Worker "${options.workerName}" on this account`, {
      hint: 'Run `reyna deploy --target cloudflare` first.',
    });
  }
  const deployments = await listDeploymentInfos(api, p);
  const main = (d: DeploymentInfo | undefined) =>
    [...(d?.versions ?? [])].sort((a, b) => b.percentage - a.percentage)[0]?.version_id;
  const current = main(deployments[0]);
  let target = options.versionId;
  if (target === undefined) {
    target = deployments.map(main).find((v) => v !== undefined && v !== current);
    if (!target) {
      throw new ReynaError('E_NOTHING_TO_ROLL_BACK', `"${options.workerName}" has no earlier version to go back to`, {
        hint: 'Run `reyna deployments list` to see what there is.',
      });
    }
  } else if (!versions.some((v) => v.id === target)) {
    // A Cloudflare deployment id stands for the version it sent most traffic to.
    target = main(deployments.find((d) => d.id === target));
    if (!target) {
      throw new ReynaError(
        'E_CLOUDFLARE_NO_VERSION',
        `"${options.workerName}" has no version or deployment ${options.versionId}`,
        { hint: 'Run `reyna deployments list` for the ids.' },
      );
    }
  }
  const versionId = target;
  const message = options.message ?? `Rollback to ${versionId}`;
  const deployment = await api.call<DeploymentInfo>('post', p.deployments, {
    label: 'rollback deployment',
    body: {
      strategy: 'percentage',
      versions: [{ version_id: versionId, percentage: 100 }],
      annotations: { 'workers/message': message },
    },
    landed: async () => {
      const latest = (await listDeploymentInfos(api, p))[0];
      return latest && latest.id !== deployments[0]?.id && servesOnly(latest, versionId) ? latest : undefined;
    },
  });
  const numbers = new Map(versions.filter((v) => v.number !== undefined).map((v) => [v.id, v.number as number]));
  return toRecord(deployment, true, numbers);
}

/** The Cloudflare target behind the `DeployTarget` interface, for callers that pick a target by name. */
export function cloudflareTarget(
  options: CloudflareApplyOptions & { accountId: string; workerName: string },
): DeployTarget<CloudflareDeployInput, CloudflarePlan, CloudflareDeployResult, CloudflareDeploymentRecord> {
  return {
    name: 'cloudflare',
    plan: (ctx, input) => planCloudflareDeploy(ctx, input),
    apply: (ctx, plan) => applyCloudflareDeploy(ctx, plan, options),
    listDeployments: (ctx) => listCloudflareDeployments(ctx, options),
    rollback: (ctx, versionId) =>
      rollbackCloudflare(ctx, { ...options, ...(versionId === undefined ? {} : { versionId }) }),
  };
}
