import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

type FetchLike = (url: string, init: RequestInit & { duplex?: 'half' }) => Promise<Response>;

/** Hands a Node request to a fetch-style handler (Miniflare) and streams its answer back. */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  origin: string,
  fetch: FetchLike,
): Promise<void> {
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined || key.startsWith(':')) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(key, item);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const response = await fetch(new URL(req.url ?? '/', origin).href, {
    method,
    headers,
    redirect: 'manual',
    ...(hasBody ? { body: Readable.toWeb(req) as unknown as RequestInit['body'], duplex: 'half' as const } : {}),
  });
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') out[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) out['set-cookie'] = cookies;
  res.writeHead(response.status, response.statusText, out);
  if (!response.body || method === 'HEAD') {
    res.end();
    return;
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  res.end();
}
