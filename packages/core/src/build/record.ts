import type { Context } from '../context.js';
import { API_PREFIX, Build } from '../protocol/api.js';
import type { ReynaConfig } from '../protocol/config.js';

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
  const { sendRecord, studioRecorder } = await import('../studio/record.js');
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
