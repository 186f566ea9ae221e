// Requests to the local edge as a browser would send them to http://<app>.localhost:<port>/, made to 127.0.0.1
// with that Host header (only loopback traffic).
import { request } from 'node:http';

export interface EdgeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function edgeGet(port: number, host: string, path = '/'): Promise<EdgeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', headers: { host: `${host}:${port}` } },
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
