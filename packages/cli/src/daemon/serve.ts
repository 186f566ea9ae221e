// The sync daemon: one resident process per user configuration that runs `status` and `push` for the clients
// that ask over its socket. What a command of its own pays each time, it pays once: Node's start, loading the
// modules, parsing the state and the hash cache (kept while the files are unchanged), and compiling the walk; and
// it watches the trees it has walked, so a status or push reads again only the directories that changed, and
// one of an unchanged tree reads nothing (see @reyna/core/sync/watch). Requests on one tree run one at a time, in
// the order they came.
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { ReynaError } from '@reyna/core/errors';
import { FollowedHeads, memoizeJsonReads, push, type SyncOptions, status } from '@reyna/core/sync';
import { type WatchedTree, watchTree } from '@reyna/core/sync/watch';
import { EXIT_INTERRUPTED } from '../exit-codes.js';
import {
  type DaemonInfo,
  type DaemonNews,
  type DaemonReply,
  type DaemonRequest,
  daemonBuild,
  onLines,
  type WireError,
} from './_wire.js';

/** Trees watched at once; the one used longest ago gives its watches up for a new one. */
const MAX_TREES = 32;

export interface DaemonOptions {
  socket: string;
  /** Exit after this long without a request. */
  idleTimeoutMs: number;
  /** This installation's build as it is on disk now (daemonBuild; tests pass their own). */
  build?: () => string;
}

export interface RunningDaemon {
  info: () => DaemonInfo;
  /** Resolves when the daemon has stopped (asked to, idle, or replaced by another build). */
  stopped: Promise<void>;
  stop: () => Promise<void>;
}

/** Listens on `options.socket` and answers until stopped; fails with E_DAEMON_RUNNING when one answers there. */
export async function serveDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  memoizeJsonReads();
  const currentBuild = options.build ?? daemonBuild;
  const build = currentBuild();
  const startedAt = new Date().toISOString();
  const trees = new Map<string, { tree: WatchedTree; queue: Promise<unknown> }>();
  // Each server's event stream (per token), so a status of an app whose head did not move asks the server nothing.
  const heads = new FollowedHeads();
  let requests = 0;
  let active = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    resolveStopped = r;
  });

  const info = (): DaemonInfo => ({
    pid: process.pid,
    build,
    socket: options.socket,
    startedAt,
    requests,
    idleTimeoutMs: options.idleTimeoutMs,
    trees: [...trees].map(([root, t]) => ({ root, watching: t.tree.watching })),
    eventStreams: heads.streams(),
  });

  const armIdle = () => {
    clearTimeout(idleTimer);
    if (active === 0) idleTimer = setTimeout(() => void stop(), options.idleTimeoutMs);
  };

  const treeFor = (root: string) => {
    let entry = trees.get(root);
    if (entry) trees.delete(root);
    else {
      entry = { tree: watchTree(root), queue: Promise.resolve() };
      if (trees.size >= MAX_TREES) {
        const [oldest, old] = trees.entries().next().value as [string, { tree: WatchedTree }];
        old.tree.close();
        trees.delete(oldest);
      }
    }
    // Map order is use order: the first is the one used longest ago.
    trees.set(root, entry);
    return entry;
  };

  const run = async (request: DaemonRequest, signal: AbortSignal, send: (line: object) => void) => {
    if (typeof request.cwd !== 'string') throw new ReynaError('E_DAEMON_REQUEST', 'The request names no directory');
    const root = resolve(request.cwd);
    const entry = treeFor(root);
    const options: SyncOptions = {
      cwd: root,
      env: request.env ?? {},
      homedir: request.homedir,
      server: request.server,
      token: request.token,
      signal,
      concurrency: request.concurrency,
      timeoutMs: request.timeoutMs,
      batchBytes: request.batchBytes,
      batchFiles: request.batchFiles,
      scanner: entry.tree.scan,
      heads,
      onStep: (step, state, detail) => send({ step, state, detail } satisfies DaemonNews),
      onProgress: request.progress ? (progress) => send({ progress } satisfies DaemonNews) : undefined,
    };
    const job = entry.queue.then(async () => {
      signal.throwIfAborted();
      if (request.op === 'status') return status(options);
      const result = await push({ ...options, message: request.message, dryRun: request.dryRun });
      // The whole manifest is not printed by any form of push: it need not travel.
      const { files: _files, ...plan } = result.plan;
      return { ...result, plan };
    });
    entry.queue = job.catch(() => {});
    return job;
  };

  const serve = (conn: Socket) => {
    const abort = new AbortController();
    const interrupt = () => {
      if (!abort.signal.aborted)
        abort.abort(new ReynaError('E_INTERRUPTED', 'Interrupted', { exitCode: EXIT_INTERRUPTED }));
    };
    const send = (message: object) => {
      if (!conn.destroyed) conn.write(`${JSON.stringify(message)}\n`);
    };
    let asked = false;
    conn.on('error', () => {});
    // A client that goes away (Ctrl-C twice, killed) takes its command with it.
    conn.on('close', interrupt);
    // The first line is the request; any after it can only ask to abort it.
    onLines(conn, (line) => {
      if (asked) {
        if (line === '{"abort":true}') interrupt();
        return;
      }
      asked = true;
      let request: DaemonRequest;
      try {
        request = JSON.parse(line) as DaemonRequest;
      } catch {
        send({ ok: false, error: toWire(new ReynaError('E_DAEMON_REQUEST', 'The request is not JSON')) });
        conn.end();
        return;
      }
      void answer(request, abort.signal, send).finally(() => conn.end());
    });
  };

  const answer = async (request: DaemonRequest, signal: AbortSignal, send: (line: object) => void) => {
    if (request.build !== build) {
      // The client runs the command itself. When this daemon's own installation changed (an upgrade, a rebuild),
      // its code is nobody's any more: it stops, and the next `daemon start` runs the new one. A client of
      // another installation leaves it running for its own.
      send({ ok: false, stale: true } satisfies DaemonReply);
      if (currentBuild() !== build) void stop();
      return;
    }
    requests++;
    active++;
    clearTimeout(idleTimer);
    try {
      if (request.op === 'ping') send({ ok: true, result: info() } satisfies DaemonReply);
      else if (request.op === 'stop') {
        send({ ok: true, result: info() } satisfies DaemonReply);
        void stop();
      } else if (request.op === 'status' || request.op === 'push') {
        const result = await run(request, signal, send);
        send({ ok: true, result } satisfies DaemonReply);
      } else {
        send({ ok: false, error: toWire(new ReynaError('E_DAEMON_REQUEST', `No daemon operation "${request.op}"`)) });
      }
    } catch (error) {
      send({ ok: false, error: toWire(error) } satisfies DaemonReply);
    } finally {
      active--;
      if (!stopping) armIdle();
    }
  };

  const server = createServer(serve);
  const ino = await listenOn(server, options.socket);
  armIdle();

  const stop = () => {
    stopping ??= (async () => {
      clearTimeout(idleTimer);
      await new Promise<void>((r) => server.close(() => r()));
      for (const { tree } of trees.values()) tree.close();
      trees.clear();
      heads.close();
      // Only the socket this daemon made: a daemon started since may have replaced it.
      if (ino !== undefined && sameInode(options.socket, ino)) rmSync(options.socket, { force: true });
      resolveStopped();
    })();
    return stopping;
  };
  return { info, stopped, stop };
}

