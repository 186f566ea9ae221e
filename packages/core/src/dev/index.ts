import { unwatchFile, watchFile } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Message } from 'esbuild';
import type { Plugin, ViteDevServer } from 'vite';
import { requireEsbuild } from '../_require.js';
import { readConfig } from '../config.js';
import type { Context } from '../context.js';
import { ReynaError } from '../errors.js';
import { injectHtml } from '../inject/index.js';
import { ask, proxy } from './_bridge.js';
import { hostModule, PROBE_HEADER, startFailure, WORKER_HEADER } from './_host.js';
import { runtimeOutput } from './_runtime.js';
import { workerBuildOptions } from './_worker.js';
import { CODE_HEADER, startWorkerd, type Workerd } from './_workerd.js';

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
  /** Passes a request on to the Worker version now serving. */
  dispatch(req: IncomingMessage, res: ServerResponse): Promise<void>;
  appId: string;
  dispose(): Promise<void>;
}

/**
 * Starts `reyna dev`: one URL where `/api/*` goes to the app's Worker in workerd with the same bindings as
 * production (APP_ID, ASSETS) and everything else to Vite with HMR. Worker edits are rebuilt and swapped in
 * without dropping a request; a compile error is reported and the last good Worker keeps serving.
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
  // What the user sees (an any-address is no place to connect to).
  let origin = '';
  let networkUrls: string[] = [];
  // Requests wait while a new Worker is being swapped in, so none is dropped.
  let swapping: Promise<void> = Promise.resolve();

  async function open(): Promise<Session> {
    const config = await readConfig(dir);
    const appId = options.appId ?? config.appId ?? `dev-${config.name}`;
    const entry = join(dir, config.build?.worker ?? 'worker/index.ts');
    const compatibilityDate = config.deploy?.compatibilityDate ?? DEFAULT_COMPATIBILITY_DATE;
    // Each build is a version the host Worker loads (see _host.ts); `current` is the one requests go to.
    const versions = new Map<string, string>();
    let built = 0;
    let current = '';
    let vite: ViteDevServer | undefined;

    // What workerd asks of this process, on a loopback port of its own: a version's code, and the ASSETS binding,
    // which in dev is Vite (as production's is the CDN), whatever host the Worker names.
    const callbacks = createHttpServer((req, res) => {
      if (req.headers[CODE_HEADER] === '1') {
        res.end(versions.get((req.url ?? '/').slice(1)) ?? '');
        return;
      }
      if (!vite) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('Vite is still starting\n');
        return;
      }
      req.headers.host = callbacksHost;
      vite.middlewares(req, res);
    });
    await new Promise<void>((ok, fail) => {
      callbacks.once('error', fail);
      callbacks.listen(0, '127.0.0.1', () => ok());
    });
    const callbacksHost = `127.0.0.1:${(callbacks.address() as AddressInfo).port}`;
    const closeCallbacks = () => {
      callbacks.closeAllConnections();
      return new Promise((done) => callbacks.close(done));
    };

    // What is ready last is Vite (~0.3-0.5 s to load, on this thread): so workerd, a process of its own, starts
    // first and the Worker's first compile runs in esbuild's process, both while Vite loads. esbuild is required,
    // not imported: Node's ESM loader would scan it for its exports first (see _require.ts).
    const output = runtimeOutput(ctx.logger);
    output.starting();
    const runtime = startWorkerd(
      { hostModule: hostModule(compatibilityDate), compatibilityDate, appId, callbacks: callbacksHost },
      { env: ctx.env, onStdio: output.handleRuntimeStdio },
    );
    // Awaited below: until then its failure must not count as unhandled.
    runtime.catch(() => {});
    const esbuild = requireEsbuild();
    const worker = await esbuild.context(workerBuildOptions(entry, { minify: false, sourcemap: 'inline' }));
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

    const envPlugin: Plugin = {
      name: 'reyna:env',
      transformIndexHtml: { order: 'post', handler: (html) => injectHtml(html, appId) },
    };
    const viteStarting = import('vite').then(({ createServer: createVite }) =>
      createVite({
        root: dir,
        appType: 'spa',
        clearScreen: false,
        logLevel: 'warn',
        server: { middlewareMode: true, hmr: { server: http }, watch: { ignored: ['**/.reyna/**', '**/dist/**'] } },
        plugins: [envPlugin],
      }),
    );
    viteStarting.catch(() => {});

    const brokenWorker = (message: string) =>
      `export default { fetch() { return new Response(${JSON.stringify(`${message}\n`)}, { status: 500 }); } };`;
    const failedToStart = (message: string) => brokenWorker(`The Worker failed to start:\n${message}`);
    let workerd: Workerd | undefined;
    let runtimeError = '';
    try {
      workerd = await runtime;
      output.started();
    } catch (error) {
      runtimeError = await output.failed(error);
    }

    /** Serves `code` from now on, if it starts; else says why and the version before keeps serving. */
    const swapIn = async (port: number, code: string): Promise<string | undefined> => {
      const version = String(++built);
      versions.set(version, code);
      const probe = await ask(port, { [PROBE_HEADER]: version });
      if (probe.status !== 200) {
        versions.delete(version);
        return startFailure(probe.text);
      }
      const before = current;
      current = version;
      versions.delete(before);
      return undefined;
    };

    const first = await compiling;
    let startError: string | undefined;
    if (workerd) {
      const { port } = workerd;
      startError = await swapIn(
        port,
        typeof first === 'string' ? first : brokenWorker(`The Worker does not compile:\n${first.error}`),
      );
      // Nothing good to fall back on: the reason is what /api answers until the next good save.
      if (startError !== undefined) await swapIn(port, failedToStart(startError));
    }
    vite = await viteStarting.catch(async (error) => {
      await Promise.allSettled([workerd?.dispose(), worker.dispose(), closeCallbacks()]);
      throw error;
    });
    if (!workerd) {
      await Promise.allSettled([vite.close(), worker.dispose(), closeCallbacks()]);
      throw new ReynaError('E_WORKERD_FAILED', `workerd did not start: ${runtimeError}`, {
        hint: 'Run `reyna doctor`; if it shows nothing wrong, report this with the output above.',
      });
    }
    const running = workerd;
    const served = vite;

    const reportError = (message: string) => {
      failed = true;
      ctx.logger.warn(`Worker: ${message}`);
      emit({ type: 'worker-error', message });
      served.ws.send({ type: 'error', err: { message: `Worker: ${message}`, stack: '', plugin: 'reyna:worker' } });
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
          const failure = await swapIn(running.port, code);
          if (failure !== undefined) return reportError(`failed to start: ${failure}`);
          const ms = Math.round(performance.now() - t);
          if (failed) {
            failed = false;
            // The overlay belongs to the failed build: a reload clears it.
            served.ws.send({ type: 'full-reload' });
          }
          emit({ type: 'worker-reloaded', ms });
        })
        .catch((error: Error) => reportError(`could not be reloaded: ${error.message}`));
    };
    served.watcher.on('all', (_event, file) => {
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
      vite: served,
      dispatch: (req, res) => proxy(req, res, running.port, { [WORKER_HEADER]: current }),
      appId,
      async dispose() {
        clearTimeout(timer);
        await swapping.catch(() => {});
        await Promise.allSettled([served.close(), running.dispose(), worker.dispose()]);
        await closeCallbacks();
      },
    };
  }

  http.on('request', (req, res) => {
    const current = session;
    if (!current) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('reyna dev is restarting\n');
      return;
    }
    if (!isWorkerPath(req.url ?? '/')) {
      current.vite.middlewares(req, res);
      return;
    }
    swapping
      .then(() => current.dispatch(req, res))
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
