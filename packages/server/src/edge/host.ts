// The local edge: every deployed app in one workerd process (Miniflare, one Worker per app), behind one HTTP port
// that routes `http://<app-name>.localhost:<port>/` (or `<appId>.localhost`) to that app.
//
// A set of apps, each at one version, is a *generation*: one Miniflare with all their Workers. Miniflare's
// setOptions() stops workerd before it starts the new one, which would fail requests in flight and leave a gap,
// so a deployment builds the next generation beside the serving one (all apps, the deployed one at its new
// version), and only once workerd is up does the edge send requests to it; the old one finishes what it has in
// flight and is disposed. Requests see the old deployment or the new one, never a gap or half of one, and there are
// at most two workerd processes. A Worker that cannot start (it throws at top level, a syntax error) stops workerd
// from starting at all, so a failed generation is thrown away and the serving one goes on serving every app.
//
// Static files are served by the edge itself (`_assets.ts`), from the version's directory: Miniflare gives every
// Worker in one instance the same assets storage service, so its asset worker cannot serve two apps in one process.
// The Worker's `ASSETS` binding is a service binding to the same code.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Miniflare, WorkerOptions } from 'miniflare';
import type { BlobStore } from '../blob-store.js';
import { ApiError } from '../errors.js';
import type { ServerLogger } from '../server.js';
import { AppAssets } from './_assets.js';
import { forward, requestHeaders, send } from './_forward.js';
import { forgetRuntimes, reapRuntimes, recordRuntimes } from './_reaper.js';
import { type EdgeAppState, type EdgeRecord, type EdgeState, readState, writeState } from './_state.js';
import { type EdgeVersionSpec, materialise, modulesDir, readVersion, versionDir } from './_versions.js';

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

/** One app as a generation serves it. */
interface Served {
  versionId: string;
  spec: EdgeVersionSpec;
  assets: AppAssets;
}

interface Generation {
  /** Undefined while no app is deployed. */
  mf: Miniflare | undefined;
  apps: Map<string, Served>;
  inflight: number;
  idle?: () => void;
  /** Disposes it once (set when it is retired). */
  stop?: () => Promise<void>;
}

/** workerd did not start; `log` holds what it said, by the Worker (app id) it was about. */
class StartFailure extends Error {
  constructor(
    message: string,
    readonly log: Map<string, string[]>,
  ) {
    super(message);
  }
}

/**
 * Miniflare answers SIGINT and SIGTERM by killing workerd and exiting at once (130/143), which would cut short the
 * server's own shutdown: the requests in flight, the store's close, this edge's close. Where the process handles
 * the signal itself (the `reyna server start` command, the `reyna-server` bin), Miniflare's listener is taken off;
 * its exit hook stays, so workerd still goes with the process however it ends.
 */
function leaveSignalsToOwner() {
  for (const [signal, name] of [
    ['SIGINT', 'onSignalInt'],
    ['SIGTERM', 'onSignalTerm'],
  ] as const) {
    const listeners = process.listeners(signal);
    const theirs = listeners.filter((listener) => listener.name === name);
    if (theirs.length > 0 && listeners.length > theirs.length)
      for (const listener of theirs) process.off(signal, listener);
  }
}

/** Parses `<label>.localhost[:port]`. */
export function hostLabel(host: string | undefined): string | undefined {
  const m = /^([a-z0-9](?:[a-z0-9-]{0,62}))\.localhost\.?(?::\d+)?$/.exec((host ?? '').toLowerCase());
  return m?.[1];
}

export class Edge {
  /** What serves now. */
  private current: Generation = { mf: undefined, apps: new Map(), inflight: 0 };
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

