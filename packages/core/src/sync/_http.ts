// The studio client's HTTP transport when none is given: node:http(s) behind the part of fetch the client uses.
// Node's fetch (undici) costs 50–90 ms to load and start on first use, about a fifth of a whole `reyna status`
// on a large tree; node:http is loaded with Node itself. It follows redirects as fetch does (the method becomes
// GET after a 303, or after a 301/302 of a POST; Authorization is dropped when the origin changes).
import type { IncomingMessage } from 'node:http';
import { ReynaError } from '../errors.js';

/** What the client reads of an answer: a fetch Response has all of it. */
export interface Answer {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
  readonly body: AsyncIterable<Uint8Array> | null;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface Request {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | ReadableStream<Uint8Array> | null;
  signal?: AbortSignal;
}

export type Transport = (url: string, init: Request) => Promise<Answer>;

const MAX_REDIRECTS = 20;

/** A request over node:http or node:https, answered like fetch would (network errors reject with a `cause`). */
export async function nodeTransport(url: string, init: Request): Promise<Answer> {
  let target = new URL(url);
  let method = (init.method ?? 'GET').toUpperCase();
  let body = init.body ?? undefined;
  const headers: Record<string, string> = { ...init.headers };
  for (let redirects = 0; ; redirects++) {
    const res = await send(target, method, headers, body, init.signal);
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(res.statusCode ?? 0) || location === undefined)
      return answer(res, init.signal);
    res.resume();
    if (redirects === MAX_REDIRECTS)
      throw new TypeError('fetch failed', { cause: new Error('redirect count exceeded') });
    const next = new URL(location, target);
    if (res.statusCode === 303 ? method !== 'HEAD' : [301, 302].includes(res.statusCode ?? 0) && method === 'POST') {
      method = 'GET';
      body = undefined;
      for (const name of Object.keys(headers)) if (/^content-/i.test(name)) delete headers[name];
    } else if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new TypeError('fetch failed', { cause: new Error('a streamed body cannot follow a redirect') });
    }
    if (next.origin !== target.origin)
      for (const name of Object.keys(headers))
        if (/^(authorization|cookie|proxy-authorization)$/i.test(name)) delete headers[name];
    target = next;
  }
}

async function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Request['body'],
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  signal?.throwIfAborted();
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ReynaError('E_BAD_SERVER_URL', `"${url.href}" is not an http(s) URL`, {
      hint: 'Pass --server http(s)://host:port',
    });
  // Taken synchronously, so the request is under way before the caller's next await.
  const { request } = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { method, headers, signal });
    req.once('response', resolve);
    req.once('error', (error) =>
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error })),
    );
    if (body === undefined || body === null) req.end();
    else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
    else void pipeStream(body, req).catch((error: unknown) => req.destroy(error as Error));
  });
}

/** Writes a web stream into the request, waiting for the socket to drain between chunks. */
async function pipeStream(body: ReadableStream<Uint8Array>, req: import('node:http').ClientRequest): Promise<void> {
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!req.write(value)) await new Promise<void>((resolve) => req.once('drain', resolve));
  }
  req.end();
}

function answer(res: IncomingMessage, signal: AbortSignal | undefined): Answer {
  const status = res.statusCode ?? 0;
  const get = (name: string) => {
    const value = res.headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  };
  let used = false;
  const take = () => {
    if (used) throw new TypeError('Body is unusable: Body has already been read');
    used = true;
    return res;
  };
  // A timeout or an abort while the body arrives rejects the read, as it does with fetch.
  const all = async (): Promise<Buffer> => {
    const parts: Buffer[] = [];
    try {
      for await (const chunk of take()) parts.push(chunk as Buffer);
    } catch (error) {
      throw signal?.aborted ? signal.reason : error;
    }
    return Buffer.concat(parts);
  };
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get, has: (name) => get(name) !== null },
    // Iterating it takes the body, as reading a fetch body does.
    body: { [Symbol.asyncIterator]: () => (take() as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]() },
    text: async () => (await all()).toString('utf8'),
    arrayBuffer: async () => {
      const data = await all();
      return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    },
  };
}
