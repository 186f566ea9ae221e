// Requests to the local edge as a browser would send them to http://<app>.localhost:<port>/, made to 127.0.0.1
// with that Host header (only loopback traffic).
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';

export interface EdgeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function edgeGet(
  port: number,
  host: string,
  path = '/',
  headers: Record<string, string> = {},
): Promise<EdgeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', headers: { ...headers, host: `${host}:${port}` } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A browser's top-level navigation (what Cloudflare's not_found_handling looks at). */
export const NAVIGATE = { 'sec-fetch-mode': 'navigate', accept: 'text/html' };

/** The workerd processes whose parent is `pid` (Linux /proc). */
export function workerdChildren(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid …; comm may hold spaces, so split after its closing parenthesis.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (comm === 'workerd' && ppid === pid) found.push(Number(entry));
  }
  return found;
}

/** Polls until `workerdChildren(pid)` has `count` entries (a replaced generation is disposed asynchronously). */
export async function settleWorkerd(pid: number, count: number, timeoutMs = 10_000): Promise<number[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const now = workerdChildren(pid);
    if (now.length === count || Date.now() > until) return now;
    await new Promise((r) => setTimeout(r, 50));
  }
}
