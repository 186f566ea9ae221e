// The node:http transport of the studio client against real HTTP servers on loopback, beside Node's fetch: the
// same answers for what the client reads, and fetch's behaviour on redirects, errors and aborts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, readBody } from './_api.js';
import { nodeTransport, type Request } from './_http.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
async function serve(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const chunk of req) parts.push(chunk as Buffer);
    handler(req, Buffer.concat(parts), res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let main: { server: Server; url: string };
let other: { server: Server; url: string };
const big = Buffer.alloc(3 * 1024 * 1024, 7);

beforeAll(async () => {
  other = await serve((req, body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization ?? null, body: body.toString() }));
  });
  main = await serve((req, body, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const echo = () => ({
      method: req.method,
      path: url.pathname,
      auth: req.headers.authorization ?? null,
      type: req.headers['content-type'] ?? null,
      length: body.byteLength,
      body: body.byteLength < 1000 ? body.toString() : undefined,
    });
    if (url.pathname === '/echo') {
      res.writeHead(201, { 'content-type': 'application/json', 'x-two': ['a', 'b'] });
      res.end(JSON.stringify(echo()));
    } else if (url.pathname === '/big') {
      res.writeHead(200, { 'content-length': String(big.byteLength) });
      res.end(big);
    } else if (url.pathname === '/slow') {
      res.writeHead(200);
      res.write('part');
      // Never ends: the caller's timeout must.
    } else if (url.pathname === '/error') {
      res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'E_BUSY', message: 'busy', hint: 'wait' } }));
    } else if (url.pathname.startsWith('/to/')) {
      const [, , status, where] = url.pathname.split('/');
      res.writeHead(Number(status), { location: where === 'other' ? `${other.url}/landed` : '/echo' });
      res.end();
    } else {
      res.writeHead(404);
      res.end('no');
    }
  });
});
afterAll(async () => {
  for (const s of [main, other]) {
    s?.server.closeAllConnections();
    await new Promise((resolve) => s?.server.close(resolve));
  }
});

/** Both transports' answers to one request, reduced to what the client reads. */
async function both(path: string, init: Request) {
  const read = async (transport: typeof nodeTransport) => {
    const res = await transport(`${main.url}${path}`, init);
    return { ok: res.ok, status: res.status, two: res.headers.get('x-two'), text: await res.text() };
  };
  const [mine, theirs] = await Promise.all([read(nodeTransport), read(globalThis.fetch as typeof nodeTransport)]);
  expect(mine).toEqual(theirs);
  return mine;
}

describe('nodeTransport', () => {
  it('answers as fetch does: status, headers, JSON and binary bodies', async () => {
    const got = await both('/echo', {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(got).toMatchObject({ ok: true, status: 201, two: 'a, b' });
    expect(JSON.parse(got.text)).toMatchObject({ method: 'POST', auth: 'Bearer t', body: '{"a":1}' });
    const bytes = await both('/echo', { method: 'PUT', body: new Uint8Array([104, 105]) });
    expect(JSON.parse(bytes.text)).toMatchObject({ length: 2, body: 'hi' });
    expect(await both('/nothing', {})).toMatchObject({ ok: false, status: 404, text: 'no' });
  });

  it('streams a body up and down', async () => {
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= big.byteLength) return c.close();
        c.enqueue(big.subarray(sent, sent + 256 * 1024));
        sent += 256 * 1024;
      },
    });
    const up = await nodeTransport(`${main.url}/echo`, { method: 'POST', body: stream });
    expect(JSON.parse(await up.text())).toMatchObject({ length: big.byteLength });
    const seen: number[] = [];
    const down = await readBody(await nodeTransport(`${main.url}/big`, {}), (n) => seen.push(n));
    expect(down.equals(big)).toBe(true);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toBe(big.byteLength);
    const res = await nodeTransport(`${main.url}/big`, {});
    await res.arrayBuffer();
    await expect(res.text()).rejects.toThrow(/already been read/);
  });

  it('follows redirects as fetch does, dropping Authorization for another origin', async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      const got = await both(`/to/${status}/here`, {
        method: 'POST',
        headers: { authorization: 'Bearer t', 'content-type': 'text/plain' },
        body: 'payload',
      });
      const echo = JSON.parse(got.text);
      const keeps = status === 307 || status === 308;
      expect(echo, String(status)).toMatchObject({
        method: keeps ? 'POST' : 'GET',
        auth: 'Bearer t',
        body: keeps ? 'payload' : '',
        type: keeps ? 'text/plain' : null,
      });
    }
    const away = await both('/to/307/other', { method: 'POST', headers: { authorization: 'Bearer t' }, body: 'x' });
    expect(JSON.parse(away.text)).toEqual({ method: 'POST', auth: null, body: 'x' });
  });

  it('rejects like fetch on a refused connection, and with the abort reason on a timeout', async () => {
    const closed = await serve(() => {});
    const url = closed.url;
    await new Promise((resolve) => closed.server.close(resolve));
    const refused = await nodeTransport(`${url}/x`, {}).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    // Aborted while the body arrives.
    const res = await nodeTransport(`${main.url}/slow`, { signal: AbortSignal.timeout(200) });
    await expect(res.text()).rejects.toMatchObject({ name: 'TimeoutError' });
    const before = AbortSignal.abort(new Error('stop'));
    await expect(nodeTransport(`${main.url}/echo`, { signal: before })).rejects.toThrow('stop');
  });

  it('is what Api uses without a fetch: errors, retries and timeouts behave as with fetch', async () => {
    const api = new Api({ server: main.url, token: 't', attempts: 2, backoffMs: 1, timeoutMs: 300 });
    const error = await api.send({ method: 'GET', path: '/error' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_BUSY', message: 'busy', hint: 'wait', details: { status: 503 } });
    const slow = await api.send({ method: 'GET', path: '/slow' });
    expect(slow.status).toBe(200);
    const gone = new Api({ server: 'http://127.0.0.1:1', token: 't', attempts: 1 });
    await expect(gone.send({ method: 'GET', path: '/' })).rejects.toMatchObject({
      code: 'E_SERVER_UNREACHABLE',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });
});
