// Deployment records on the studio server for the Cloudflare target (the local edge records its own). Cloudflare
// knows versions and deployments; the studio server adds who deployed, how long it took and how many bytes went up,
// per app, beside the builds and usage it keeps.
import type { Context } from '../context.js';
import { ReynaError } from '../errors.js';
import { API_PREFIX, type CreateDeploymentRequest, Deployment, DeploymentList } from '../protocol/api.js';
import { recorderClient, type StudioRecorder, sendRecord } from '../studio/record.js';
import type { DeploymentRecordBase } from './target.js';

/** Whether a deployment record went to the studio server, and its id there. */
export type DeploymentRecordOutcome = { recorded: true; deploymentId: string } | { recorded: false; reason: string };

/** A deployment as the studio server recorded it (`reyna deployments list` when the app is linked). */
export interface StudioDeploymentRecord extends DeploymentRecordBase {
  origin: 'studio';
  target: string;
  url: string | null;
  status: Deployment['status'];
  bytesUploaded: number;
  durationMs: number;
  /** The user id that deployed. */
  createdBy: string;
}

const deploymentsPath = (appId: string) => `${API_PREFIX}/apps/${encodeURIComponent(appId)}/deployments`;

/** Sends the record; warns (never throws) when it was not written. */
export async function recordDeployment(
  ctx: Context,
  recorder: StudioRecorder,
  appId: string | undefined,
  body: CreateDeploymentRequest,
): Promise<DeploymentRecordOutcome> {
  const sent = appId
    ? await sendRecord(ctx, recorder, deploymentsPath(appId), Deployment, body, { what: 'deployment' })
    : { recorded: false as const, reason: 'the app is not linked to a studio server' };
  if (!sent.recorded) {
    ctx.logger.warn(`No deployment record was written to a studio server: ${sent.reason}`);
    return sent;
  }
  return { recorded: true, deploymentId: sent.record.id };
}

/** The app's records of one target on the studio server, newest first; undefined with the reason when unavailable. */
export async function studioDeployments(
  ctx: Context,
  recorder: StudioRecorder,
  appId: string | undefined,
): Promise<{ records: Deployment[] } | { reason: string }> {
  if (recorder.server === undefined) return { reason: recorder.reason };
  if (!appId) return { reason: 'the app is not linked to a studio server' };
  try {
    const { deployments } = await recorderClient(ctx, recorder).request('GET', deploymentsPath(appId), DeploymentList);
    return { records: deployments };
  } catch (error) {
    if (ctx.signal?.aborted) throw error;
    return { reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Studio records of Cloudflare deployments; the newest successful one of the version serving now is active. */
export function fromStudio(records: Deployment[], serving: string | undefined): StudioDeploymentRecord[] {
  const mine = records.filter((r) => r.target === 'cloudflare');
  const active = mine.find((r) => r.status === 'success' && r.versionId === serving)?.id;
  return mine.map((r) => ({
    origin: 'studio',
    id: r.id,
    createdOn: r.createdAt,
    versions: r.versionId ? [{ versionId: r.versionId, percentage: 100 }] : [],
    active: r.id === active,
    target: r.target,
    url: r.url,
    status: r.status,
    bytesUploaded: r.bytesUploaded,
    durationMs: r.durationMs,
    createdBy: r.createdBy,
  }));
}

/**
 * What `reyna rollback ID` means on Cloudflare: a studio deployment id stands for the version it deployed; anything
 * else is passed on (a Cloudflare version or deployment id).
 */
export function versionOfStudioDeployment(
  id: string,
  lookup: { records: Deployment[] } | { reason: string },
): string | undefined {
  if (!('records' in lookup)) {
    if (!/^dep-/.test(id)) return undefined;
    throw new ReynaError('E_DEPLOYMENT_UNKNOWN', `Cannot look up deployment ${id}: ${lookup.reason}`, {
      hint: 'Check the studio server (--server, REYNA_SERVER, `reyna login`), or pass the Cloudflare version id from `reyna deployments list --target cloudflare`.',
    });
  }
  const record = lookup.records.find((r) => r.id === id);
  if (!record) return undefined;
  if (record.target !== 'cloudflare') {
    throw new ReynaError('E_NOT_A_CLOUDFLARE_DEPLOYMENT', `Deployment ${id} was to ${record.target}, not Cloudflare`, {
      hint: `Roll it back with \`reyna rollback ${id} --target ${record.target}\`.`,
    });
  }
  if (!record.versionId) {
    throw new ReynaError('E_DEPLOYMENT_FAILED', `Deployment ${id} did not succeed: it has no version to go back to`, {
      hint: 'Pick a successful one from `reyna deployments list --target cloudflare`.',
    });
  }
  return record.versionId;
}
