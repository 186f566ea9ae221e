// The local edge: every deployed app in workerd (Miniflare), behind one HTTP port that routes
// `http://<app-name>.localhost:<port>/` (or `<appId>.localhost`) to that app's Worker and static files.
//
// One Miniflare per app: Miniflare 4 names the assets storage service the same for every Worker in an instance
// (`assets:storage`, first one wins), so two apps with static files in one instance would read each other's
// files. And Miniflare's setOptions() stops workerd before it starts the new one, which would fail requests in
// flight and leave a gap while the new one boots. So a deployment starts a new instance for that app beside the
// serving one, and only once it is ready do the app's requests move to it; the old one finishes what it has in
// flight and is disposed. Requests see the old deployment or the new one, never a gap or half of one, and a
// deployment of one app never pauses another.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Miniflare } from 'miniflare';
import type { BlobStore } from '../blob-store.js';
import { ApiError } from '../errors.js';
import type { ServerLogger } from '../server.js';
import { forward } from './_forward.js';
import { type EdgeAppState, type EdgeRecord, type EdgeState, readState, writeState } from './_state.js';
import { assetsDir, type EdgeVersionSpec, materialise, modulesDir, readVersion, versionDir } from './_versions.js';

export type { EdgeAppState, EdgeRecord } from './_state.js';
export type { EdgeVersionSpec } from './_versions.js';

const silent: ServerLogger = { info() {}, warn() {}, error() {}, child: () => silent };

export interface EdgeOptions {
  /** Holds `state.json` and `versions/`. */
  dir: string;
  blobs: BlobStore;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  logger?: ServerLogger;
  /** How long a replaced generation may finish its requests before it is disposed (default 30 s). */
  drainMs?: number;
}

export interface EdgeApp {
  id: string;
  name: string;
  ownerId: string;
}

interface Generation {
  mf: Miniflare;
  versionId: string;
  inflight: number;
  idle?: () => void;
}

/** Parses `<label>.localhost[:port]`. */
export function hostLabel(host: string | undefined): string | undefined {
  const m = /^([a-z0-9](?:[a-z0-9-]{0,62}))\.localhost\.?(?::\d+)?$/.exec((host ?? '').toLowerCase());
  return m?.[1];
}

export class Edge {
  /** What serves each app now, by app id. */
  private current = new Map<string, Generation>();
  /** Host label (app name or id) → app id. */
  private routes = new Map<string, string>();
  private retiring = new Set<Generation>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly statePath: string;
  private readonly log: ServerLogger;
  private server: Server | undefined;
  /** Requests served per app since the last takeServed(). */
  private served = new Map<string, number>();
  port = 0;

  private constructor(
    private readonly options: EdgeOptions,
    private state: EdgeState,
  ) {
    this.statePath = join(options.dir, 'state.json');
    this.log = (options.logger ?? silent).child({ component: 'edge' });
  }

  /** Loads what was deployed before, serves it, and listens. */
  static async start(options: EdgeOptions): Promise<Edge> {
    const edge = new Edge(options, await readState(join(options.dir, 'state.json')));
    try {
      const apps = Object.values(edge.state.apps).filter((a) => a.active);
      const started = await Promise.allSettled(
        apps.map(async (a) => {
          const generation = await edge.generation(a.appId, a.active as string);
          if (generation) edge.current.set(a.appId, generation);
        }),
      );
      for (const [i, result] of started.entries()) {
        if (result.status === 'rejected') {
          const reason = (result.reason as Error).message;
          edge.log.error({ appId: apps[i]?.appId, err: reason }, 'could not start a deployed app; it is not served');
        }
      }
      edge.routes = routesOf(edge.state);
      await edge.listen();
    } catch (error) {
      await edge.close();
      throw error;
    }
    return edge;
  }

  /** `http://localhost:<port>`; apps are at `http://<name>.localhost:<port>/`. */
  get url(): string {
    return `http://localhost:${this.port}`;
  }

  /** The app's URL: by name, unless an app deployed earlier holds that name here, then by id. */
  appUrl(app: { id: string; name: string }, state: EdgeState = this.state): string {
    return `http://${this.labelOf(app, state)}.localhost:${this.port}/`;
  }

  app(appId: string): EdgeAppState | undefined {
    return this.state.apps[appId];
  }

  version(versionId: string): Promise<EdgeVersionSpec | undefined> {
    return readVersion(this.options.dir, versionId);
  }

