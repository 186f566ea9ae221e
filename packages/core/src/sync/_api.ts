import type { z } from 'zod';
import { ReynaError } from '../errors.js';
import { type Checked, type CheckedName, check } from '../protocol/_checks.js';
import type { CommitRequest } from '../protocol/api.js';
import { API_PREFIX, BLOB_BATCH_TYPE, MAX_MISSING_QUERY } from '../protocol/constants.js';
import { type Answer, nodeTransport, type Request, type Transport } from './_http.js';

/** How the transfer client talks to a studio server: where, as whom, and how patiently. */
export interface ApiOptions {
  server: string;
  token: string;
  fetch?: typeof globalThis.fetch;
  signal?: AbortSignal;
  /** Per request, in ms (default 60 s). */
  timeoutMs?: number;
  /** Tries per request, the first included (default 4). */
  attempts?: number;
  /** First backoff in ms, doubled each retry (default 250). */
  backoffMs?: number;
}

interface Call {
  method: string;
  path: string;
  json?: unknown;
  body?: Uint8Array;
  headers?: Record<string, string>;
  /** Statuses answered as they are (no error), e.g. 404 when asking whether something exists. */
  accept?: number[];
  /** Whether a failed try may be repeated: false for requests that are not idempotent. */
  retry?: boolean;
  /** Bytes of `body` sent so far in this try, for a progress display (reported for bodies of 1 MiB or more). */
  onSent?: (bytes: number) => void;
}

/** Bodies this large are streamed, so their progress can be shown while they go. */
const STREAM_BODY_BYTES = 1024 * 1024;
const CHUNK_BYTES = 256 * 1024;

/** `data` as a stream that reports how much of it the request has taken. */
function countingBody(data: Uint8Array, onSent: (bytes: number) => void): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.byteLength) {
        controller.close();
        return;
      }
      const end = Math.min(offset + CHUNK_BYTES, data.byteLength);
      controller.enqueue(data.subarray(offset, end));
      offset = end;
      onSent(offset);
    },
  });
}

/** A response's body, reporting the bytes received so far as they arrive. */
export async function readBody(res: Answer, onReceived?: (bytes: number) => void): Promise<Buffer> {
  if (!onReceived || !res.body) return Buffer.from(await res.arrayBuffer());
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    parts.push(chunk);
    bytes += chunk.byteLength;
    onReceived(bytes);
  }
  return Buffer.concat(parts);
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * A server answer as schema `name` parses it: by the generated check when it can tell (no zod loaded), else by
 * the zod schema itself. Undefined when it does not fit.
 */
async function parse<K extends ApiCheck>(name: K, data: unknown): Promise<Checked[K] | undefined> {
  const checked = check(name, data);
  if (checked !== undefined) return checked;
  const schema: z.ZodType = (await import('../protocol/api.js'))[name];
  const parsed = schema.safeParse(data);
  return parsed.success ? (parsed.data as Checked[K]) : undefined;
}
type ApiCheck = Exclude<CheckedName, 'ReynaConfig'>;

/**
 * The studio client of sync and buckets: every call has a timeout and is retried with backoff when the network
 * or the server stumbles (429 honours Retry-After); the server's `{ error }` becomes a ReynaError with its code.
 */
export class Api {
  readonly server: string;
  private readonly fetch: Transport;

  constructor(readonly options: ApiOptions) {
    this.server = options.server;
    // Without a fetch of the caller's, node:http: Node's own fetch costs more to start than a status takes.
    this.fetch = options.fetch ?? nodeTransport;
  }

