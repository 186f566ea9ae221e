import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

type FetchLike = (url: string, init: RequestInit & { duplex?: 'half' }) => Promise<Response>;

// Hop-by-hop headers belong to one connection, not to the request or answer.
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

/**
 * A Node request's end-to-end headers. `MF-*` headers steer Miniflare (which Worker answers, the original URL):
 * a client may not send them.
 */
export function requestHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined || key.startsWith(':') || HOP.has(key) || key === 'host' || key.startsWith('mf-')) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(key, item);
  }
  return headers;
}

/** Hands a Node request to a fetch-style handler (Miniflare) and streams its answer back. */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
  extra: Record<string, string>,
  fetch: FetchLike,
): Promise<void> {
  const headers = requestHeaders(req);
  for (const [key, value] of Object.entries(extra)) headers.set(key, value);
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const response = await fetch(url, {
    method,
    headers,
    redirect: 'manual',
    ...(hasBody ? { body: Readable.toWeb(req) as unknown as RequestInit['body'], duplex: 'half' as const } : {}),
  });
  await send(res, response, method);
}

/** Streams a fetch Response to a Node response. */
export async function send(res: ServerResponse, response: Response, method: string): Promise<void> {
  const out: Record<string, string | string[]> = {};
  // Miniflare decodes a compressed body and says so in MF-Content-Encoding: the length no longer holds.
  const decoded = response.headers.has('mf-content-encoding');
  response.headers.forEach((value, key) => {
    if (key === 'set-cookie' || HOP.has(key) || key === 'mf-content-encoding') return;
    if (decoded && key === 'content-length') return;
    out[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) out['set-cookie'] = cookies;
  res.writeHead(response.status, response.statusText, out);
  if (!response.body || method === 'HEAD') {
    await response.body?.cancel();
    res.end();
    return;
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (res.destroyed) break;
    if (!res.write(chunk)) {
      await new Promise((r) => {
        res.once('drain', r);
        res.once('close', r);
      });
    }
  }
  res.end();
}
