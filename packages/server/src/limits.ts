import { ExitCode, ReynaError } from '@reyna/core/errors';

/** Per-user quotas: exceeding one answers 429 E_QUOTA_EXCEEDED. */
export interface Quotas {
  blobs: number;
  buckets: number;
  bytes: number;
}

/** Everything the server refuses past a size or rate; every field is configurable (see README). */
export interface Limits {
  /** Largest single blob, bytes (413 past it). */
  blobBytes: number;
  /** Largest `POST /v1/blobs/batch` body, bytes. */
  batchBytes: number;
  /** Largest JSON request body, bytes. */
  jsonBytes: number;
  /** Requests per token per window; 0 turns rate limiting off. */
  rateLimit: number;
  /** Rate limit window, ms. */
  rateWindowMs: number;
  quotas: Quotas;
}

export const DEFAULT_LIMITS: Limits = {
  blobBytes: 10 * 1024 * 1024,
  batchBytes: 64 * 1024 * 1024,
  jsonBytes: 16 * 1024 * 1024,
  rateLimit: 6000,
  rateWindowMs: 60_000,
  quotas: { blobs: 10_000, buckets: 1_000, bytes: 10 * 1000 ** 3 },
};

/**
 * Limits from REYNA_SERVER_* variables over the defaults (documented in README); an unset or empty one keeps its
 * default. Throws E_BAD_LIMIT for a value that is not a whole number ≥ 0.
 */
export function limitsFromEnv(env: Record<string, string | undefined>, base: Limits = DEFAULT_LIMITS): Limits {
  const num = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new ReynaError('E_BAD_LIMIT', `${name}="${raw}" is not a whole number of 0 or more`, {
        hint: `Set ${name} to a number like ${fallback}, or unset it for that default.`,
        exitCode: ExitCode.usage,
      });
    }
    return n;
  };
  return {
    blobBytes: num('REYNA_SERVER_BLOB_BYTES', base.blobBytes),
    batchBytes: num('REYNA_SERVER_BATCH_BYTES', base.batchBytes),
    jsonBytes: num('REYNA_SERVER_JSON_BYTES', base.jsonBytes),
    rateLimit: num('REYNA_SERVER_RATE_LIMIT', base.rateLimit),
    rateWindowMs: num('REYNA_SERVER_RATE_WINDOW_MS', base.rateWindowMs),
    quotas: {
      blobs: num('REYNA_SERVER_QUOTA_BLOBS', base.quotas.blobs),
      buckets: num('REYNA_SERVER_QUOTA_BUCKETS', base.quotas.buckets),
      bytes: num('REYNA_SERVER_QUOTA_BYTES', base.quotas.bytes),
    },
  };
}
