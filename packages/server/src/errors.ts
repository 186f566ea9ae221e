import { ReynaError, type ReynaErrorOptions } from '@reyna/core/errors';

/** A ReynaError that knows its HTTP status: what the store and routes throw for the client to see. */
export class ApiError extends ReynaError {
  readonly status: number;
  /** Seconds, for 429 and 503 answers. */
  readonly retryAfter: number | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options: ReynaErrorOptions & { retryAfter?: number } = {},
  ) {
    super(code, message, options);
    this.status = status;
    this.retryAfter = options.retryAfter;
  }
}

export const notFound = (what: string, id: string) =>
  new ApiError(404, 'E_NOT_FOUND', `No ${what} "${id}"`, {
    hint: `Check the ${what} id; list yours with GET /v1/${what}s.`,
  });

export const badInput = (message: string, details?: Record<string, unknown>, hint?: string) =>
  new ApiError(400, 'E_BAD_REQUEST', message, {
    details,
    hint: hint ?? 'See GET /v1/openapi.json for the expected shape.',
  });