  /** One request with timeout and retries; answers the response of the last try. */
  async send(call: Call): Promise<Answer> {
    const attempts = call.retry === false ? 1 : (this.options.attempts ?? 4);
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    const url = `${this.server}${call.path}`;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      this.options.signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
      let res: Answer | undefined;
      // A fresh stream each try: a stream that went once cannot go again.
      const streamed =
        call.body && call.onSent && call.body.byteLength >= STREAM_BODY_BYTES
          ? countingBody(call.body, call.onSent)
          : undefined;
      try {
        res = await this.fetch(url, {
          method: call.method,
          signal,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            ...(call.json === undefined ? {} : { 'content-type': 'application/json' }),
            ...call.headers,
          },
          body: call.json === undefined ? (streamed ?? call.body) : JSON.stringify(call.json),
          ...(streamed ? { duplex: 'half' } : {}),
        } as Request);
      } catch (error) {
        if (this.options.signal?.aborted) throw this.options.signal.reason ?? error;
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        lastError = timeout.aborted
          ? new ReynaError('E_TIMEOUT', `${call.method} ${url} took longer than ${timeoutMs} ms`, {
              hint: 'Check the network and the server, or raise --timeout.',
            })
          : new ReynaError(
              'E_SERVER_UNREACHABLE',
              `Cannot reach ${this.server}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
              { hint: 'Check the URL, and that the server runs (`reyna server start`).' },
            );
      }
      if (res) {
        if (res.ok || call.accept?.includes(res.status)) return res;
        // A 429 without Retry-After is a quota, which waiting does not fix.
        const transient = RETRY_STATUS.has(res.status) && (res.status !== 429 || res.headers.has('retry-after'));
        if (!transient || attempt === attempts) throw await this.toError(res, call, url);
        lastError = await this.toError(res, call, url);
        const retryAfter = Number(res.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) {
          await sleep(Math.min(retryAfter, 60) * 1000, this.options.signal);
          continue;
        }
      }
      if (attempt < attempts) {
        const base = (this.options.backoffMs ?? 250) * 2 ** (attempt - 1);
        await sleep(base / 2 + Math.random() * base, this.options.signal);
      }
    }
    throw lastError;
  }

  private async toError(res: Answer, call: Call, url: string): Promise<ReynaError> {
    const text = await res.text().catch(() => '');
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    const body = await parse('ErrorBody', data);
    if (body) {
      const { code, message, hint, details } = body.error;
      return new ReynaError(code, message, { hint, details: { ...details, status: res.status } });
    }
    return new ReynaError('E_SERVER_ERROR', `${call.method} ${url} answered HTTP ${res.status}`, {
      hint: 'Is this a Reyna studio server? Check the URL.',
      details: { status: res.status },
    });
  }

  /** A JSON request whose answer is parsed with `schema` (a zod schema, or the name of a generated check). */
  async json<K extends ApiCheck>(call: Call, schema: K): Promise<Checked[K]>;
  async json<S extends z.ZodType>(call: Call, schema: S): Promise<z.infer<S>>;
  async json(call: Call, schema: z.ZodType | ApiCheck): Promise<unknown> {
    const res = await this.send(call);
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    const parsed = typeof schema === 'string' ? await parse(schema, data) : schema.safeParse(data).data;
    if (parsed === undefined) {
      throw new ReynaError(
        'E_SERVER_ERROR',
        `${call.method} ${this.server}${call.path} answered something unexpected`,
        {
          hint: 'The server and this reyna may be different versions; update both.',
        },
      );
    }
    return parsed;
  }

  // Apps and revisions

  createApp(name: string) {
    return this.json({ method: 'POST', path: `${API_PREFIX}/apps`, json: { name }, retry: false }, 'App');
  }
  listApps() {
    return this.json({ method: 'GET', path: `${API_PREFIX}/apps` }, 'AppList');
  }
  getApp(appId: string) {
    return this.json({ method: 'GET', path: `${API_PREFIX}/apps/${encodeURIComponent(appId)}` }, 'App');
  }
  async deleteApp(appId: string): Promise<void> {
    await this.send({ method: 'DELETE', path: `${API_PREFIX}/apps/${encodeURIComponent(appId)}` });
  }
  getRevision(appId: string, revisionId: string) {
    return this.json(
      {
        method: 'GET',
        path: `${API_PREFIX}/apps/${encodeURIComponent(appId)}/revisions/${encodeURIComponent(revisionId)}`,
      },
      'RevisionWithFiles',
    );
  }
  /** Not retried: a commit that reached the server and lost its answer must not be sent twice. */
  commit(appId: string, request: CommitRequest) {
    return this.json(
      {
        method: 'POST',
        path: `${API_PREFIX}/apps/${encodeURIComponent(appId)}/revisions`,
        json: request,
        retry: false,
      },
      'Revision',
    );
  }

  // Blobs

  /** Which of `hashes` the server lacks for this user, asked in chunks the server accepts. */
  async missing(hashes: string[]): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < hashes.length; i += MAX_MISSING_QUERY) {
      const chunk = hashes.slice(i, i + MAX_MISSING_QUERY);
      const answer = await this.json(
        { method: 'POST', path: `${API_PREFIX}/blobs/missing`, json: { hashes: chunk } },
        'MissingResponse',
      );
      out.push(...answer.missing);
    }
    return out;
  }
  /** Uploads one batch body (all or nothing on the server, so a retry is safe). */
  uploadBatch(body: Uint8Array, onSent?: (bytes: number) => void) {
    return this.json(
      {
        method: 'POST',
        path: `${API_PREFIX}/blobs/batch`,
        body,
        headers: { 'content-type': BLOB_BATCH_TYPE },
        onSent,
      },
      'BlobBatchResponse',
    );
  }
  /** A blob's bytes. */
  async blob(sha256: string, onReceived?: (bytes: number) => void): Promise<Buffer> {
    const res = await this.send({ method: 'GET', path: `${API_PREFIX}/blobs/${sha256}` });
    return readBody(res, onReceived);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Follows `GET /v1/events` (Server-Sent Events) until `signal` aborts, calling `onEvent` for each; a dropped
 * stream is opened again after a pause. `onOpen` runs each time the stream is (re)established (the server's
 * `ready`: from then on, every event reaches `onEvent`), `onDrop` each time an opened stream ended or broke.
 */
export async function followEvents(
  api: Api,
  options: {
    subject: string;
    onEvent: (subject: string, data: string) => void;
    onOpen?: () => void;
    onDrop?: () => void;
  },
): Promise<void> {
  const fetch = api.options.fetch ?? globalThis.fetch;
  const signal = api.options.signal;
  const url = `${api.server}${API_PREFIX}/events?subject=${encodeURIComponent(options.subject)}`;
  let pause = 250;
  while (!signal?.aborted) {
    let opened = false;
    try {
      const res = await fetch(url, {
        signal,
        headers: { authorization: `Bearer ${api.options.token}`, accept: 'text/event-stream' },
      });
      if (res.status === 401 || res.status === 403 || res.status === 404) {
        const body = await res.text();
        const parsed = await parse('ErrorBody', JSON.parse(body || '{}'));
        throw parsed
          ? new ReynaError(parsed.error.code, parsed.error.message, { hint: parsed.error.hint })
          : new ReynaError('E_SERVER_ERROR', `GET ${url} answered HTTP ${res.status}`);
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      pause = 250;
      const decoder = new TextDecoder();
      let buffer = '';
      const reader = res.body.getReader();
      // Some fetch implementations (an in-process server) do not end the body when the signal aborts.
      const stop = () => void reader.cancel().catch(() => {});
      signal?.addEventListener('abort', stop, { once: true });
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done || !value) break;
        buffer += decoder.decode(value, { stream: true }).replaceAll('\r\n', '\n');
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (event === 'ready') {
            opened = true;
            options.onOpen?.();
          } else options.onEvent(event, data.join('\n'));
          end = buffer.indexOf('\n\n');
        }
      }
      signal?.removeEventListener('abort', stop);
    } catch (error) {
      if (signal?.aborted) return;
      if (error instanceof ReynaError) throw error;
    } finally {
      if (opened) options.onDrop?.();
    }
    if (signal?.aborted) return;
    await sleep(pause, signal).catch(() => {});
    pause = Math.min(pause * 2, 10_000);
  }
}
