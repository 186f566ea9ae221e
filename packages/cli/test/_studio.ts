// A real studio server in the test process (PGlite, HTTP on 127.0.0.1), for the binary to talk to.
import { join } from 'node:path';
import { type StartedServer, startServer } from '@reyna/server';
import { tempDir } from './_reyna.js';

export interface Studio {
  url: string;
  token: string;
  /** Creates an app and returns its id. */
  createApp(name: string): Promise<string>;
  /** The app's build records, newest first. */
  builds(appId: string): Promise<{ status: string; durationMs: number; sizes: Record<string, number> }[]>;
  close(): Promise<void>;
}

export async function startStudio(): Promise<Studio> {
  const server: StartedServer = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir: join(tempDir('reyna-studio-'), 'data'),
    env: { REYNA_LOG_LEVEL: 'warn' },
  });
  const token = server.ownerToken as string;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    url: server.url,
    token,
    createApp: async (name) => ((await api('POST', '/apps', { name })) as { id: string }).id,
    builds: async (appId) => ((await api('GET', `/apps/${appId}/builds`)) as { builds: never[] }).builds,
    close: () => server.close(),
  };
}