  /** Loads what was deployed before, serves it, and listens. An app whose Worker no longer starts is left out. */
  static async start(options: EdgeOptions): Promise<Edge> {
    const edge = new Edge(options, await readState(join(options.dir, 'state.json')));
    const reaped = reapRuntimes(options.dir);
    if (reaped.length > 0)
      edge.log.warn({ pids: reaped }, 'stopped workerd processes that a killed server on this data dir left running');
    try {
      const wanted = new Map<string, string>();
      for (const a of Object.values(edge.state.apps)) if (a.active) wanted.set(a.appId, a.active);
      edge.current = await edge.startWithout(wanted);
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
    return `http://${labelOf(app, state)}.localhost:${this.port}/`;
  }

  app(appId: string): EdgeAppState | undefined {
    return this.state.apps[appId];
  }

  version(versionId: string): Promise<EdgeVersionSpec | undefined> {
    return readVersion(this.options.dir, versionId);
  }

  /** The workerd processes serving now (one, or none before the first deployment), for tests and metrics. */
  get processes(): number {
    return (this.current.mf ? 1 : 0) + [...this.retiring].filter((g) => g.mf).length;
  }

  /**
   * Writes the version out of the BlobStore, starts a generation serving it for the app beside the others, and
   * switches requests to it once it is ready. Until then, and if it fails, the previous deployment keeps serving.
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
    const all = [...this.retiring, this.current];
    this.current = { mf: undefined, apps: new Map(), inflight: 0 };
    this.retiring.clear();
    const stopped = await Promise.allSettled(all.map((g) => g.mf?.dispose()));
    if (stopped.every((s) => s.status === 'fulfilled')) forgetRuntimes(this.options.dir);
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
    const old = this.current;
    if (old.apps.get(app.id)?.versionId !== versionId) {
      // The apps the serving generation serves (not every app in the state: one whose Worker stopped starting
      // was left out at start-up, and must not fail everyone else's deployments).
      const wanted = new Map([...old.apps].map(([id, served]) => [id, served.versionId]));
      wanted.set(app.id, versionId);
      // A generation replaced before the serving one has had its time to drain: at most two workerd at once.
      await Promise.all([...this.retiring].map((g) => g.stop?.()));
      let fresh: Generation;
      try {
        fresh = await this.generation(wanted);
      } catch (error) {
        if (error instanceof StartFailure) throw startError(app.id, error);
        throw error;
      }
      // The new generation is ready: from here on requests go to it. State is saved after the swap, so a crash in
      // between restarts with the deployment the client was not told succeeded.
      this.current = fresh;
      this.retire(old);
    }
    this.routes = routesOf(next);
    await writeState(this.statePath, next);
    this.state = next;
    return this.appUrl(app, next);
  }

  /**
   * A generation of the apps that start: when workerd does not start, the apps it names (or, if it names none,
   * those that do not start alone) are left out, logged, and the rest start.
   */
  private async startWithout(wanted: Map<string, string>): Promise<Generation> {
    const apps = new Map(wanted);
    for (;;) {
      try {
        return await this.generation(apps);
      } catch (error) {
        if (!(error instanceof StartFailure)) throw error;
        let culprits = [...error.log.keys()].filter((id) => apps.has(id));
        if (culprits.length === 0) {
          culprits = [];
          for (const [id, versionId] of apps) {
            const alone = await this.generation(new Map([[id, versionId]])).catch(() => undefined);
            if (alone) await alone.mf?.dispose();
            else culprits.push(id);
          }
        }
        if (culprits.length === 0) throw error;
        for (const id of culprits) {
          const said = error.log.get(id)?.join('\n') ?? error.message;
          this.log.error({ appId: id, err: said }, 'could not start a deployed app; it is not served');
          apps.delete(id);
        }
      }
    }
  }

  /** Starts one workerd with a Worker per app and waits until it is ready. */
  private async generation(apps: Map<string, string>): Promise<Generation> {
    const served = new Map<string, Served>();
    for (const [appId, versionId] of apps) {
      const spec = await readVersion(this.options.dir, versionId);
      if (!spec) {
        this.log.error({ appId, versionId }, 'version missing from the edge; the app is not served');
        continue;
      }
      served.set(appId, { versionId, spec, assets: new AppAssets(versionDir(this.options.dir, versionId), spec) });
    }
    if (served.size === 0) return { mf: undefined, apps: served, inflight: 0 };
    const started = performance.now();
    const { Miniflare } = await import('miniflare');
    const log = new Map<string, string[]>();
    let about: string[] | undefined;
    const mf = new Miniflare({
      host: '127.0.0.1',
      port: 0,
      // Miniflare would otherwise download Cloudflare's request metadata: the edge makes no outside requests.
      cf: false,
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        createInterface({ input: stdout }).on('line', (line) => this.log.info({ source: 'workerd' }, line));
        createInterface({ input: stderr }).on('line', (line) => {
          this.log.warn({ source: 'workerd' }, line);
          // `service core:user:<appId>: Uncaught Error: …` and its indented stack lines.
          const worker = /^service core:user:([a-z0-9-]+): (.*)$/.exec(line);
          if (worker) {
            about = log.get(worker[1] as string) ?? [];
            log.set(worker[1] as string, about);
            about.push(worker[2] as string);
          } else if (about && /^\s/.test(line) && about.length < 20) about.push(line);
          else about = undefined;
        });
      },
      workers: [...served].map(([appId, s]) =>
        workerOptions(appId, versionDir(this.options.dir, s.versionId), s.spec, s.assets),
      ),
    });
    leaveSignalsToOwner();
    try {
      await mf.ready;
    } catch (error) {
      await mf.dispose().catch(() => {});
      throw new StartFailure((error as Error).message, log);
    }
    // Written down, so that the next start stops it if this server is killed and cannot.
    await recordRuntimes(this.options.dir).catch((error: Error) =>
      this.log.warn({ err: error.message }, 'could not record the edge’s workerd processes'),
    );
    this.log.info({ apps: served.size, ms: Math.round(performance.now() - started) }, 'edge generation ready');
    return { mf, apps: served, inflight: 0 };
  }