function toWire(error: unknown): WireError {
  if (error instanceof ReynaError) return { ...error.toJSON().error, exitCode: error.exitCode };
  const e = error instanceof Error ? error : new Error(String(error));
  return { code: 'E_INTERNAL', message: e.message, exitCode: 70, bug: { name: e.name, stack: e.stack } };
}

/** Listens on the socket, replacing a stale one; the socket's inode (undefined for a Windows pipe). */
async function listenOn(server: Server, socket: string): Promise<number | undefined> {
  const unix = process.platform !== 'win32';
  try {
    if (unix) mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw listenError(error, socket);
  }
  const listen = () =>
    new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      // Made unreadable to others from the start: the clients' requests carry their tokens.
      const umask = unix ? process.umask(0o177) : 0;
      server.listen(socket, () => {
        server.off('error', reject);
        resolveListen();
      });
      if (unix) process.umask(umask);
    });
  try {
    await listen();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw listenError(error, socket);
    if (await answers(socket)) {
      throw new ReynaError('E_DAEMON_RUNNING', `A sync daemon is running already (${socket})`, {
        hint: 'Run `reyna daemon status` to see it, or `reyna daemon stop` to stop it.',
      });
    }
    // Left by a daemon that was killed: nobody listens on it.
    rmSync(socket, { force: true });
    try {
      await listen();
    } catch (again) {
      throw listenError(again, socket);
    }
  }
  if (!unix) return undefined;
  chmodSync(socket, 0o600);
  return lstatSync(socket).ino;
}

function listenError(error: unknown, socket: string) {
  return new ReynaError('E_DAEMON_SOCKET', `Cannot listen on ${socket}: ${(error as Error).message}`, {
    hint: 'Set REYNA_DAEMON_SOCKET to a path in a directory of yours (at most 100 bytes long).',
    cause: error,
  });
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const conn = connect(socket);
    conn.once('connect', () => {
      conn.destroy();
      resolveAnswer(true);
    });
    conn.once('error', () => resolveAnswer(false));
  });
}

function sameInode(path: string, ino: number): boolean {
  try {
    return lstatSync(path).ino === ino;
  } catch {
    return false;
  }
}
