import { unwatchFile, watchFile } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { BuildContext, Message } from 'esbuild';
import type { Miniflare } from 'miniflare';
import type { Plugin, ViteDevServer } from 'vite';
import { requireEsbuild, requireMiniflare } from '../_require.js';
import { readConfig } from '../config.js';
import type { Context } from '../context.js';
import { ReynaError } from '../errors.js';
import { injectHtml } from '../inject/index.js';
import { forward } from './_bridge.js';
import { HOST_MODULE, hostModule, PROBE_HEADER, startFailure, WORKER_HEADER } from './_host.js';
import { runtimeOutput } from './_runtime.js';
import { workerBuildOptions } from './_worker.js';

export interface DevOptions {
  /** App directory, relative to ctx.cwd. */
  dir?: string;
  port?: number;
  /** Try the next ports when `port` is taken (when the user did not ask for one). */
  fallbackPort?: boolean;
  /** Address to listen on (default 127.0.0.1); `true`: every interface, IPv6 and IPv4, as Vite's bare `--host`. */
  host?: string | true;
  /** APP_ID to inject: default the linked app's, else `dev-<name>`. */
  appId?: string;
  /** Milliseconds to wait for more Worker edits before rebuilding. */
  debounceMs?: number;
}

export type DevEvent =
  | { type: 'worker-reloaded'; ms: number }
  | { type: 'worker-error'; message: string }
  | { type: 'restarted'; ms: number };

export interface DevServer {
  url: string;
  /** When listening on every interface: the URLs other machines reach it at. */
  networkUrls: string[];
  appId: string;
  /** Milliseconds from the call to the first request it could answer. */
  readyMs: number;
  restart(): Promise<void>;
  close(): Promise<void>;
  on(listener: (event: DevEvent) => void): void;
}

const DEFAULT_COMPATIBILITY_DATE = '2026-04-01';

/** Paths the Worker answers in dev; the rest is Vite. Mirrors `run_worker_first: ["/api/*"]` in production. */
export function isWorkerPath(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return path === '/api' || path.startsWith('/api/');
}

/** This machine's non-loopback addresses: IPv4, and IPv6 too when listening on both. */
function networkAddresses(ipv6: boolean): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal && (i.family === 'IPv4' || (ipv6 && !i.address.startsWith('fe80'))))
    .map((i) => (i as { address: string }).address);
}

function formatMessage(message: Message, dir: string): string {
  const where = message.location
    ? `${relative(dir, resolve(dir, message.location.file))}:${message.location.line}:${message.location.column + 1}: `
    : '';
  return `${where}${message.text}`;
}

interface Session {
  vite: ViteDevServer;
  mf: Miniflare;
  /** Sends a request to the Worker version now serving. */
  dispatch(url: string, init: RequestInit): Promise<Response>;
  worker: BuildContext;
  appId: string;
  dispose(): Promise<void>;
}

/**
 * Starts `reyna dev`: one URL where `/api/*` goes to the app's Worker in workerd (Miniflare) with the same
 * bindings as production (APP_ID, ASSETS) and everything else to Vite with HMR. Worker edits are rebuilt and
 * swapped in without dropping a request; a compile error is reported and the last good Worker keeps serving.
 */