  /**
   * Writes the version out of the BlobStore, starts a generation serving it for the app, and switches requests
   * to it once it is ready. Until then, and if it fails, the previous deployment keeps serving.
   */
  deploy(app: EdgeApp, spec: EdgeVersionSpec): Promise<{ versionId: string; url: string; reused: boolean }> {
    return this.exclusive(async () => {
      const serving = this.state.apps[app.id]?.active;
      const { versionId, reused } = await materialise(
        this.options.dir,
        this.options.blobs,
        spec,
        serving ? [serving] : [],
      );
      const url = await this.activate(app, versionId);
      return { versionId, url, reused };
    });
  }

  /** Serves an earlier version of the app again (rollback). */
  restore(app: EdgeApp, versionId: string): Promise<{ url: string }> {
    return this.exclusive(async () => {
      if (!(await readVersion(this.options.dir, versionId))) {
        throw new ApiError(409, 'E_VERSION_GONE', `Version ${versionId} is no longer on this edge`, {
          hint: 'Deploy that build again with `reyna deploy --target local`.',
        });
      }
      return { url: await this.activate(app, versionId) };
    });
  }

  /** Remembers a deployment record of the app (for list and rollback) and which record serves now. */
  record(appId: string, record: Omit<EdgeRecord, 'seq'>, active: boolean): Promise<EdgeRecord> {
    return this.exclusive(async () => {
      const next = structuredClone(this.state);
      const app = next.apps[appId];
      if (!app) throw new Error(`edge: no app ${appId} to record a deployment for`);
      const saved = { ...record, seq: ++next.seq };
      app.records.push(saved);
      if (active) app.activeRecord = saved.id;
      await writeState(this.statePath, next);
      this.state = next;
      return saved;
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server) {
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    }
    await this.queue.catch(() => {});
    const all = [...this.retiring, ...this.current.values()];
    this.current.clear();
    this.retiring.clear();
    await Promise.allSettled(all.map((g) => g.mf.dispose()));
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private async activate(app: EdgeApp, versionId: string): Promise<string> {
    const next = structuredClone(this.state);
    const entry = next.apps[app.id] ?? { appId: app.id, claimedSeq: ++next.seq, records: [] };
    next.apps[app.id] = { ...entry, name: app.name, ownerId: app.ownerId, active: versionId };
    const old = this.current.get(app.id);
    const fresh = old?.versionId === versionId ? undefined : await this.generation(app.id, versionId);
    // The new instance is ready: from here on the app's requests go to it. State is saved after the swap, so a
    // crash in between restarts with the deployment the client was not told succeeded.
    if (fresh) this.current.set(app.id, fresh);
    this.routes = routesOf(next);
    if (fresh && old) this.retire(old);
    await writeState(this.statePath, next);
    this.state = next;
    return this.appUrl(app, next);
  }

  private labelOf(app: { id: string; name: string }, state: EdgeState): string {
    return labelOf(app, state);
  }

  private async generation(appId: string, versionId: string): Promise<Generation | undefined> {
    const spec = await readVersion(this.options.dir, versionId);
    if (!spec) {
      this.log.error({ appId, versionId }, 'version missing from the edge; the app is not served');
      return undefined;
    }
    const started = performance.now();
    const { Miniflare } = await import('miniflare');
    const log = this.log.child({ appId });
    const mf = new Miniflare({
      host: '127.0.0.1',
      port: 0,
      // Miniflare would otherwise download Cloudflare's request metadata: the edge makes no outside requests.
      cf: false,
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        createInterface({ input: stdout }).on('line', (line) => log.info({ source: 'workerd' }, line));
        createInterface({ input: stderr }).on('line', (line) => log.warn({ source: 'workerd' }, line));
      },
      ...workerOptions(appId, versionDir(this.options.dir, versionId), spec),
    });
    try {
      await mf.ready;
    } catch (error) {
      await mf.dispose().catch(() => {});
      throw new ApiError(
        422,
        'E_EDGE_START_FAILED',
        `workerd could not start the Worker: ${(error as Error).message}`,
        {
          hint: 'Run the app with `reyna dev` to see the error; the previous deployment keeps serving.',
        },
      );
    }
    log.info({ versionId, ms: Math.round(performance.now() - started) }, 'edge app ready');
    return { mf, versionId, inflight: 0 };
  }

