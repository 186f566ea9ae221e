// Records the tool sends to the studio server beside the work itself (builds, Cloudflare deployments). A record is
// best effort: no server configured, or one that cannot be reached, is a reason to report, never a reason to fail
// the build or deploy it describes.
import type { z } from 'zod';
import type { Context } from '../context.js';
import { ReynaError } from '../errors.js';
import { StudioClient } from './client.js';
import { type ResolveOptions, resolveStudio } from './credentials.js';

/** A studio server and token to send records to, or why there is none. */
export type StudioRecorder =
  | { server: string; token: string; fetch?: typeof globalThis.fetch }
  | { server?: undefined; reason: string };

export type Recorded<T> = { recorded: true; record: T } | { recorded: false; reason: string };

/** Where records go: flags and REYNA_* first, then reyna.json's server, then the credentials file. */
export async function studioRecorder(
  ctx: Context,
  options: Omit<ResolveOptions, 'env'> & { fetch?: typeof globalThis.fetch },
): Promise<StudioRecorder> {
  try {
    const target = await resolveStudio({
      env: ctx.env,
      ...(options.server ? { server: options.server } : {}),
      ...(options.token ? { token: options.token } : {}),
      ...(options.homedir ? { homedir: options.homedir } : {}),
    });
    return { server: target.server, token: target.token, ...(options.fetch ? { fetch: options.fetch } : {}) };
  } catch (error) {
    if (error instanceof ReynaError) return { reason: error.message };
    throw error;
  }
}

/** A client for a recorder's server that gives up after `timeoutMs` (default 10 s). */
export function recorderClient(
  ctx: Context,
  recorder: StudioRecorder & { server: string },
  timeoutMs = 10_000,
): StudioClient {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
  return new StudioClient({
    server: recorder.server,
    token: recorder.token,
    signal,
    ...(recorder.fetch ? { fetch: recorder.fetch } : {}),
  });
}

/** POSTs a record; says why when it was not taken. */
export async function sendRecord<S extends z.ZodType>(
  ctx: Context,
  recorder: StudioRecorder,
  path: string,
  schema: S,
  body: unknown,
  options: { what: string; timeoutMs?: number },
): Promise<Recorded<z.infer<S>>> {
  if (recorder.server === undefined) return { recorded: false, reason: recorder.reason };
  try {
    const record = await recorderClient(ctx, recorder, options.timeoutMs).request('POST', path, schema, body);
    return { recorded: true, record };
  } catch (error) {
    if (ctx.signal?.aborted) throw error;
    const message = error instanceof ReynaError ? error.message : String((error as Error).message ?? error);
    return { recorded: false, reason: `the studio server did not take the ${options.what} record: ${message}` };
  }
}
