import { resolve } from 'node:path';
import { readBuildReport } from '../build/index.js';
import { readConfig } from '../config.js';
import type { Context } from '../context.js';
import { ReynaError } from '../errors.js';
import type { ReynaConfig } from '../protocol/config.js';
import { resolveStudio } from '../studio/credentials.js';
import { type StudioRecorder, studioRecorder } from '../studio/record.js';
import {
  type DeploymentRecordOutcome,
  fromStudio,
  recordDeployment,
  type StudioDeploymentRecord,
  studioDeployments,
  versionOfStudioDeployment,
} from './_studio-records.js';
import type {
  CloudflareDeployEvent,
  CloudflareDeploymentRecord,
  CloudflareDeployResult,
  CloudflarePlan,
} from './adapters/cloudflare.js';
import type {
  LocalConnection,
  LocalDeployEvent,
  LocalDeploymentRecord,
  LocalDeployResult,
  LocalPlan,
} from './adapters/local.js';

export type TargetName = 'local' | 'cloudflare';

/** What the caller knows about Cloudflare; the CLI fills it from the environment and flags. */
export interface CloudflareSettings {
  apiToken?: string;
  accountId?: string;
  baseURL?: string;
}

/** Which studio server the local target deploys to; unset fields come from the credentials file. */
export interface StudioSettings {
  /** --server / REYNA_SERVER; else reyna.json's `server`, else the credentials file's default. */
  server?: string;
  /** --token / REYNA_TOKEN; else the credentials file. */
  token?: string;
  fetch?: typeof globalThis.fetch;
  homedir?: string;
  /** Per request to the studio server, in ms (default 60 s); failed requests are retried with backoff. */
  timeoutMs?: number;
}

export interface DeployOptions {
  /** App directory, relative to ctx.cwd. */
  dir?: string;
  /** Default: reyna.json's `deploy.target`, else local. */
  target?: TargetName;
  /** Default: reyna.json's `appId`. */
  appId?: string;
  message?: string;
  cloudflare?: CloudflareSettings;
  studio?: StudioSettings;
  onProgress?: (event: CloudflareDeployEvent | LocalDeployEvent) => void;
}

export type { DeploymentRecordOutcome, StudioDeploymentRecord } from './_studio-records.js';

export type DeployPlan = CloudflarePlan | LocalPlan;
/** A Cloudflare deploy says whether the studio server recorded it (the local edge always records its own). */
export type DeployResult = (CloudflareDeployResult & { record: DeploymentRecordOutcome }) | LocalDeployResult;
/** Cloudflare's deployments are the studio server's records of them when the app is linked, else Cloudflare's. */
export type DeploymentRecord =
  | (CloudflareDeploymentRecord & { origin: 'cloudflare' })
  | StudioDeploymentRecord
  | LocalDeploymentRecord;

interface Resolved {
  config: ReynaConfig;
  appDir: string;
  outDir: string;
  target: TargetName;
}

async function resolveApp(ctx: Context, options: DeployOptions): Promise<Resolved> {
  const appDir = resolve(ctx.cwd, options.dir ?? '.');
  const config = await readConfig(appDir);
  const target = options.target ?? config.deploy?.target ?? 'local';
  const outDir = resolve(appDir, config.build?.outDir ?? 'dist');
  return { config, appDir, outDir, target };
}

/** Flags first, then reyna.json's `server`, then the credentials file. */
function studioResolve(config: ReynaConfig, settings: StudioSettings = {}) {
  return {
    ...(settings.server || config.server ? { server: settings.server || config.server } : {}),
    ...(settings.token ? { token: settings.token } : {}),
    ...(settings.homedir ? { homedir: settings.homedir } : {}),
  };
}

async function studioConnection(
  ctx: Context,
  config: ReynaConfig,
  settings: StudioSettings = {},
): Promise<LocalConnection> {
  const target = await resolveStudio({ env: ctx.env, ...studioResolve(config, settings) });
  return {
    server: target.server,
    token: target.token,
    ...(settings.fetch ? { fetch: settings.fetch } : {}),
    ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
  };
}

/** Where Cloudflare deployments are recorded: the studio server the local target would use, when there is one. */
function recorderFor(ctx: Context, config: ReynaConfig, settings: StudioSettings = {}): Promise<StudioRecorder> {
  return studioRecorder(ctx, {
    ...studioResolve(config, settings),
    ...(settings.fetch ? { fetch: settings.fetch } : {}),
  });
}

