import type { z } from 'zod';
import { ReynaError } from '../errors.js';
import { API_PREFIX, CreatedToken, ErrorBody, TokenInfo, TokenList, WhoAmI } from '../protocol/api.js';

export interface StudioClientOptions {
  server: string;
  token: string;
  fetch?: typeof globalThis.fetch;
  signal?: AbortSignal;
}

/**
 * A thin client of the studio server: JSON in, answers parsed with the protocol's schemas, and the server's
 * `{ error: { code, message, hint } }` turned back into a ReynaError with the same code and hint.
 */
export class StudioClient {
  private readonly fetch: typeof globalThis.fetch;

  constructor(private readonly options: StudioClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async request<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    const url = `${this.options.server}${path}`;
    let res: Response;
    try {
      res = await this.fetch(url, {
        method,
        signal: this.options.signal,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      if (this.options.signal?.aborted) throw this.options.signal.reason ?? error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ReynaError(
        'E_SERVER_UNREACHABLE',
        `Cannot reach ${this.options.server}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
        {
          hint: 'Check the URL, and that the server runs (`reyna server start`).',
        },
      );
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const parsed = ErrorBody.safeParse(data);
      if (parsed.success) {
        const { code, message, hint, details } = parsed.data.error;
        throw new ReynaError(code, message, { hint, details: { ...details, status: res.status } });
      }
      throw new ReynaError('E_SERVER_ERROR', `${method} ${url} answered HTTP ${res.status}`, {
        hint: 'Is this a Reyna studio server? Check the URL.',
      });
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new ReynaError('E_SERVER_ERROR', `${method} ${url} answered something unexpected`, {
        hint: 'The server and this reyna may be different versions; update both.',
      });
    }
    return parsed.data;
  }

  whoami() {
    return this.request('GET', `${API_PREFIX}/whoami`, WhoAmI);
  }

  createToken(user: string, options: { name?: string; admin?: boolean } = {}) {
    return this.request('POST', `${API_PREFIX}/tokens`, CreatedToken, { user, ...options });
  }

  /** Your tokens; an admin may ask for one user's (`user`) or everyone's (`all`). */
  listTokens(options: { user?: string; all?: boolean } = {}) {
    const query = options.all ? '?all=true' : options.user ? `?user=${encodeURIComponent(options.user)}` : '';
    return this.request('GET', `${API_PREFIX}/tokens${query}`, TokenList);
  }

  revokeToken(tokenId: string) {
    return this.request('DELETE', `${API_PREFIX}/tokens/${encodeURIComponent(tokenId)}`, TokenInfo);
  }
}
