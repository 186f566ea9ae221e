import type Cloudflare from 'cloudflare';
import type { Logger } from '../context.js';
import { ReynaError } from '../errors.js';

export const CLOUDFLARE_API = 'https://api.cloudflare.com/client/v4';

/** How to reach the Workers API: credentials come from the caller (the CLI reads them from the environment). */
export interface CloudflareConnection {
  /** `CLOUDFLARE_API_TOKEN`. */
  apiToken: string;
  /** Default https://api.cloudflare.com/client/v4; tests point it at a local double. */
  baseURL?: string;
  fetch?: typeof fetch;
  /** Milliseconds one request may take before it is abandoned and retried (default 60 000). */
  timeoutMs?: number;
  /** Attempts after the first for a request that failed with 429, 5xx or a timeout (default 5). */
  retries?: number;
  /** First backoff delay in ms, doubled per attempt, when the API gives no Retry-After (default 1 000). */
  backoffMs?: number;
  /** Longest wait between attempts, Retry-After included (default 60 000). */
  maxBackoffMs?: number;
}

export const RESUME_HINT = 'Run `reyna deploy --target cloudflare` again: files already uploaded are not sent again.';

interface Envelope<T> {
  success?: boolean;
  errors?: { code: number; message: string }[];
  result: T;
}

/** Why the previous attempt failed: after a timeout the request may still be on its way. */
export type FailureKind = 'timeout' | 'connection' | 'status';

export interface CallOptions<T> {
  /** Short description for messages: "upload session", "script upload". */
  label: string;
  body?: Uint8Array | Record<string, unknown>;
  contentType?: string;
  query?: Record<string, string>;
  /** Replaces the API token, e.g. with the asset upload JWT. */
  authorization?: string;
  /**
   * Runs before each retry. A request that creates something may have landed even though its answer was lost
   * (a timeout, a 500 after the write): this looks for it and returns it, so the request is not sent twice.
   */
  landed?: (failure: FailureKind) => Promise<T | undefined>;
  /** Errors with these statuses are thrown as they are, for the caller to handle (e.g. 401 on an expired JWT). */
  passThrough?: number[];
  /** Overrides the connection's retry count for this call. */
  retries?: number;
}

/** A failed answer from the API, thrown for statuses a caller asked to handle itself. */
export class CloudflareApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: { code: number; message: string }[],
    message: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** Seconds or an HTTP date, as RFC 9110 allows. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The Workers API through the `cloudflare` SDK's client (auth, base URL, per-request timeout), with its own
 * retries turned off: ours honour Retry-After, and never resend a request that creates a version before
 * checking whether the first one landed.
 */
export class CloudflareApi {
  private constructor(
    private readonly client: Cloudflare,
    private readonly sdk: typeof import('cloudflare'),
    private readonly options: CloudflareConnection,
    private readonly logger: Logger,
    private readonly signal: AbortSignal | undefined,
  ) {}