/** The version a Cloudflare deployment sends most traffic to. */
const mainVersion = (d: { versions: { versionId: string; percentage: number }[] } | undefined) =>
  [...(d?.versions ?? [])].sort((a, b) => b.percentage - a.percentage)[0]?.versionId;

function appIdOf(config: ReynaConfig, options: DeployOptions): string {
  const appId = options.appId ?? config.appId;
  if (!appId) {
    throw new ReynaError('E_NO_APP_ID', `${config.name} has no APP_ID yet`, {
      hint: 'Link it to a studio server app (`reyna apps create`), or pass one: `reyna deploy --app ID`.',
    });
  }
  return appId;
}

function cloudflareAccount(config: ReynaConfig, settings: CloudflareSettings = {}): string {
  const accountId = settings.accountId ?? config.deploy?.accountId;
  if (!accountId) {
    throw new ReynaError('E_CLOUDFLARE_ACCOUNT_MISSING', 'No Cloudflare account id', {
      hint: 'Set CLOUDFLARE_ACCOUNT_ID, or "deploy": {"accountId": "…"} in reyna.json.',
    });
  }
  return accountId;
}

function cloudflareToken(settings: CloudflareSettings = {}): string {
  if (!settings.apiToken) {
    throw new ReynaError('E_CLOUDFLARE_TOKEN_MISSING', 'No Cloudflare API token', {
      hint: 'Create one with the "Edit Cloudflare Workers" template at https://dash.cloudflare.com/profile/api-tokens and set CLOUDFLARE_API_TOKEN.',
    });
  }
  return settings.apiToken;
}

const workerName = (config: ReynaConfig) => config.deploy?.workerName ?? config.name;

/**
 * Says what `reyna deploy` would do, reading the app's build: files (HTML with the APP_ID injected), sizes,
 * bindings, target. Nothing is sent anywhere; `--dry-run` prints this.
 */
export async function planDeploy(ctx: Context, options: DeployOptions = {}): Promise<DeployPlan> {
  const { config, outDir, target } = await resolveApp(ctx, options);
  const appId = appIdOf(config, options);
  await readBuildReport(outDir);
  if (target === 'local') {
    const { planLocalDeploy } = await import('./adapters/local.js');
    return planLocalDeploy(
      ctx,
      {
        dir: outDir,
        appId,
        appName: config.name,
        ...(config.deploy?.compatibilityDate ? { compatibilityDate: config.deploy.compatibilityDate } : {}),
        ...(options.message === undefined ? {} : { message: options.message }),
      },
      await studioConnection(ctx, config, options.studio),
    );
  }
  const { planCloudflareDeploy } = await import('./adapters/cloudflare.js');
  return planCloudflareDeploy(ctx, {
    dir: outDir,
    appId,
    accountId: cloudflareAccount(config, options.cloudflare),
    workerName: workerName(config),
    ...(config.deploy?.compatibilityDate ? { compatibilityDate: config.deploy.compatibilityDate } : {}),
    ...(options.message === undefined ? {} : { message: options.message }),
  });
}

/**
 * Carries out a plan from planDeploy. A Cloudflare deploy, failed or not, is also recorded on the studio server
 * when one is configured; without one (or when it cannot be reached) the deploy goes on and warns.
 */