  private retire(generation: Generation) {
    this.retiring.add(generation);
    const drained = new Promise<void>((done) => {
      if (generation.inflight === 0) done();
      else generation.idle = done;
    });
    const timeout = new Promise<void>((done) => setTimeout(done, this.options.drainMs ?? 30_000).unref());
    void Promise.race([drained, timeout]).then(async () => {
      this.retiring.delete(generation);
      await generation.mf
        .dispose()
        .catch((error: Error) => this.log.warn({ err: error.message }, 'could not stop an old edge generation'));
    });
  }

  /** Requests served per app since the last call (for usage); starts counting afresh. */
  takeServed(): Map<string, number> {
    const served = this.served;
    this.served = new Map();
    return served;
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const label = hostLabel(req.headers.host);
    const appId = label === undefined ? undefined : this.routes.get(label);
    const generation = appId === undefined ? undefined : this.current.get(appId);
    if (!generation) {
      const error =
        label === undefined
          ? {
              code: 'E_NO_APP',
              message: `This is the Reyna edge: address an app as http://<app>.localhost:${this.port}/`,
              hint: 'List your apps and their URLs with `reyna deployments list --target local`.',
            }
          : {
              code: 'E_NO_APP',
              message: `No app "${label}" is deployed on this edge`,
              hint: 'Deploy it with `reyna deploy --target local`.',
            };
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error }));
      return;
    }
    generation.inflight++;
    this.served.set(appId as string, (this.served.get(appId as string) ?? 0) + 1);
    try {
      const url = `http://${req.headers.host}${req.url ?? '/'}`;
      await forward(req, res, url, {}, (u, init) => generation.mf.dispatchFetch(u, init as never) as never);
    } catch (error) {
      this.log.error({ err: (error as Error).message, label }, 'edge request failed');
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              code: 'E_EDGE_FAILED',
              message: `The app's Worker did not answer: ${(error as Error).message}`,
              hint: 'See the server log (workerd lines) for the Worker error.',
            },
          }),
        );
      } else res.destroy();
    } finally {
      generation.inflight--;
      if (generation.inflight === 0) generation.idle?.();
    }
  }
}

function workerOptions(name: string, dir: string, spec: EdgeVersionSpec) {
  const root = modulesDir(dir);
  const names = Object.keys(spec.modules).sort((a, b) =>
    a === spec.mainModule ? -1 : b === spec.mainModule ? 1 : a.localeCompare(b),
  );
  const userWorker = spec.runWorkerFirst.filter((r) => !r.startsWith('!'));
  const assetWorker = spec.runWorkerFirst.filter((r) => r.startsWith('!')).map((r) => r.slice(1));
  return {
    name,
    // Miniflare takes the first module as the entry point.
    modules: names.map((m) => ({
      type: m.endsWith('.wasm') ? ('CompiledWasm' as const) : ('ESModule' as const),
      path: join(root, m),
    })),
    modulesRoot: root,
    compatibilityDate: spec.compatibilityDate,
    compatibilityFlags: spec.compatibilityFlags,
    bindings: { APP_ID: name },
    assets: {
      directory: assetsDir(dir),
      binding: 'ASSETS',
      routerConfig: {
        has_user_worker: true,
        invoke_user_worker_ahead_of_assets: false,
        ...(userWorker.length ? { static_routing: { user_worker: userWorker, asset_worker: assetWorker } } : {}),
      },
      assetConfig: {
        html_handling: 'auto-trailing-slash' as const,
        not_found_handling: spec.spa ? ('single-page-application' as const) : ('none' as const),
        has_static_routing: userWorker.length > 0,
      },
    },
  };
}

function labelOf(app: { id: string; name: string }, state: EdgeState): string {
  const holder = Object.values(state.apps)
    .filter((a) => a.name === app.name && a.active)
    .sort((a, b) => a.claimedSeq - b.claimedSeq)[0];
  const taken = (holder && holder.appId !== app.id) || state.apps[app.name] !== undefined;
  return taken ? app.id : app.name;
}

/** Every served app by id, and by name where it holds the name. */
function routesOf(state: EdgeState): Map<string, string> {
  const routes = new Map<string, string>();
  for (const app of Object.values(state.apps)) if (app.active) routes.set(app.appId, app.appId);
  for (const app of Object.values(state.apps)) {
    if (!app.active) continue;
    const label = labelOf({ id: app.appId, name: app.name }, state);
    if (!routes.has(label)) routes.set(label, app.appId);
  }
  return routes;
}