export async function startDev(ctx: Context, options: DevOptions = {}): Promise<DevServer> {
  const started = performance.now();
  const dir = resolve(ctx.cwd, options.dir ?? '.');
  const listeners: ((event: DevEvent) => void)[] = [];
  const emit = (event: DevEvent) => {
    for (const listener of listeners) listener(event);
  };
  const http: Server = createHttpServer();
  let session: Session | undefined;
  // What the user sees, and where this process reaches its own server (an any-address is no place to connect to).
  let origin = '';
  let loopback = '';
  let networkUrls: string[] = [];
  // Requests wait while a new Worker is being swapped in, so none is dropped.
  let swapping: Promise<void> = Promise.resolve();

  async function open(): Promise<Session> {
    const config = await readConfig(dir);
    const appId = options.appId ?? config.appId ?? `dev-${config.name}`;
    const entry = join(dir, config.build?.worker ?? 'worker/index.ts');
    // What is ready last is workerd, a process of its own that takes ~0.3-0.5 s to start: so the Worker's first
    // compile (in esbuild's process) and Miniflare's load come first, then workerd starts, and Vite loads and starts
    // on this thread while it does. Both CommonJS packages are required, not imported: Node's ESM loader scans
    // Miniflare's 3.8 MB for its exports first, which costs ~0.4 s (see _require.ts).
    const esbuild = requireEsbuild();
    const worker = await esbuild.context(workerBuildOptions(entry, { minify: false, sourcemap: 'inline' }));
    const envPlugin: Plugin = {
      name: 'reyna:env',
      transformIndexHtml: { order: 'post', handler: (html) => injectHtml(html, appId) },
    };
    const startVite = () =>
      import('vite').then(({ createServer: createVite }) =>
        createVite({
          root: dir,
          appType: 'spa',
          clearScreen: false,
          logLevel: 'warn',
          server: { middlewareMode: true, hmr: { server: http }, watch: { ignored: ['**/.reyna/**', '**/dist/**'] } },
          plugins: [envPlugin],
        }),
      );
    let inputs = new Set<string>();
    let failed = false;

    async function compile(): Promise<string | { error: string }> {
      try {
        const result = await worker.rebuild();
        inputs = new Set(Object.keys(result.metafile?.inputs ?? {}).map((file) => resolve(dir, file)));
        return result.outputFiles?.[0]?.text ?? '';
      } catch (error) {
        const errors = (error as { errors?: Message[] }).errors;
        const message = errors?.length ? errors.map((m) => formatMessage(m, dir)).join('\n') : String(error);
        return { error: message };
      }
    }

    const compiling = compile();
    const { Miniflare } = requireMiniflare();
    const first = await compiling;
    const brokenWorker = (message: string) =>
      `export default { fetch() { return new Response(${JSON.stringify(`${message}\n`)}, { status: 500 }); } };`;
    const output = runtimeOutput(ctx.logger);
    const compatibilityDate = config.deploy?.compatibilityDate ?? DEFAULT_COMPATIBILITY_DATE;
    // Each build is a version the host Worker loads (see _host.ts); `current` is the one requests go to.
    const versions = new Map<string, string>();
    let built = 0;
    let current = '';
    const miniflareOptions = {
      modules: [
        { type: 'ESModule' as const, path: join(dirname(entry), HOST_MODULE), contents: hostModule(compatibilityDate) },
      ],
      compatibilityDate,
      bindings: { APP_ID: appId },
      workerLoaders: { __REYNA_LOADER: {} },
      serviceBindings: {
        // In dev the static files are Vite's: the Worker's ASSETS binding asks Vite, as production asks the CDN.
        ASSETS: async (request: { url: string; method: string; headers: Headers }) => {
          const url = new URL(request.url);
          return fetch(new URL(url.pathname + url.search, loopback), {
            method: request.method,
            headers: { ...Object.fromEntries(request.headers), 'x-reyna-assets': '1' },
          }) as never;
        },
        __REYNA_CODE: async (request: { url: string }) =>
          new Response(versions.get(new URL(request.url).pathname.slice(1)) ?? '') as never,
      },
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        output.handleRuntimeStdio(stdout, stderr);
        onSpawn?.();
      },
    };
    // Miniflare calls handleRuntimeStdio as soon as it has spawned workerd.
    let onSpawn: (() => void) | undefined;
    const failedToStart = (message: string) => brokenWorker(`The Worker failed to start:\n${message}`);
    const launch = async (): Promise<{ mf?: Miniflare; message?: string }> => {
      output.starting();
      const started = new Miniflare(miniflareOptions);
      try {
        await started.ready;
        output.started();
        return { mf: started };
      } catch (error) {
        const message = await output.failed(error);
        await started.dispose().catch(() => {});
        return { message };
      }
    };
    const spawned = new Promise<void>((done) => {
      onSpawn = done;
    });
    const launching = launch();
    // Vite starts once workerd has (or Miniflare failed before it could): before, it would hold up the spawn.
    await Promise.race([spawned, launching]);
    onSpawn = undefined;
    const viteStarting = startVite();
    // Awaited below, after the Worker's start: until then its failure must not count as unhandled.
    viteStarting.catch(() => {});
    const launched = await launching;
    const { mf } = launched;

    /** Serves `code` from now on, if it starts; else says why and the version before keeps serving. */
    const swapIn = async (code: string): Promise<string | undefined> => {
      const version = String(++built);
      versions.set(version, code);
      const probe = await (mf as Miniflare).dispatchFetch('http://reyna.dev/', {
        headers: { [PROBE_HEADER]: version },
      });
      const text = await probe.text();
      if (probe.status !== 200) {
        versions.delete(version);
        return startFailure(text);
      }
      const before = current;
      current = version;
      versions.delete(before);
      return undefined;
    };

    let startError: string | undefined;
    if (mf) {
      startError = await swapIn(
        typeof first === 'string' ? first : brokenWorker(`The Worker does not compile:\n${first.error}`),
      );
      // Nothing good to fall back on: the reason is what /api answers until the next good save.
      if (startError !== undefined) await swapIn(failedToStart(startError));
    }
    const vite = await viteStarting.catch(async (error) => {
      await Promise.allSettled([mf?.dispose(), worker.dispose()]);
      throw error;
    });
    if (!mf) {
      await Promise.allSettled([vite.close(), worker.dispose()]);
      throw new ReynaError('E_WORKERD_FAILED', `workerd did not start: ${launched.message}`, {
        hint: 'Run `reyna doctor`; if it shows nothing wrong, report this with the output above.',
      });
    }

    const reportError = (message: string) => {
      failed = true;
      ctx.logger.warn(`Worker: ${message}`);
      emit({ type: 'worker-error', message });
      vite.ws.send({ type: 'error', err: { message: `Worker: ${message}`, stack: '', plugin: 'reyna:worker' } });
    };
    if (typeof first !== 'string') reportError(first.error);
    else if (startError !== undefined) reportError(`failed to start: ${startError}`);

    let timer: NodeJS.Timeout | undefined;
    const rebuild = () => {
      // Never left rejected: requests and later rebuilds wait on it.
      swapping = swapping
        .then(async () => {
          const t = performance.now();
          const code = await compile();
          if (typeof code !== 'string') return reportError(code.error);
          const failure = await swapIn(code);
          if (failure !== undefined) return reportError(`failed to start: ${failure}`);
          const ms = Math.round(performance.now() - t);
          if (failed) {
            failed = false;
            // The overlay belongs to the failed build: a reload clears it.
            vite.ws.send({ type: 'full-reload' });
          }
          emit({ type: 'worker-reloaded', ms });
        })
        .catch((error: Error) => reportError(`could not be reloaded: ${error.message}`));
    };
    vite.watcher.on('all', (_event, file) => {
      const full = resolve(file);
      if (full === configFile) {
        restartSoon();
        return;
      }
      const inWorkerDir = full.startsWith(dirname(entry) + sep);
      if (!inputs.has(full) && !inWorkerDir) return;
      clearTimeout(timer);
      timer = setTimeout(rebuild, options.debounceMs ?? 20);
    });
    return {
      vite,
      mf,
      dispatch(url, init) {
        const headers = new Headers(init.headers);
        headers.delete(PROBE_HEADER);
        headers.set(WORKER_HEADER, current);
        return mf.dispatchFetch(url, { ...init, headers } as never) as unknown as Promise<Response>;
      },
      worker,
      appId,
      async dispose() {
        clearTimeout(timer);
        await swapping.catch(() => {});
        await Promise.allSettled([vite.close(), mf.dispose(), worker.dispose()]);
      },
    };
  }

  http.on('request', (req, res) => {
    const current = session;
    if (!current) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('reyna dev is restarting\n');
      return;
    }
    const toVite = req.headers['x-reyna-assets'] === '1' || !isWorkerPath(req.url ?? '/');
    if (toVite) {
      current.vite.middlewares(req, res);
      return;
    }
    swapping
      .then(() => forward(req, res, origin, (url, init) => current.dispatch(url, init)))
      .catch((error: Error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`reyna dev: the Worker did not answer: ${error.message}\n`);
      });
  });

  async function listen(): Promise<void> {
    const host = options.host === true ? undefined : (options.host ?? '127.0.0.1');
    let port = options.port ?? 5173;
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((ok, fail) => {
          http.once('error', fail);
          http.listen(port, host as string, () => {
            http.off('error', fail);
            ok();
          });
        });
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' && options.fallbackPort && attempt < 20) {
          port++;
          continue;
        }
        if (code === 'EADDRINUSE') {
          throw new ReynaError('E_PORT_IN_USE', `Port ${port} on ${host ?? 'every interface'} is in use`, {
            hint: 'Stop what uses it, or pass --port with another port.',
          });
        }
        throw error;
      }
    }
    const address = http.address() as AddressInfo;
    const everywhere = address.address === '0.0.0.0' || address.address === '::';
    const bracket = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);
    origin = `http://${everywhere ? 'localhost' : bracket(host as string)}:${address.port}`;
    loopback = `http://${everywhere ? (address.address === '::' ? '[::1]' : '127.0.0.1') : bracket(host as string)}:${address.port}`;
    networkUrls = everywhere
      ? networkAddresses(address.address === '::').map((ip) => `http://${bracket(ip)}:${address.port}/`)
      : [];
  }

  // Restarts run one at a time (a key press during a reyna.json restart, an editor's unlink + add): two at once
  // would each open a session, and the one overwritten would keep its Vite and workerd running past close().
  let restarts: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  let closed = false;
  const configFile = join(dir, 'reyna.json');
  const configStamp = () =>
    stat(configFile).then(
      (s) => `${s.mtimeMs}:${s.size}`,
      () => 'missing',
    );
  const restartSoon = () =>
    void restart().catch((error) => ctx.logger.warn(`Restart failed: ${(error as Error).message}`));
  function restart(): Promise<void> {
    // Calls that come while one waits to start join it: it will read the newest files anyway.
    queued ??= restarts.then(async () => {
      queued = undefined;
      if (closed) return;
      const t = performance.now();
      const old = session;
      session = undefined;
      await old?.dispose();
      const read = await configStamp();
      try {
        session = await open();
      } catch (error) {
        // No session means no watcher: poll reyna.json so that fixing it starts dev again.
        watchFile(configFile, { interval: 250 }, async () => {
          if ((await configStamp()) === read) return;
          unwatchFile(configFile);
          restartSoon();
        });
        throw error;
      }
      emit({ type: 'restarted', ms: Math.round(performance.now() - t) });
      // Saved while no watcher was open (the old one closed, the new one not yet started): not to be lost.
      if ((await configStamp()) !== read) restartSoon();
    });
    restarts = queued.catch(() => {});
    return queued;
  }

  try {
    await listen();
    session = await open();
  } catch (error) {
    await session?.dispose();
    await new Promise((done) => http.close(done));
    throw error;
  }
  return {
    url: `${origin}/`,
    networkUrls,
    appId: session.appId,
    readyMs: Math.round(performance.now() - started),
    restart,
    async close() {
      closed = true;
      unwatchFile(configFile);
      await restarts;
      const current = session;
      session = undefined;
      await current?.dispose();
      http.closeAllConnections();
      await new Promise((done) => http.close(done));
    },
    on(listener) {
      listeners.push(listener);
    },
  };
}