  private retire(generation: Generation) {
    if (!generation.mf) return;
    const mf = generation.mf;
    let stopping: Promise<void> | undefined;
    generation.stop = () => {
      stopping ??= (async () => {
        this.retiring.delete(generation);
        await mf
          .dispose()
          .catch((error: Error) => this.log.warn({ err: error.message }, 'could not stop an old edge generation'));
      })();
      return stopping;
    };
    this.retiring.add(generation);
    const drained = new Promise<void>((done) => {
      if (generation.inflight === 0) done();
      else generation.idle = done;
    });
    const timeout = new Promise<void>((done) => setTimeout(done, this.options.drainMs ?? 30_000).unref());
    void Promise.race([drained, timeout]).then(() => generation.stop?.());
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
    const generation = this.current;
    const served = appId === undefined ? undefined : generation.apps.get(appId);
    if (!served || !generation.mf || appId === undefined) {
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
    const mf = generation.mf;
    generation.inflight++;
    this.served.set(appId as string, (this.served.get(appId as string) ?? 0) + 1);
    try {
      const url = `http://${req.headers.host}${req.url ?? '/'}`;
      const method = req.method ?? 'GET';
      const headers = requestHeaders(req);
      if (served.assets.route({ method, url, headers }) === 'assets') {
        await send(res, served.assets.fetch({ method, url, headers }), method);
        return;
      }
      const sec = req.headers['sec-fetch-mode'];
      // Node's fetch sets Sec-Fetch-Mode itself; Miniflare takes the browser's from MF-Sec-Fetch-Mode.
      const extra: Record<string, string> = {
        'MF-Route-Override': appId,
        ...(sec ? { 'MF-Sec-Fetch-Mode': String(sec) } : {}),
      };
      await forward(req, res, url, extra, (u, init) => mf.dispatchFetch(u, init as never) as never);
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

/** The deploying app's Worker did not start: say what workerd said about it, and only about it. */
function startError(appId: string, failure: StartFailure): ApiError {
  // Module paths as the app names them, not where this edge keeps them.
  const said = failure.log.get(appId)?.map((line) => line.replace(/file:\/\/\S*?\/modules\//g, ''));
  return new ApiError(
    422,
    'E_EDGE_START_FAILED',
    said?.length
      ? `The Worker failed to start: ${said.join('\n')}`
      : `workerd could not start the Worker: ${failure.message}`,
    {
      hint: 'Run the app with `reyna dev` to see the error, fix it and deploy again; the previous deployment keeps serving.',
    },
  );
}

function workerOptions(appId: string, dir: string, spec: EdgeVersionSpec, assets: AppAssets): WorkerOptions {
  const root = modulesDir(dir);
  const names = Object.keys(spec.modules).sort((a, b) =>
    a === spec.mainModule ? -1 : b === spec.mainModule ? 1 : a.localeCompare(b),
  );
  return {
    name: appId,
    // Miniflare takes the first module as the entry point.
    modules: names.map((m) => ({
      type: m.endsWith('.wasm') ? ('CompiledWasm' as const) : ('ESModule' as const),
      path: join(root, m),
    })),
    modulesRoot: root,
    compatibilityDate: spec.compatibilityDate,
    compatibilityFlags: spec.compatibilityFlags,
    bindings: { APP_ID: appId },
    // The files, served by the edge as on Cloudflare; workerd reaches it through Miniflare's loopback. (Miniflare
    // types the argument as its own undici Request; the rules read only method, url and headers.)
    serviceBindings: { ASSETS: ((request: Request) => assets.fetch(request)) as never },
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
