import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FsBlobStore } from './adapters/blobs-fs.js';
import { MemoryEventBus } from './adapters/events-memory.js';
import { openPglite } from './adapters/sql-pglite.js';
import { SqlStore } from './adapters/store-sql.js';
import type { BlobStore } from './blob-store.js';
import type { EventBus } from './event-bus.js';
import type { Store } from './store.js';

export interface BackendOptions {
  /** Holds `pg/` (PGlite, unless databaseUrl) and `blobs/`. */
  dataDir: string;
  /** PostgreSQL instead of PGlite (DATABASE_URL). */
  databaseUrl?: string;
  /** Schema inside that database (REYNA_DATABASE_SCHEMA); the connection's default when unset. */
  databaseSchema?: string;
  /** NATS instead of in-process events (NATS_URL). */
  natsUrl?: string;
  /** Use the prepared PGlite data dir on a fresh start (default true). */
  prepared?: boolean;
  /** PGlite's shared_buffers (REYNA_SERVER_PGLITE_BUFFERS), default 32MB. */
  pgliteBuffers?: string;
}

export interface Backends {
  store: Store;
  blobs: BlobStore;
  events: EventBus;
  /** Migration versions applied by this start. */
  migrated: number[];
  close(): Promise<void>;
}

/** Opens the store (migrated), blob store and event bus that the options and environment ask for. */
export async function openBackends(options: BackendOptions): Promise<Backends> {
  await mkdir(options.dataDir, { recursive: true });
  let sql: Awaited<ReturnType<typeof openPglite>>;
  if (options.databaseUrl) {
    const { openPostgres } = await import('./adapters/sql-postgres.js');
    sql = await openPostgres({ connectionString: options.databaseUrl, schema: options.databaseSchema });
  } else {
    sql = await openPglite(join(options.dataDir, 'pg'), {
      prepared: options.prepared,
      sharedBuffers: options.pgliteBuffers,
    });
  }
  const store = new SqlStore(sql);
  let events: EventBus | undefined;
  try {
    const migrated = await store.migrate();
    events = options.natsUrl
      ? await (await import('./adapters/events-nats.js')).NatsEventBus.connect(options.natsUrl)
      : new MemoryEventBus();
    const blobs = new FsBlobStore(join(options.dataDir, 'blobs'));
    const bus = events;
    return {
      store,
      blobs,
      events: bus,
      migrated,
      async close() {
        await bus.close();
        await store.close();
      },
    };
  } catch (error) {
    await events?.close().catch(() => {});
    await store.close().catch(() => {});
    throw error;
  }
}
