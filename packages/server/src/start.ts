import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { limitsFromEnv } from './limits.js';
import { type Backends, openBackends } from './open.js';
import type { ServerLogger } from './server.js';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** `$XDG_DATA_HOME/reyna/server`, else `~/.local/share/reyna/server`. */
export function defaultDataDir(env: Record<string, string | undefined>, home: string = homedir()): string {
  const base = env.XDG_DATA_HOME || join(env.HOME || home, '.local', 'share');
  return join(base, 'reyna', 'server');
}

export interface StartOptions {
  port: number;
  host: string;
  dataDir: string;
  /** DATABASE_URL, NATS_URL, REYNA_DATABASE_SCHEMA, REYNA_SERVER_* limits and PGlite settings, REYNA_LOG_LEVEL. */
  env: Record<string, string | undefined>;
  /** Where JSON log lines go (default: stderr). */
  logStream?: NodeJS.WritableStream;
  logger?: ServerLogger;
  /** Port of the local edge that serves deployed apps (0 picks a free one); no edge when undefined. */
  edgePort?: number;
}

export interface StartedServer {
  url: string;
  port: number;
  dataDir: string;
  store: string;
  events: string;
  /** `http://localhost:<port>` when the edge runs; apps are at `http://<app>.localhost:<port>/`. */
  edgeUrl?: string;
  edgePort?: number;
  /** The owner's token, only on the first start of an empty store: show it once, it is not stored. */
  ownerToken?: string;
  /** Milliseconds from the call to listening. */
  readyMs: number;
  close(): Promise<void>;
}

/** Opens the backends, creates the owner on an empty store, and serves: what `reyna server start` runs. */
export async function startServer(options: StartOptions): Promise<StartedServer> {
  const started = performance.now();
  const { env } = options;
  const limits = limitsFromEnv(env);
  // Hono, pino and the routes load while PGlite starts, instead of after it.
  const modules = Promise.all([import('./server.js'), import('./listen.js')]);
  const loggerReady = options.logger
    ? Promise.resolve(options.logger)
    : pinoLogger(env.REYNA_LOG_LEVEL ?? 'info', options.logStream ?? process.stderr);
  modules.catch(() => {});
  loggerReady.catch(() => {});
  const backends: Backends = await openBackends({
    dataDir: options.dataDir,
    databaseUrl: env.DATABASE_URL || undefined,
    databaseSchema: env.REYNA_DATABASE_SCHEMA || undefined,
    natsUrl: env.NATS_URL || undefined,
    // 0 makes a fresh data dir run initdb instead of copying the prepared one (for bench/server-start).
    prepared: env.REYNA_SERVER_PREPARED !== '0',
    pgliteBuffers: env.REYNA_SERVER_PGLITE_BUFFERS || undefined,
  });
  let edge: import('./edge/host.js').Edge | undefined;
  try {
    const owner = await backends.store.bootstrap();
    const [[{ createServer }, { listen }], logger] = await Promise.all([modules, loggerReady]);
    if (options.edgePort !== undefined) {
      // Miniflare loads only here, so a server without an edge (and `reyna --version`) never pays for it.
      const { Edge } = await import('./edge/host.js');
      edge = await Edge.start({
        dir: join(options.dataDir, 'edge'),
        blobs: backends.blobs,
        port: options.edgePort,
        host: options.host,
        logger,
      });
    }
    const app = createServer({ ...backends, limits, logger, version: VERSION, ...(edge ? { edge } : {}) });
    const listening = await listen(app, { port: options.port, host: options.host });
    logger.info(
      { url: listening.url, store: backends.store.kind, events: backends.events.kind, migrated: backends.migrated },
      'listening',
    );
    return {
      url: listening.url,
      port: listening.port,
      dataDir: options.dataDir,
      store: backends.store.kind,
      events: backends.events.kind,
      ...(edge ? { edgeUrl: edge.url, edgePort: edge.port } : {}),
      ...(owner ? { ownerToken: owner.token } : {}),
      readyMs: Math.round(performance.now() - started),
      async close() {
        await listening.close();
        await app.shutdown();
        await edge?.close();
        await backends.close();
      },
    };
  } catch (error) {
    await edge?.close().catch(() => {});
    await backends.close().catch(() => {});
    throw error;
  }
}

async function pinoLogger(level: string, stream: NodeJS.WritableStream): Promise<ServerLogger> {
  const { pino } = await import('pino');
  return pino({ level, base: { service: 'reyna-server' } }, stream) as unknown as ServerLogger;
}
