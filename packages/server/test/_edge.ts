// Requests to the local edge as a browser would send them to http://<app>.localhost:<port>/, made to 127.0.0.1
// with that Host header (only loopback traffic).
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { procStat } from '../src/edge/_reaper.js';

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
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((child) => {
      const stat = procStat(child);
      return stat?.comm === 'workerd' && stat.ppid === pid;
    });
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
