import { ReynaError } from '../errors.js';

const MiB = 1024 * 1024;

/** What Cloudflare allows, per plan. Kept as data: the platform raises limits, and reyna.json can too. */
export interface BuildLimits {
  /** Worker bundle after gzip. */
  workerGzipBytes: number;
  /** One static asset. */
  assetBytes: number;
  /** Static assets in one deployment. */
  files: number;
}

export type Plan = 'free' | 'paid';

export const PLAN_LIMITS: Record<Plan, BuildLimits> = {
  free: { workerGzipBytes: 3 * MiB, assetBytes: 25 * MiB, files: 20_000 },
  paid: { workerGzipBytes: 10 * MiB, assetBytes: 25 * MiB, files: 100_000 },
};

export function resolveLimits(plan: Plan = 'free', overrides: Partial<BuildLimits> = {}): BuildLimits {
  return { ...PLAN_LIMITS[plan], ...overrides };
}

export interface SizedFile {
  path: string;
  size: number;
}

export interface LimitInput {
  workerGzipBytes: number;
  /** Largest modules of the Worker, biggest first. */
  largestModules: SizedFile[];
  /** Static assets (paths relative to the client dir). */
  assets: SizedFile[];
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < MiB) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / MiB).toFixed(2)} MiB`;
}

const list = (files: SizedFile[]) => files.map((f) => `${f.path} (${formatBytes(f.size)})`).join(', ');

/**
 * Refuses a build the platform would refuse, before anything is uploaded, naming what to shrink.
 * @throws ReynaError E_WORKER_TOO_LARGE, E_ASSET_TOO_LARGE or E_TOO_MANY_FILES
 */
export function checkLimits(input: LimitInput, limits: BuildLimits, plan: Plan = 'free'): void {
  const planHint = plan === 'free' ? ' The paid plan allows more: set "build": {"plan": "paid"} in reyna.json.' : '';
  if (input.workerGzipBytes > limits.workerGzipBytes) {
    const top = input.largestModules.slice(0, 5);
    throw new ReynaError(
      'E_WORKER_TOO_LARGE',
      `The Worker is ${formatBytes(input.workerGzipBytes)} after gzip, over the ${formatBytes(limits.workerGzipBytes)} limit of the ${plan} plan. Largest modules: ${list(top)}`,
      {
        hint: `Shrink or lazy-load the largest modules, or move big data to assets.${planHint}`,
        details: { workerGzipBytes: input.workerGzipBytes, limit: limits.workerGzipBytes, largestModules: top },
      },
    );
  }
  const big = input.assets.filter((f) => f.size > limits.assetBytes).sort((a, b) => b.size - a.size);
  if (big.length > 0) {
    throw new ReynaError(
      'E_ASSET_TOO_LARGE',
      `${big.length} asset${big.length === 1 ? ' is' : 's are'} over the ${formatBytes(limits.assetBytes)} limit per file: ${list(big.slice(0, 5))}`,
      {
        hint: 'Split the file, or keep it in a bucket (`reyna bucket put`) and fetch it from there.',
        details: { limit: limits.assetBytes, files: big },
      },
    );
  }
  if (input.assets.length > limits.files) {
    throw new ReynaError(
      'E_TOO_MANY_FILES',
      `The build has ${input.assets.length} static files, over the ${limits.files} limit of the ${plan} plan.`,
      {
        hint: `Bundle small files together or drop unused ones.${planHint}`,
        details: { files: input.assets.length, limit: limits.files },
      },
    );
  }
}