export async function applyDeploy(ctx: Context, plan: DeployPlan, options: DeployOptions = {}): Promise<DeployResult> {
  if (plan.target === 'local') {
    const { applyLocalDeploy } = await import('./adapters/local.js');
    // The plan was made against one server: apply to that one.
    const connection = await studioConnection(ctx, { name: plan.appName }, { ...options.studio, server: plan.server });
    return applyLocalDeploy(ctx, plan, connection, {
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }
  const { applyCloudflareDeploy } = await import('./adapters/cloudflare.js');
  const apiToken = cloudflareToken(options.cloudflare);
  const { config } = await resolveApp(ctx, options);
  const recorder = await recorderFor(ctx, config, options.studio);
  const started = performance.now();
  const durationMs = () => Math.round(performance.now() - started);
  let result: CloudflareDeployResult;
  try {
    result = await applyCloudflareDeploy(ctx, plan, {
      apiToken,
      ...(options.cloudflare?.baseURL ? { baseURL: options.cloudflare.baseURL } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    if (recorder.server !== undefined && !ctx.signal?.aborted) {
      await recordDeployment(ctx, recorder, plan.appId, {
        target: 'cloudflare',
        status: 'failure',
        durationMs: durationMs(),
      });
    }
    throw error;
  }
  const record = await recordDeployment(ctx, recorder, plan.appId, {
    target: 'cloudflare',
    versionId: result.versionId,
    url: result.url,
    status: 'success',
    bytesUploaded: result.uploaded.bytes,
    durationMs: durationMs(),
  });
  return { ...result, record };
}

/**
 * The app's deployments on its target, newest (serving) first. On Cloudflare: the studio server's records when the
 * app is linked and the server has some (who, how long, bytes uploaded), marked active by what Cloudflare serves;
 * else Cloudflare's own list.
 */
export async function listDeployments(ctx: Context, options: DeployOptions = {}): Promise<DeploymentRecord[]> {
  const { config, target } = await resolveApp(ctx, options);
  if (target === 'local') {
    const { listLocalDeployments } = await import('./adapters/local.js');
    const connection = await studioConnection(ctx, config, options.studio);
    return listLocalDeployments(ctx, { ...connection, appId: appIdOf(config, options) });
  }
  const { listCloudflareDeployments } = await import('./adapters/cloudflare.js');
  const [cloudflare, studio] = await Promise.all([
    listCloudflareDeployments(ctx, {
      apiToken: cloudflareToken(options.cloudflare),
      accountId: cloudflareAccount(config, options.cloudflare),
      workerName: workerName(config),
      ...(options.cloudflare?.baseURL ? { baseURL: options.cloudflare.baseURL } : {}),
    }),
    recorderFor(ctx, config, options.studio).then((recorder) =>
      studioDeployments(ctx, recorder, options.appId ?? config.appId),
    ),
  ]);
  const recorded = 'records' in studio ? fromStudio(studio.records, mainVersion(cloudflare[0])) : [];
  if (recorded.length > 0) return recorded;
  if ('reason' in studio && (options.appId ?? config.appId)) {
    ctx.logger.warn(`Showing Cloudflare's own deployment list: ${studio.reason}`);
  }
  return cloudflare.map((d) => ({ ...d, origin: 'cloudflare' as const }));
}

/**
 * Serves an earlier version again: `version` (a deployment id from `listDeployments`, or a version id), or the one
 * before the version serving now. A Cloudflare rollback is recorded on the studio server like a deploy.
 */
export async function rollbackDeploy(
  ctx: Context,
  options: DeployOptions & { version?: string } = {},
): Promise<DeploymentRecord | (CloudflareDeploymentRecord & { record: DeploymentRecordOutcome })> {
  const { config, target } = await resolveApp(ctx, options);
  if (target === 'local') {
    const { rollbackLocal } = await import('./adapters/local.js');
    const connection = await studioConnection(ctx, config, options.studio);
    return rollbackLocal(ctx, {
      ...connection,
      appId: appIdOf(config, options),
      ...(options.version === undefined ? {} : { deployment: options.version }),
      ...(options.message === undefined ? {} : { message: options.message }),
    });
  }
  const { rollbackCloudflare } = await import('./adapters/cloudflare.js');
  const apiToken = cloudflareToken(options.cloudflare);
  const appId = options.appId ?? config.appId;
  const recorder = await recorderFor(ctx, config, options.studio);
  const studio = await studioDeployments(ctx, recorder, appId);
  const versionId =
    options.version === undefined ? undefined : (versionOfStudioDeployment(options.version, studio) ?? options.version);
  const started = performance.now();
  const rolled = await rollbackCloudflare(ctx, {
    apiToken,
    accountId: cloudflareAccount(config, options.cloudflare),
    workerName: workerName(config),
    ...(options.cloudflare?.baseURL ? { baseURL: options.cloudflare.baseURL } : {}),
    ...(versionId === undefined ? {} : { versionId }),
    ...(options.message === undefined ? {} : { message: options.message }),
  });
  // A Worker keeps its workers.dev URL: the one recorded with any earlier deploy of it.
  const url = 'records' in studio ? studio.records.find((r) => r.target === 'cloudflare' && r.url)?.url : undefined;
  const record = await recordDeployment(ctx, recorder, appId, {
    target: 'cloudflare',
    versionId: mainVersion(rolled) as string,
    ...(url ? { url } : {}),
    status: 'success',
    durationMs: Math.round(performance.now() - started),
  });
  return { ...rolled, record };
}
