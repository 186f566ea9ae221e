import { type IncomingMessage, request, type ServerResponse } from 'node:http';

/** Headers of reyna dev's own (x-reyna-…): never taken from a client, never shown to the app. */
const OWN = /^x-reyna-/i;

/**
 * Passes a request on to workerd's HTTP port as it came (method, path, headers, a streamed body), for the Worker
 * version named in `headers`, and streams the answer back. The Host header stays the client's, so the Worker sees
 * the URL the browser asked for.
 */
export function proxy(
  req: IncomingMessage,
  res: ServerResponse,
  port: number,
  headers: Record<string, string>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const raw: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] as string;
      if (OWN.test(name) || name.toLowerCase() === 'cf-connecting-ip') continue;
      raw.push(name, req.rawHeaders[i + 1] as string);
    }
    // As Cloudflare's edge tells a Worker who is asking.
    raw.push('cf-connecting-ip', req.socket.remoteAddress ?? '127.0.0.1');
    for (const [name, value] of Object.entries(headers)) raw.push(name, value);
    const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: raw });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
      answer.pipe(res);
      answer.on('error', reject);
    });
    upstream.on('error', reject);
    // A client that goes away cancels the Worker's request (a stream it was reading, say).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
      resolve();
    });
    req.pipe(upstream);
  });
}

/** A request from this process to workerd: its status and body. */
export function ask(port: number, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port, path: '/', headers }, (answer) => {
      let text = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => (text += chunk));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, text }));
      answer.on('error', reject);
    });
    call.on('error', reject);
    call.end();
  });
}
