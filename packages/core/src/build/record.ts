import type { Context } from '../context.js';
import type { ReynaConfig } from '../protocol/config.js';
import type { BuildLog } from './_log.js';
import type { BuildReport } from './index.js';

export interface BuildOutcome {
  status: 'success' | 'failure';
  durationMs: number;
  sizes: Record<string, number>;
  /** The tail of the build's log. */
  logs: string;
}

export type RecordResult = { recorded: true; buildId: string } | { recorded: false; reason: string };

/**
 * Sends a build record (outcome, duration, sizes, log tail) to the studio server the app is linked to. An app
 * that is not linked, or a machine with no credentials, records nothing; a server that cannot be reached is
 * reported, never a reason to fail the build.
 */
export async function recordBuild(
  ctx: Context,
  config: ReynaConfig,
  outcome: BuildOutcome,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): Promise<RecordResult> {
  if (!config.appId) return { recorded: false, reason: 'the app is not linked to a studio server' };
  // Only a linked app gets here: the wire schemas (zod) and the studio client load for it alone.
  const [{ sendRecord, studioRecorder }, { API_PREFIX, Build }] = await Promise.all([
    import('../studio/record.js'),
    import('../protocol/api.js'),
  ]);
  const recorder = await studioRecorder(ctx, {
    ...((ctx.env.REYNA_SERVER || config.server) && { server: ctx.env.REYNA_SERVER || config.server }),
    ...(ctx.env.REYNA_TOKEN && { token: ctx.env.REYNA_TOKEN }),
    ...(options.fetch && { fetch: options.fetch }),
  });
  const sent = await sendRecord(
    ctx,
    recorder,
    `${API_PREFIX}/apps/${encodeURIComponent(config.appId)}/builds`,
    Build,
    {
      status: outcome.status,
      durationMs: Math.max(0, Math.round(outcome.durationMs)),
      sizes: outcome.sizes,
      logs: outcome.logs.slice(-100_000),
    },
    { what: 'build', ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) },
  );
  return sent.recorded ? { recorded: true, buildId: sent.record.id } : sent;
}

/** The sizes a build record carries, from the build's report. */
export function reportSizes(report: BuildReport): Record<string, number> {
  const assets = report.files.filter((f) => f.path.startsWith('client/')).reduce((n, f) => n + f.size, 0);
  return {
    workerRaw: report.worker.rawBytes,
    workerGzip: report.worker.gzipBytes,
    assets,
    files: report.files.length,
  };
}

/**
 * Sends the record of a build that ended (see recordBuild), from wherever the build ran: a local build, or the
 * host of a Docker build (the container has no network). A failure's error ends the log first. Only a linked app
 * records; one that could not is warned.
 */
export async function recordOutcome(
  ctx: Context,
  config: ReynaConfig,
  log: BuildLog,
  ended: { report: BuildReport } | { error: unknown; durationMs: number },
): Promise<RecordResult | undefined> {
  if ('error' in ended) log.failed(ended.error);
  if (!config.appId) return undefined;
  const logs = log.lines.join('\n');
  const outcome: BuildOutcome =
    'report' in ended
      ? { status: 'success', durationMs: ended.report.durationMs, sizes: reportSizes(ended.report), logs }
      : { status: 'failure', durationMs: ended.durationMs, sizes: {}, logs };
  const record = await recordBuild(ctx, config, outcome).catch((e: Error) => ({
    recorded: false as const,
    reason: e.message,
  }));
  if (!record.recorded) ctx.logger.warn(`Build record not sent: ${record.reason}`);
  return record;
}
