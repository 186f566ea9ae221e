import type { Context } from '../context.js';

/** What every target's plan says, so `reyna deploy --dry-run --json` prints the same top-level shape for each. */
export interface DeployPlanBase {
  target: string;
  appId: string;
  /** Static files as they will be served (HTML already carries the APP_ID). */
  files: { path: string; size: number; contentType: string }[];
  bindings: { type: string; name: string; text?: string }[];
  bytes: { files: number; worker: number };
  warnings: string[];
}

export interface DeployResultBase {
  target: string;
  url: string;
  /** The target's id of what now serves (a Cloudflare version id, a local deployment id). */
  versionId: string;
  uploaded: { files: number; bytes: number };
  skipped: { files: number; bytes: number };
}

export interface DeploymentRecordBase {
  id: string;
  createdOn: string;
  /** The version(s) this deployment routes to, with the share of traffic each gets. */
  versions: { versionId: string; percentage: number }[];
  message?: string;
  /** True for the deployment serving now. */
  active: boolean;
}

/**
 * One place an app can be deployed to. Planning reads the build and says what would happen; applying does it.
 * Implementations live in `adapters/`, one file each.
 */
export interface DeployTarget<
  Input,
  Plan extends DeployPlanBase = DeployPlanBase,
  Result extends DeployResultBase = DeployResultBase,
  Record extends DeploymentRecordBase = DeploymentRecordBase,
> {
  readonly name: string;
  plan(ctx: Context, input: Input): Promise<Plan>;
  apply(ctx: Context, plan: Plan): Promise<Result>;
  listDeployments(ctx: Context): Promise<Record[]>;
  /** A new deployment serving `versionId`, or the version before the one serving now. */
  rollback(ctx: Context, versionId?: string): Promise<Record>;
}