  static async connect(options: CloudflareConnection, logger: Logger, signal?: AbortSignal): Promise<CloudflareApi> {
    const sdk = await import('cloudflare');
    const client = new sdk.Cloudflare({
      apiToken: options.apiToken,
      // Explicit, so the SDK does not pick other credentials up from the environment.
      apiKey: null,
      apiEmail: null,
      userServiceKey: null,
      baseURL: options.baseURL ?? CLOUDFLARE_API,
      maxRetries: 0,
      timeout: options.timeoutMs ?? 60_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    return new CloudflareApi(client, sdk, options, logger, signal);
  }

  async call<T>(method: 'get' | 'post' | 'put', path: string, options: CallOptions<T>): Promise<T> {
    const retries = options.retries ?? this.options.retries ?? 5;
    let attempt = 0;
    let lastKind: FailureKind = 'status';
    for (;;) {
      if (attempt > 0 && options.landed) {
        const found = await options.landed(lastKind);
        if (found !== undefined) {
          this.logger.debug(`${options.label}: the previous attempt landed; not sending it again`);
          return found;
        }
      }
      const failure = await this.once<T>(method, path, options);
      if (failure.ok) return failure.value;
      if (!failure.retryable || attempt >= retries) {
        if (failure.retryable) {
          throw new ReynaError(
            'E_CLOUDFLARE_UNAVAILABLE',
            `Cloudflare did not complete the ${options.label} after ${attempt + 1} attempts (${failure.reason})`,
            { hint: RESUME_HINT, details: { resumable: true, status: failure.status, step: options.label } },
          );
        }
        throw failure.error;
      }
      const backoff = Math.min(
        this.options.maxBackoffMs ?? 60_000,
        failure.retryAfter ?? (this.options.backoffMs ?? 1000) * 2 ** attempt * (0.75 + Math.random() / 2),
      );
      lastKind = failure.kind;
      this.logger.debug(`${options.label}: ${failure.reason}; retrying in ${Math.round(backoff)} ms`);
      await sleep(backoff, this.signal);
      attempt++;
    }
  }

  private async once<T>(
    method: 'get' | 'post' | 'put',
    path: string,
    options: CallOptions<T>,
  ): Promise<
    | { ok: true; value: T }
    | { ok: false; retryable: true; kind: FailureKind; reason: string; status?: number; retryAfter?: number }
    | { ok: false; retryable: false; error: Error }
  > {
    const headers: Record<string, string> = {};
    if (options.contentType) headers['content-type'] = options.contentType;
    if (options.authorization) headers.authorization = `Bearer ${options.authorization}`;
    try {
      const envelope = (await this.client[method](path, {
        ...(options.body === undefined ? {} : { body: options.body }),
        ...(options.query ? { query: options.query } : {}),
        headers,
        ...(this.signal ? { signal: this.signal } : {}),
      })) as Envelope<T>;
      if (envelope && envelope.success === false) {
        return { ok: false, retryable: false, error: this.userError(200, envelope.errors ?? [], options.label) };
      }
      return { ok: true, value: envelope?.result as T };
    } catch (error) {
      const sdk = this.sdk;
      if (error instanceof sdk.APIUserAbortError) throw error;
      if (error instanceof sdk.APIConnectionTimeoutError) {
        return { ok: false, retryable: true, kind: 'timeout', reason: 'no answer within the request timeout' };
      }
      if (error instanceof sdk.APIConnectionError) {
        return {
          ok: false,
          retryable: true,
          kind: 'connection',
          reason: `connection failed: ${(error.cause as Error)?.message ?? error.message}`,
        };
      }
      if (error instanceof sdk.APIError && typeof error.status === 'number') {
        const status = error.status;
        const body = error.error as Envelope<unknown> | undefined;
        const errors = body?.errors ?? [];
        if (options.passThrough?.includes(status)) {
          throw new CloudflareApiError(status, errors, errors[0]?.message ?? `HTTP ${status}`);
        }
        if (status === 429 || status >= 500) {
          const headers = error.headers as Headers | undefined;
          const retryAfter = retryAfterMs(headers?.get('retry-after'));
          return {
            ok: false,
            retryable: true,
            kind: 'status',
            status,
            reason: `HTTP ${status}${errors[0] ? `: ${errors[0].message}` : ''}`,
            ...(retryAfter === undefined ? {} : { retryAfter }),
          };
        }
        return { ok: false, retryable: false, error: this.userError(status, errors, options.label) };
      }
      throw error;
    }
  }

  private userError(status: number, errors: { code: number; message: string }[], label: string): ReynaError {
    const said = errors.map((e) => `${e.message} [${e.code}]`).join('; ') || `HTTP ${status}`;
    const details = { status, errors, step: label };
    if (status === 401) {
      return new ReynaError('E_CLOUDFLARE_AUTH', `Cloudflare refused the API token (${label}): ${said}`, {
        hint: 'Set CLOUDFLARE_API_TOKEN to a token with the "Workers Scripts: Edit" permission.',
        details,
      });
    }
    if (status === 403) {
      return new ReynaError('E_CLOUDFLARE_FORBIDDEN', `The API token cannot do the ${label} on this account: ${said}`, {
        hint: 'Check CLOUDFLARE_ACCOUNT_ID, and that the token has "Workers Scripts: Edit" on that account.',
        details,
      });
    }
    return new ReynaError('E_CLOUDFLARE_REJECTED', `Cloudflare rejected the ${label}: ${said}`, {
      hint: 'If the build looks right, report this with `reyna deploy --json` output.',
      details,
    });
  }
}
